"""Turn a list of `SubtaskSpec`s into tasks of a plan: ids, dependency references, cycle check."""

from __future__ import annotations

from collections.abc import Sequence

from singularity_mcp.errors import InvalidInput
from singularity_mcp.planning._propagate import refresh
from singularity_mcp.planning.graph import check_acyclic
from singularity_mcp.planning.models import Plan, SubtaskSpec, Task, task_sort_key

MAX_SUBTASKS = 50
MAX_TASKS = 500


def open_task(plan: Plan, task_id: str) -> Task:
    """Task `task_id` of `plan`, refused (`InvalidInput`) when it is done or cancelled: such a task takes no
    subtasks until it is reopened."""
    task = plan.task(task_id)
    if task.status in ("done", "cancelled"):
        raise InvalidInput(
            f"task {task_id} is {task.status}; reopen it (status 'pending') before decomposing it",
            cli=f"task {task_id} is {task.status}; reopen it "
            f"(`singularity-mcp plan reopen {plan.plan_id} {task_id}`) before decomposing it",
        )
    return task


def add_subtasks(
    plan: Plan,
    specs: Sequence[SubtaskSpec],
    parent_id: str | None = None,
    *,
    source_artifacts: Sequence[str] = (),
    default_confidence: float = 0.8,
) -> list[str]:
    """Add `specs` under `parent_id` (top level when None); return the new ids. All or nothing.

    A `depends_on` entry names another spec of the list by key or 1-based position, or an existing task
    by id. Raises `InvalidInput` on an unknown reference and `CycleError` on a cycle, leaving `plan` as it
    was. Derived state (blocks, phase status) is refreshed.
    """
    if not specs:
        raise InvalidInput("no subtasks given: pass at least one {title, ...}")
    if len(specs) > MAX_SUBTASKS:
        raise InvalidInput(f"{len(specs)} subtasks at once is too many (at most {MAX_SUBTASKS}); group them")
    if len(plan.tasks) + len(specs) > MAX_TASKS:
        raise InvalidInput(f"a plan holds at most {MAX_TASKS} tasks; split the goal into several plans")
    if parent_id is not None:
        open_task(plan, parent_id)

    siblings = plan.children(parent_id)
    taken = {int(t.id.rsplit(".", 1)[-1]) for t in siblings}
    start = max(taken, default=0) + 1
    prefix = f"{parent_id}." if parent_id is not None else ""
    new_ids = [f"{prefix}{start + i}" for i in range(len(specs))]

    by_key: dict[str, str] = {}
    for spec, new_id in zip(specs, new_ids, strict=True):
        if spec.key:
            if spec.key in by_key:
                raise InvalidInput(f"two subtasks share the key {spec.key!r}; keys must be unique")
            by_key[spec.key] = new_id

    def resolve(ref: str, owner: str) -> str:
        ref = ref.strip()
        if ref in by_key:
            return by_key[ref]
        if ref.isdigit() and 1 <= int(ref) <= len(specs):
            return new_ids[int(ref) - 1]
        if ref in plan.tasks:
            return ref
        keys = ", ".join(sorted(by_key)) or "none"
        raise InvalidInput(
            f"subtask {owner!r} depends on {ref!r}, which is neither a key in this list ({keys}), "
            f"a position 1-{len(specs)}, nor a task of the plan"
        )

    first_position = max((t.position for t in siblings), default=-1) + 1
    added: list[Task] = []
    for i, (spec, new_id) in enumerate(zip(specs, new_ids, strict=True)):
        deps = list(dict.fromkeys(resolve(r, spec.title) for r in spec.depends_on))
        if new_id in deps:
            raise InvalidInput(f"subtask {spec.title!r} depends on itself")
        confidence = spec.confidence if spec.confidence is not None else default_confidence
        added.append(
            Task(
                id=new_id,
                title=spec.title,
                description=spec.description,
                parent_id=parent_id,
                depends_on=sorted(deps, key=task_sort_key),
                complexity=spec.complexity,
                priority=spec.priority,
                base_confidence=confidence,
                confidence=confidence,
                acceptance_criteria=list(spec.acceptance_criteria),
                estimate_hours=spec.estimate_hours,
                not_before=spec.not_before,
                recommended_subtasks=spec.recommended_subtasks,
                source_artifacts=list(source_artifacts),
                position=first_position + i,
            )
        )

    for task in added:
        plan.tasks[task.id] = task
    try:
        where = f"adding subtasks under {parent_id}" if parent_id else "this plan"
        check_acyclic(plan, change=where)
    except InvalidInput:
        for task in added:
            del plan.tasks[task.id]
        raise
    refresh(plan)
    return new_ids


def add_dependencies(plan: Plan, task_id: str, depends_on: Sequence[str]) -> list[str]:
    """Make `task_id` wait for each of `depends_on`; refused (plan unchanged) if that closes a cycle."""
    task = plan.task(task_id)
    for dep in depends_on:
        plan.task(dep)
    added = [d for d in dict.fromkeys(depends_on) if d not in task.depends_on]
    if not added:
        return []
    before = list(task.depends_on)
    task.depends_on = sorted([*before, *added], key=task_sort_key)
    try:
        check_acyclic(plan, change=f"making {task_id} depend on {', '.join(added)}")
    except InvalidInput:
        task.depends_on = before
        raise
    return [f"{task_id} now depends on {d}" for d in added] + refresh(plan)


def remove_dependencies(plan: Plan, task_id: str, depends_on: Sequence[str]) -> list[str]:
    task = plan.task(task_id)
    missing = [d for d in depends_on if d not in task.depends_on]
    if missing:
        have = ", ".join(task.depends_on) or "none"
        raise InvalidInput(f"task {task_id} does not depend on {', '.join(missing)} (it depends on: {have})")
    task.depends_on = [d for d in task.depends_on if d not in depends_on]
    return [f"{task_id} no longer depends on {d}" for d in depends_on] + refresh(plan)
