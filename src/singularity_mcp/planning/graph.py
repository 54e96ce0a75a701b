"""Graph operations on a `Plan`, free of storage and MCP: order, ready set, next task, critical path, cycles.

The plan is a tree (phases and their subtasks) plus dependency edges. Both become "must finish before"
edges of one graph:

- `d -> t` when t depends on d, directly or through an ancestor (a subtask waits for whatever its
  phase waits for);
- `c -> p` when c is a subtask of p (a phase finishes with its last subtask).

A cycle in that graph is a plan that can never finish, so it is refused with the cycle spelled out.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import UTC, datetime

from singularity_mcp.errors import InvalidInput
from singularity_mcp.planning.models import PRIORITY_RANK, SATISFIED, Plan, Task, task_sort_key


class CycleError(InvalidInput):
    """A dependency would make the plan impossible to finish; `cycle` lists the task ids around it."""

    def __init__(self, message: str, cycle: list[str]) -> None:
        super().__init__(message)
        self.cycle = cycle


def effective_dependencies(plan: Plan, task_id: str) -> list[str]:
    """The task's own dependencies plus those of its ancestors (inherited), without duplicates."""
    seen: dict[str, None] = {}
    for tid in (task_id, *plan.ancestors(task_id)):
        for dep in plan.tasks[tid].depends_on:
            seen.setdefault(dep, None)
    return list(seen)


def _edges(plan: Plan, *, skip_cancelled: bool = False) -> dict[str, list[tuple[str, str]]]:
    """Successor lists of the must-finish-before graph: node -> [(successor, why)]."""
    live = {tid for tid, task in plan.tasks.items() if not (skip_cancelled and task.status == "cancelled")}
    out: dict[str, list[tuple[str, str]]] = {tid: [] for tid in live}
    for tid in live:
        task = plan.tasks[tid]
        for holder in (tid, *plan.ancestors(tid)):
            for dep in plan.tasks[holder].depends_on:
                if dep not in live:
                    continue
                why = "depends on" if holder == tid else f"depends on (inherited from {holder})"
                out[dep].append((tid, why))
        if task.parent_id is not None and task.parent_id in live:
            out[tid].append((task.parent_id, "is a subtask of"))
    return out


def find_cycle(plan: Plan) -> list[str] | None:
    """A cycle of the must-finish-before graph as [a, b, ..., a], or None when the plan is acyclic."""
    cycle = _find_cycle_with_reasons(plan)
    return [a for a, _, _ in cycle] + [cycle[0][0]] if cycle else None


def _find_cycle_with_reasons(plan: Plan) -> list[tuple[str, str, str]] | None:
    edges = _edges(plan)
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(edges, white)
    for root in sorted(edges, key=task_sort_key):
        if color[root] != white:
            continue
        # Iterative DFS: the stack holds (node, index of the next successor to visit).
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[tuple[str, str, str]] = []  # (node, why, successor) along the current path
        color[root] = grey
        while stack:
            node, i = stack[-1]
            succ = edges[node]
            if i == len(succ):
                color[node] = black
                stack.pop()
                if path:
                    path.pop()
                continue
            stack[-1] = (node, i + 1)
            nxt, why = succ[i]
            if color[nxt] == grey:
                path.append((node, why, nxt))
                start = next(k for k, (a, _, _) in enumerate(path) if a == nxt)
                return path[start:]
            if color[nxt] == white:
                color[nxt] = grey
                path.append((node, why, nxt))
                stack.append((nxt, 0))
    return None


def describe_cycle(cycle: list[tuple[str, str, str]]) -> str:
    """'3 depends on 2.1 ... ' — each step says why one task waits for the next."""
    steps = []
    for before, why, after in cycle:
        if why == "is a subtask of":
            steps.append(f"{after} finishes only after its subtask {before}")
        else:
            steps.append(f"{after} {why} {before}")
    return "; ".join(steps)


def check_acyclic(plan: Plan, *, change: str = "this change") -> None:
    """Raise `CycleError` naming the cycle when the plan cannot be finished."""
    cycle = _find_cycle_with_reasons(plan)
    if cycle:
        ids = [a for a, _, _ in cycle] + [cycle[0][0]]
        raise CycleError(
            f"{change} would create a dependency cycle ({' -> '.join(ids)}): {describe_cycle(cycle)}. "
            "Remove one of these dependencies instead",
            ids,
        )


def topological_order(plan: Plan) -> list[str]:
    """Every non-cancelled task, each after everything it must wait for (a phase after its subtasks).

    Ties go to higher priority, then the lower id, so the order reads like the plan.
    """
    edges = _edges(plan, skip_cancelled=True)
    indegree = dict.fromkeys(edges, 0)
    for succ in edges.values():
        for nxt, _ in succ:
            indegree[nxt] += 1
    heap = [(_tie_key(plan.tasks[t]), t) for t, d in indegree.items() if d == 0]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        _, node = heapq.heappop(heap)
        order.append(node)
        for nxt, _ in edges[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                heapq.heappush(heap, (_tie_key(plan.tasks[nxt]), nxt))
    if len(order) != len(edges):
        check_acyclic(plan, change="the stored plan")  # raises with the cycle spelled out
    return order


def _tie_key(task: Task) -> tuple[int, tuple[int, ...]]:
    return (PRIORITY_RANK[task.priority], task_sort_key(task.id))


def is_leaf(plan: Plan, task_id: str) -> bool:
    """A task without live (non-cancelled) subtasks: the unit of work."""
    return all(child.status == "cancelled" for child in plan.children(task_id))


def _executable(plan: Plan, task: Task, now: datetime) -> bool:
    if not is_leaf(plan, task.id):
        return False
    if task.not_before is not None and _aware(task.not_before) > now:
        return False
    if any(plan.tasks[a].status not in ("pending", "in_progress") for a in plan.ancestors(task.id)):
        return False
    return all(plan.tasks[d].status in SATISFIED for d in effective_dependencies(plan, task.id))


def ready_set(plan: Plan, now: datetime | None = None) -> list[str]:
    """Leaf tasks that can start now: pending, every (inherited) dependency done or cancelled,
    `not_before` passed, and no ancestor failed, blocked or cancelled. Sorted by id."""
    now = now or datetime.now(UTC)
    found = [t.id for t in plan.tasks.values() if t.status == "pending" and _executable(plan, t, now)]
    return sorted(found, key=task_sort_key)


def next_task(plan: Plan, now: datetime | None = None) -> str | None:
    """Task Master's rule over the ready and in-progress leaves: subtasks of in-progress phases first,
    then higher priority, then fewer dependencies, then the lower id."""
    now = now or datetime.now(UTC)
    candidates = [
        t for t in plan.tasks.values() if t.status in ("pending", "in_progress") and _executable(plan, t, now)
    ]
    if not candidates:
        return None

    def key(task: Task) -> tuple[int, int, int, tuple[int, ...]]:
        parent = plan.tasks.get(task.parent_id) if task.parent_id else None
        in_progress_parent = 0 if parent is not None and parent.status == "in_progress" else 1
        return (
            in_progress_parent,
            PRIORITY_RANK[task.priority],
            len(task.depends_on),
            task_sort_key(task.id),
        )

    return min(candidates, key=key).id


def critical_path(plan: Plan) -> tuple[list[str], float]:
    """The longest chain of remaining (not done, not cancelled) work by `estimate_hours`.

    Tasks without an estimate (and phases, whose time is their subtasks') count 0 hours; among chains of
    equal hours the one with more tasks wins.
    """
    order = topological_order(plan)
    remaining = {t for t in order if plan.tasks[t].status not in SATISFIED}
    edges = _edges(plan, skip_cancelled=True)
    best: dict[str, tuple[float, int]] = {}
    back: dict[str, str | None] = {}
    for node in order:
        if node not in remaining:
            continue
        weight = (plan.tasks[node].estimate_hours or 0.0) if is_leaf(plan, node) else 0.0
        current = best.get(node, (0.0, 0))
        best[node] = (current[0] + weight, current[1] + 1)
        back.setdefault(node, None)
        for nxt, _ in edges[node]:
            if nxt in remaining and best[node] > best.get(nxt, (-1.0, -1)):
                best[nxt] = best[node]
                back[nxt] = node
    if not best:
        return [], 0.0
    end = max(best, key=lambda n: (best[n], [-p for p in task_sort_key(n)]))
    path: list[str] = []
    step: str | None = end
    while step is not None:
        path.append(step)
        step = back[step]
    return path[::-1], best[end][0]


def leaves(plan: Plan) -> Iterable[Task]:
    return (t for t in plan.tasks.values() if is_leaf(plan, t.id))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
