"""The plan model (a goal and its task tree with dependencies) and the `plan_task` tool's I/O models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, overload

from pydantic import BaseModel, Field, PrivateAttr, field_validator

TaskStatus = Literal["pending", "in_progress", "done", "failed", "blocked", "cancelled"]
PlanStatus = Literal["pending", "in_progress", "done", "failed", "blocked"]
Priority = Literal["high", "medium", "low"]
DecomposeMethod = Literal["auto", "template", "llm"]

STATUSES: tuple[TaskStatus, ...] = ("pending", "in_progress", "done", "failed", "blocked", "cancelled")
PRIORITY_RANK: dict[str, int] = {"high": 0, "medium": 1, "low": 2}
# A dependency in one of these states no longer holds its dependents back.
SATISFIED: frozenset[str] = frozenset({"done", "cancelled"})
# Terminal for the work itself; propagation never rewrites these on its own.
CLOSED: frozenset[str] = frozenset({"done", "cancelled", "failed"})


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """A time without a zone is taken as UTC (never as the database server's local time)."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def task_sort_key(task_id: str) -> tuple[int, ...]:
    """Natural order of hierarchical ids: 2 < 2.1 < 2.10 < 10."""
    return tuple(int(part) for part in task_id.split("."))


class Task(BaseModel):
    """One node of the plan. A task with children is a phase; only leaves are worked on directly."""

    id: str
    title: str
    description: str = ""
    parent_id: str | None = None
    depends_on: list[str] = Field(default_factory=list)
    status: TaskStatus = "pending"
    complexity: int = Field(default=5, ge=1, le=10)
    priority: Priority = "medium"
    base_confidence: float = Field(default=0.8, ge=0.0, le=1.0)
    """How sure the decomposition was of this task, before any failure below it."""
    confidence: float = Field(default=0.8, ge=0.0, le=1.0)
    """base_confidence lowered for each failed task underneath."""
    acceptance_criteria: list[str] = Field(default_factory=list)
    estimate_hours: float | None = Field(default=None, ge=0)
    not_before: datetime | None = None
    recommended_subtasks: int | None = Field(default=None, ge=2, le=20)
    blocked_by: list[str] = Field(default_factory=list)
    """Failed tasks that keep this one blocked (empty for a task blocked by hand)."""
    source_artifacts: list[str] = Field(default_factory=list)
    position: int = 0
    """Order among siblings."""
    note: str | None = None

    _not_before_utc = field_validator("not_before")(lambda cls, v: as_utc(v))


class Plan(BaseModel):
    """A goal and its tasks, keyed by id. Graph operations live in `planning.graph`."""

    plan_id: int | None = None
    goal: str
    context: str | None = None
    source: str = "explicit"
    tasks: dict[str, Task] = Field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0
    _tree: tuple[tuple[int, str | None], dict[str | None, list[str]]] | None = PrivateAttr(default=None)

    def _child_ids(self) -> dict[str | None, list[str]]:
        """parent id -> child ids in sibling order; rebuilt when tasks are added or removed (a task's
        parent and position never change; tasks are only appended, or the last ones dropped)."""
        key = (len(self.tasks), next(reversed(self.tasks)) if self.tasks else None)
        tree = self._tree
        if tree is not None and tree[0] == key:
            return tree[1]
        index: dict[str | None, list[str]] = {}
        for t in sorted(self.tasks.values(), key=lambda t: (t.position, task_sort_key(t.id))):
            index.setdefault(t.parent_id, []).append(t.id)
        self._tree = (key, index)
        return index

    def task(self, task_id: str) -> Task:
        from singularity_mcp.errors import NotFound

        try:
            return self.tasks[task_id]
        except KeyError:
            known = ", ".join(sorted(self.tasks, key=task_sort_key)[:30]) or "none"
            raise NotFound(
                f"plan {self.plan_id} has no task {task_id!r} (tasks: {known}); "
                "call plan_task with action='get' to see the plan",
                cli=f"plan {self.plan_id} has no task {task_id!r} (tasks: {known}); "
                f"`singularity-mcp plan show {self.plan_id}` shows the plan",
            ) from None

    def children(self, task_id: str | None) -> list[Task]:
        return [self.tasks[c] for c in self._child_ids().get(task_id, ())]

    def depth(self, task_id: str) -> int:
        depth, task = 0, self.tasks[task_id]
        while task.parent_id is not None:
            depth += 1
            task = self.tasks[task.parent_id]
        return depth

    def ancestors(self, task_id: str) -> list[str]:
        """Parent first, root last."""
        found, parent = [], self.tasks[task_id].parent_id
        while parent is not None:
            found.append(parent)
            parent = self.tasks[parent].parent_id
        return found

    def descendants(self, task_id: str) -> list[str]:
        found, stack = [], [task_id]
        while stack:
            for child in self.children(stack.pop()):
                found.append(child.id)
                stack.append(child.id)
        return found

    def is_leaf(self, task_id: str) -> bool:
        return task_id not in self._child_ids()


class SubtaskSpec(BaseModel):
    """A task to add: from the caller, a template or the LLM. `key` names it for `depends_on`."""

    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=4000)
    key: str | None = Field(default=None, max_length=80)
    """A short name other specs in the same list use in `depends_on` (defaults to the 1-based position)."""
    depends_on: list[str] = Field(default_factory=list)
    """Keys (or 1-based positions) of earlier-or-later specs in the same list, or ids of existing tasks."""
    complexity: int = Field(default=5, ge=1, le=10)
    priority: Priority = "medium"
    acceptance_criteria: list[str] = Field(default_factory=list)
    estimate_hours: float | None = Field(default=None, ge=0)
    not_before: datetime | None = None
    recommended_subtasks: int | None = Field(default=None, ge=2, le=20)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)

    @field_validator("title")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("title is empty")
        return value

    _not_before_utc = field_validator("not_before")(lambda cls, v: as_utc(v))

    @field_validator("depends_on", mode="before")
    @classmethod
    def _as_strings(cls, value: object) -> object:
        if isinstance(value, list):
            return [str(v) for v in value]
        return value


class TaskView(BaseModel):
    """A task as the calling model sees it."""

    id: str
    title: str
    description: str = ""
    parent_id: str | None
    depth: int
    depends_on: list[str]
    status: TaskStatus
    complexity: int
    priority: Priority
    confidence: float
    acceptance_criteria: list[str] = Field(default_factory=list)
    estimate_hours: float | None = None
    not_before: datetime | None = None
    recommended_subtasks: int | None = None
    blocked_by: list[str] = Field(default_factory=list)
    source_artifacts: list[str] = Field(default_factory=list)
    note: str | None = None
    has_subtasks: bool = False


class PlanView(BaseModel):
    """The whole plan plus what to do next; every `plan_task` answer has this shape."""

    plan_id: int
    goal: str
    context: str | None = None
    status: PlanStatus
    source: str
    """How the plan was made: template:<artifact_id>, llm, or explicit."""
    tasks: list[TaskView]
    ready: list[str]
    """Leaf tasks that can start now (dependencies done, not_before passed, still pending)."""
    order: list[str]
    """Every open and finished task in an order that respects all dependencies (a phase after its subtasks)."""
    next: TaskView | None = None
    """The task to work on next (subtasks of in-progress phases first, then priority, fewer dependencies, id)."""
    critical_path: list[str] = Field(default_factory=list)
    """The longest chain of remaining work by estimate_hours (tasks without an estimate count as 0)."""
    critical_path_hours: float = 0.0
    progress: dict[str, int] = Field(default_factory=dict)
    """Leaf tasks per status, plus `total`."""
    message: str = ""
    """What this call changed."""
    truncated: str | None = None


class PlanSummary(BaseModel):
    plan_id: int
    goal: str
    status: str
    tasks: int
    done: int
    updated_at: datetime | None = None
    uri: str


class PlanList(BaseModel):
    plans: list[PlanSummary]
    truncated: str | None = None
