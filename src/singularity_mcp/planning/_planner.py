"""The planning API: create, decompose, update, get, next, list. Each change is one locked transaction."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from singularity_mcp.errors import InvalidInput
from singularity_mcp.planning import _store, graph
from singularity_mcp.planning._build import add_dependencies, add_subtasks, open_task, remove_dependencies
from singularity_mcp.planning._decompose import Decomposer, check_goal
from singularity_mcp.planning._propagate import refresh, set_status

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

from singularity_mcp.planning.models import (
    DecomposeMethod,
    Plan,
    PlanList,
    PlanStatus,
    PlanView,
    Priority,
    SubtaskSpec,
    TaskStatus,
    TaskView,
    as_utc,
    task_sort_key,
)

logger = logging.getLogger(__name__)

MAX_VIEW_TASKS = 200
MAX_DESCRIPTION = 600

ArtifactsUsed = Callable[[list[str]], Awaitable[None]]


async def create_plan(
    pool: AsyncConnectionPool,
    goal: str,
    *,
    decomposer: Decomposer,
    context: str | None = None,
    subtasks: Sequence[SubtaskSpec] | None = None,
    method: DecomposeMethod = "auto",
    on_artifacts_used: ArtifactsUsed | None = None,
) -> PlanView:
    """Decompose `goal` (explicit subtasks, a template, or the LLM) and store the plan."""
    goal = check_goal(goal)
    result = await decomposer.decompose(goal, context, method=method, subtasks=subtasks)
    plan = Plan(goal=goal, context=context, source=result.source)
    add_subtasks(
        plan, result.specs, None, source_artifacts=result.artifacts, default_confidence=result.confidence
    )
    refresh(plan)
    async with pool.connection() as conn, conn.transaction():
        plan_id = await _store.insert_plan(conn, plan)
        plan.plan_id = plan_id
        changes = [f"created from {result.source}", *result.notes]
        await _store.save_changes(conn, plan_id, None, plan, action="create", task_id=None, changes=changes)
    await _record(on_artifacts_used, result.artifacts)
    how = "; ".join(result.notes) or "from the given subtasks"
    message = f"Plan {plan_id} created with {len(plan.tasks)} tasks: {how}."
    return plan_view(plan, message=message)


async def decompose_task(
    pool: AsyncConnectionPool,
    plan_id: int,
    task_id: str,
    *,
    decomposer: Decomposer,
    subtasks: Sequence[SubtaskSpec] | None = None,
    method: DecomposeMethod = "auto",
    context: str | None = None,
    on_artifacts_used: ArtifactsUsed | None = None,
) -> PlanView:
    """Add a level of subtasks under `task_id` (given, from a template, or from the LLM)."""
    target = await decomposition_target(pool, plan_id, task_id, context, adding=bool(subtasks))
    result = await decomposer.decompose(
        target.goal,
        target.context,
        method=method,
        subtasks=subtasks,
        count_hint=target.count_hint,
        parent=target.parent,
        require_fit=True,  # a plan's step rarely fits a whole-goal template: better ask than guess
    )

    def change(plan: Plan) -> list[str]:
        new_ids = add_subtasks(
            plan,
            result.specs,
            task_id,
            source_artifacts=result.artifacts,
            default_confidence=result.confidence,
        )
        return [
            f"{task_id} decomposed into {', '.join(new_ids)} ({result.source})",
            *result.notes,
            *refresh(plan),
        ]

    plan, changes = await _mutate(pool, plan_id, "decompose", task_id, change)
    await _record(on_artifacts_used, result.artifacts)
    return plan_view(plan, message=" ".join(changes))


@dataclass(frozen=True)
class DecompositionTarget:
    """What decomposing one task asks for (the same request whoever answers it)."""

    goal: str
    context: str | None
    count_hint: int | None
    parent: str


async def decomposition_target(
    pool: AsyncConnectionPool, plan_id: int, task_id: str, context: str | None = None, *, adding: bool = False
) -> DecompositionTarget:
    """Check `task_id` can take a level of subtasks and describe it as a goal for a decomposer."""
    async with pool.connection() as conn:
        current = await _store.load_plan(conn, plan_id)
    task = open_task(current, task_id)
    if not adding and not current.is_leaf(task_id):
        raise InvalidInput(
            f"task {task_id} already has subtasks; pass `subtasks` to add more, or decompose one of them"
        )
    return DecompositionTarget(
        goal=task.title + (f": {task.description}" if task.description else ""),
        context=context or current.context,
        count_hint=task.recommended_subtasks,
        parent=f"{task_id} {task.title!r} of the plan for {current.goal!r}",
    )


async def update_task(
    pool: AsyncConnectionPool,
    plan_id: int,
    task_id: str,
    *,
    status: TaskStatus | None = None,
    add_depends_on: Sequence[str] = (),
    remove_depends_on: Sequence[str] = (),
    priority: Priority | None = None,
    estimate_hours: float | None = None,
    not_before: datetime | None = None,
    note: str | None = None,
    force: bool = False,
) -> PlanView:
    """Change one task (status with propagation, dependencies with the cycle check, fields); all or nothing.

    Marking a task done while a prerequisite is open is refused unless `force`."""
    if not (status or add_depends_on or remove_depends_on or priority or note is not None) and (
        estimate_hours is None and not_before is None
    ):
        raise InvalidInput(
            "nothing to update: pass status, add_depends_on, remove_depends_on, priority, estimate_hours, "
            "not_before or note"
        )

    def change(plan: Plan) -> list[str]:
        task = plan.task(task_id)
        changes: list[str] = []
        changes += remove_dependencies(plan, task_id, remove_depends_on)
        changes += add_dependencies(plan, task_id, add_depends_on)
        if priority is not None and priority != task.priority:
            changes.append(f"{task_id}: priority {task.priority} -> {priority}")
            task.priority = priority
        if estimate_hours is not None:
            changes.append(f"{task_id}: estimate {estimate_hours} h")
            task.estimate_hours = estimate_hours
        if not_before is not None:
            task.not_before = as_utc(not_before)
            changes.append(f"{task_id}: not before {task.not_before.isoformat()}")
        if status is not None:
            changes += set_status(plan, task_id, status, note=note, force=force)
        else:
            if note is not None:
                task.note = note
                changes.append(f"{task_id}: note updated")
            changes += refresh(plan)
        return changes or [f"{task_id}: unchanged"]

    plan, changes = await _mutate(pool, plan_id, "update", task_id, change)
    return plan_view(plan, message="; ".join(changes) + ".")


async def get_plan(pool: AsyncConnectionPool, plan_id: int, *, message: str = "") -> PlanView:
    async with pool.connection() as conn:
        plan = await _store.load_plan(conn, plan_id)
    return plan_view(plan, message=message)


async def next_task(pool: AsyncConnectionPool, plan_id: int) -> PlanView:
    """The plan with `next` set: the one task to work on now (None when nothing can start)."""
    view = await get_plan(pool, plan_id)
    if view.next is not None:
        view.message = f"Next: {view.next.id} {view.next.title}."
    elif view.status == "done":
        view.message = "Every task is done."
    else:
        view.message = _stuck_message(view)
    return view


async def list_plans(pool: AsyncConnectionPool, *, limit: int = 50) -> PlanList:
    async with pool.connection() as conn:
        plans = await _store.list_plans(conn, limit + 1)
    truncated = f"only the {limit} most recently updated plans are listed" if len(plans) > limit else None
    return PlanList(plans=plans[:limit], truncated=truncated)


async def _mutate(
    pool: AsyncConnectionPool,
    plan_id: int,
    action: str,
    task_id: str | None,
    change: Callable[[Plan], list[str]],
) -> tuple[Plan, list[str]]:
    """Load the plan with its row locked, apply `change` to a copy, write back the difference, commit."""
    async with pool.connection() as conn, conn.transaction():
        before = await _store.load_plan(conn, plan_id, lock=True)
        after = before.model_copy(deep=True)
        changes = change(after)
        if after.tasks != before.tasks:
            await _store.save_changes(
                conn, plan_id, before, after, action=action, task_id=task_id, changes=changes
            )
    return after, changes


async def _record(hook: ArtifactsUsed | None, artifacts: list[str]) -> None:
    if hook is None or not artifacts:
        return
    try:
        await hook(artifacts)
    except Exception:  # usage figures must never fail the plan
        logger.warning("could not record usage of %s", artifacts, exc_info=True)


def plan_view(plan: Plan, *, message: str = "", now: datetime | None = None) -> PlanView:
    """The answer every plan_task call returns: tasks, ready set, order, next task, critical path."""
    assert plan.plan_id is not None
    now = now or datetime.now(UTC)
    order = graph.topological_order(plan)
    ready = graph.ready_set(plan, now)
    next_id = graph.next_task(plan, now)
    path, hours = graph.critical_path(plan)
    ordered = sorted(plan.tasks, key=task_sort_key)
    views = [_task_view(plan, tid) for tid in ordered]
    leaves = [t for t in plan.tasks.values() if graph.is_leaf(plan, t.id) and t.status != "cancelled"]
    counts: Counter[str] = Counter(t.status for t in leaves)
    progress = {s: counts.get(s, 0) for s in ("pending", "in_progress", "done", "failed", "blocked")}
    progress["total"] = len(leaves)
    truncated = None
    if len(views) > MAX_VIEW_TASKS:
        truncated = f"showing {MAX_VIEW_TASKS} of {len(views)} tasks; read plan://{plan.plan_id} for all"
        views = views[:MAX_VIEW_TASKS]
    return PlanView(
        plan_id=plan.plan_id,
        goal=plan.goal,
        context=plan.context,
        status=_plan_status(progress, ready),
        source=plan.source,
        tasks=views,
        ready=ready,
        order=order,
        next=_task_view(plan, next_id) if next_id else None,
        critical_path=path,
        critical_path_hours=round(hours, 3),
        progress=progress,
        message=message,
        truncated=truncated,
    )


def _task_view(plan: Plan, task_id: str) -> TaskView:
    task = plan.tasks[task_id]
    description = task.description
    if len(description) > MAX_DESCRIPTION:
        description = description[: MAX_DESCRIPTION - 1] + "…"
    return TaskView(
        id=task.id,
        title=task.title,
        description=description,
        parent_id=task.parent_id,
        depth=plan.depth(task.id),
        depends_on=task.depends_on,
        status=task.status,
        complexity=task.complexity,
        priority=task.priority,
        confidence=task.confidence,
        acceptance_criteria=task.acceptance_criteria,
        estimate_hours=task.estimate_hours,
        not_before=task.not_before,
        recommended_subtasks=task.recommended_subtasks,
        blocked_by=task.blocked_by,
        source_artifacts=task.source_artifacts,
        note=task.note,
        has_subtasks=not plan.is_leaf(task.id),
    )


def _plan_status(progress: dict[str, int], ready: list[str]) -> PlanStatus:
    if progress["total"] and progress["done"] == progress["total"]:
        return "done"
    if progress["failed"]:
        return "failed"
    if progress["in_progress"] or progress["done"]:
        return "in_progress"
    if not ready and progress["blocked"]:
        return "blocked"
    return "pending"


def _stuck_message(view: PlanView) -> str:
    failed = [t.id for t in view.tasks if t.status == "failed"]
    blocked = [t.id for t in view.tasks if t.status == "blocked"]
    waiting = [t.id for t in view.tasks if t.not_before is not None and t.status == "pending"]
    parts = ["No task can start now."]
    if failed:
        parts.append(f"Failed: {', '.join(failed)} (reopen with status 'pending' or cancel them).")
    if blocked:
        parts.append(f"Blocked: {', '.join(blocked)}.")
    if waiting:
        parts.append(f"Waiting for not_before: {', '.join(waiting)}.")
    return " ".join(parts)
