"""Status changes and what follows from them, as plain functions that mutate a `Plan` in place.

- a phase is done when all its (non-cancelled) subtasks are, in progress once one has started;
- a failed task blocks everything that waits for it (directly, through a phase, or inherited) and lowers
  the confidence of its ancestors;
- reopening a task (back to pending) unblocks what it blocked.
"""

from __future__ import annotations

from singularity_mcp.errors import InvalidInput
from singularity_mcp.planning.graph import effective_dependencies
from singularity_mcp.planning.models import SATISFIED, Plan, TaskStatus, task_sort_key

FAILURE_FACTOR = 0.7
"""Each failed task underneath multiplies a phase's confidence by this."""


def set_status(
    plan: Plan, task_id: str, status: TaskStatus, note: str | None = None, *, force: bool = False
) -> list[str]:
    """Set one task's status, then propagate. Returns a line per change, for the caller's message.

    Marking a task done while one of its prerequisites is still open is refused unless `force`: the plan
    would then say work is finished that, by its own order, could not have been.
    """
    task = plan.task(task_id)
    changes: list[str] = []
    subtree = plan.descendants(task_id)
    if subtree:
        _check_phase_change(plan, task_id, status, subtree)
    if status == "done" and task.status != "done":
        open_deps = open_prerequisites(plan, task_id)
        if open_deps and not force:
            listed = ", ".join(f"{d} ({plan.tasks[d].status})" for d in open_deps[:10])
            raise InvalidInput(
                f"task {task_id} waits for {listed}: finish those first, or pass force=true to mark it "
                "done anyway",
                cli=f"task {task_id} waits for {listed}: finish those first, or add --force to mark it "
                "done anyway",
            )
        if open_deps:
            changes.append(f"{task_id}: marked done before its prerequisites {', '.join(open_deps)} (forced)")
    if subtree and status in ("done", "cancelled"):
        for tid in subtree:
            sub = plan.tasks[tid]
            if sub.status not in ("done", "cancelled"):
                changes.append(f"{tid}: {sub.status} -> {status} (with its phase {task_id})")
                sub.status = status
                sub.blocked_by = []
    if task.status != status:
        changes.append(f"{task_id}: {task.status} -> {status}")
    task.status = status
    task.blocked_by = []  # set by hand: a hand-made block is not lifted by propagation
    if note is not None:
        task.note = note
    changes += refresh(plan)
    return changes


def open_prerequisites(plan: Plan, task_id: str) -> list[str]:
    """Prerequisites of `task_id` (its own, inherited, and those of its subtasks outside its subtree) that
    are neither done nor cancelled, in plan order."""
    inside = {task_id, *plan.descendants(task_id)}
    found: set[str] = set()
    for tid in inside:
        for dep in effective_dependencies(plan, tid):
            if dep not in inside and plan.tasks[dep].status not in SATISFIED:
                found.add(dep)
    return sorted(found, key=task_sort_key)


def _check_phase_change(plan: Plan, task_id: str, status: TaskStatus, subtree: list[str]) -> None:
    if status == "done":
        failed = [t for t in subtree if plan.tasks[t].status == "failed"]
        if failed:
            raise InvalidInput(
                f"task {task_id} has failed subtasks ({', '.join(failed)}): reopen them (status 'pending') "
                "or cancel them before marking the phase done",
                cli=f"task {task_id} has failed subtasks ({', '.join(failed)}): reopen them "
                "(`singularity-mcp plan reopen PLAN TASK`) or cancel them before marking the phase done",
            )
    if status == "pending" and plan.tasks[task_id].status in ("done", "cancelled"):
        raise InvalidInput(
            f"task {task_id} is a phase whose subtasks are all closed; reopen one of its subtasks "
            f"({', '.join(sorted(subtree, key=task_sort_key)[:5])}) or decompose it further instead"
        )


def refresh(plan: Plan) -> list[str]:
    """Recompute everything derived: phase statuses, blocks from failures, confidence. Idempotent."""
    changes = _refresh_phases(plan)
    changes += _refresh_blocks(plan)
    _refresh_confidence(plan)
    return changes


def _refresh_phases(plan: Plan) -> list[str]:
    changes: list[str] = []
    deepest_first = sorted(plan.tasks, key=lambda t: -plan.depth(t))
    for tid in deepest_first:
        kids = plan.children(tid)
        if not kids:
            continue
        phase = plan.tasks[tid]
        live = [k for k in kids if k.status != "cancelled"]
        new: TaskStatus
        if not live:
            new = "cancelled" if phase.status != "done" else "done"
        elif all(k.status == "done" for k in live):
            new = "done"
        elif phase.status in ("done", "cancelled"):
            started = any(k.status in ("in_progress", "done", "failed") for k in live)
            new = "in_progress" if started else "pending"
        elif phase.status == "pending" and any(k.status in ("in_progress", "done", "failed") for k in live):
            new = "in_progress"
        else:
            continue
        if new != phase.status:
            changes.append(f"{tid}: {phase.status} -> {new} (from its subtasks)")
            phase.status = new
            phase.blocked_by = []
    return changes


def _refresh_blocks(plan: Plan) -> list[str]:
    """Block waiting tasks whose prerequisites include a failure; unblock those whose failures are gone."""
    memo: dict[str, frozenset[str]] = {}

    def failures_in(tid: str) -> frozenset[str]:
        """Failed tasks that keep `tid` from ever finishing (itself, its subtree, its prerequisites)."""
        if tid in memo:
            return memo[tid]
        memo[tid] = frozenset()  # acyclic plans never revisit; guards recursion on a bad plan
        task = plan.tasks[tid]
        if task.status == "cancelled":
            found: frozenset[str] = frozenset()
        elif task.status == "failed":
            found = frozenset({tid})
        else:
            found = frozenset()
            for kid in plan.children(tid):
                found |= failures_in(kid.id)
            if task.status != "done":
                for dep in effective_dependencies(plan, tid):
                    found |= failures_in(dep)
        memo[tid] = found
        return found

    changes: list[str] = []
    for tid in sorted(plan.tasks, key=task_sort_key):
        task = plan.tasks[tid]
        derived_block = task.status == "blocked" and bool(task.blocked_by)
        if task.status != "pending" and not derived_block:
            continue
        roots: set[str] = set()
        for dep in effective_dependencies(plan, tid):
            roots |= failures_in(dep)
        if roots:
            blocked_by = sorted(roots, key=task_sort_key)
            if task.status != "blocked":
                changes.append(f"{tid}: {task.status} -> blocked (by failed {', '.join(blocked_by)})")
            task.status, task.blocked_by = "blocked", blocked_by
        elif derived_block:
            changes.append(f"{tid}: blocked -> pending (unblocked)")
            task.status, task.blocked_by = "pending", []
    return changes


def _refresh_confidence(plan: Plan) -> None:
    failed_below: dict[str, int] = {}
    for tid in sorted(plan.tasks, key=lambda t: -plan.depth(t)):  # subtasks before their phase
        failed_below[tid] = sum(failed_below[k.id] + (k.status == "failed") for k in plan.children(tid))
        task = plan.tasks[tid]
        task.confidence = round(task.base_confidence * FAILURE_FACTOR ** failed_below[tid], 4)
