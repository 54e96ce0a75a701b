"""A plan as a Mermaid flowchart: the picture behind `plan://{plan_id}/mermaid` and `plan show --mermaid`.

Phases are subgraphs holding their subtasks, dependencies are arrows (prerequisite --> dependent), and
each task is coloured by its status; the next task has a thick border.
"""

from __future__ import annotations

import re

from singularity_mcp.planning.models import PlanView, TaskView

# Fill and stroke per status, readable on light and dark themes.
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    "pending": ("#eceff1", "#607d8b"),
    "in_progress": ("#fff3c4", "#f9a825"),
    "done": ("#c8e6c9", "#2e7d32"),
    "failed": ("#ffcdd2", "#c62828"),
    "blocked": ("#e1bee7", "#6a1b9a"),
    "cancelled": ("#f5f5f5", "#9e9e9e"),
}
_TITLE_CHARS = 60


def node_id(task_id: str) -> str:
    """A Mermaid identifier for a task id ("2.1" -> "t2_1")."""
    return "t" + re.sub(r"[^0-9A-Za-z]", "_", task_id)


def _label(task: TaskView) -> str:
    title = " ".join(task.title.split())
    if len(title) > _TITLE_CHARS:
        title = title[: _TITLE_CHARS - 1] + "…"
    text = f"{task.id} {title}"
    if task.status != "pending":
        text += f" ({task.status.replace('_', ' ')})"
    # Inside a quoted label only the double quote is special; Mermaid's entity codes stand in for it and
    # for the characters some renderers treat as markup.
    for raw, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(raw, code)
    return f'"{text}"'


def plan_mermaid(view: PlanView) -> str:
    """The plan's DAG as Mermaid `flowchart` source."""
    tasks = {t.id: t for t in view.tasks}
    children: dict[str | None, list[TaskView]] = {}
    for task in view.tasks:
        parent = task.parent_id if task.parent_id in tasks else None
        children.setdefault(parent, []).append(task)

    lines = ["flowchart TD"]
    goal = " ".join(view.goal.split())[:200]
    lines.append(f"  %% Plan {view.plan_id}: {goal}")

    def emit(parent: str | None, indent: str) -> None:
        for task in children.get(parent, []):
            if task.id in children:  # a phase
                lines.append(f"{indent}subgraph {node_id(task.id)} [{_label(task)}]")
                lines.append(f"{indent}  direction TB")
                emit(task.id, indent + "  ")
                lines.append(f"{indent}end")
            else:
                lines.append(f"{indent}{node_id(task.id)}[{_label(task)}]")

    emit(None, "  ")
    for task in view.tasks:
        for dep in task.depends_on:
            if dep in tasks:
                lines.append(f"  {node_id(dep)} --> {node_id(task.id)}")
    for status, (fill, stroke) in STATUS_COLOURS.items():
        dashed = ",stroke-dasharray:4 3" if status == "cancelled" else ""
        lines.append(f"  classDef {status} fill:{fill},stroke:{stroke},color:#212121{dashed}")
    by_status: dict[str, list[str]] = {}
    for task in view.tasks:
        if task.id in children:  # subgraphs take `style`, not `class`, in every Mermaid version
            fill, stroke = STATUS_COLOURS[task.status]
            lines.append(f"  style {node_id(task.id)} fill:{fill},stroke:{stroke}")
        else:
            by_status.setdefault(task.status, []).append(node_id(task.id))
    for status, ids in by_status.items():
        lines.append(f"  class {','.join(ids)} {status}")
    if view.next is not None and view.next.id in tasks and view.next.id not in children:
        lines.append(f"  style {node_id(view.next.id)} stroke-width:4px")
    if view.truncated:
        lines.append(f"  %% {view.truncated}")
    return "\n".join(lines) + "\n"
