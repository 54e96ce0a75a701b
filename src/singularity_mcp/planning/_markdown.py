"""A plan as markdown: the readable view behind `plan://{plan_id}/markdown` and the CLI."""

from __future__ import annotations

from singularity_mcp.planning.models import PlanView

_MARK = {
    "pending": "[ ]",
    "in_progress": "[~]",
    "done": "[x]",
    "failed": "[!]",
    "blocked": "[-]",
    "cancelled": "[/]",
}


def plan_markdown(view: PlanView) -> str:
    progress = view.progress
    lines = [
        f"# Plan {view.plan_id}: {view.goal}",
        "",
        f"Status: **{view.status}** · {progress.get('done', 0)}/{progress.get('total', 0)} tasks done"
        f" · source: {view.source}",
    ]
    if view.context:
        lines += ["", f"> {view.context.strip().splitlines()[0][:300]}"]
    if view.next is not None:
        lines += ["", f"**Next:** {view.next.id} {view.next.title}"]
    if view.ready:
        lines.append(f"**Ready:** {', '.join(view.ready)}")
    if view.critical_path:
        hours = f" ({view.critical_path_hours:g} h estimated)" if view.critical_path_hours else ""
        lines.append(f"**Critical path:** {' → '.join(view.critical_path)}{hours}")
    lines += ["", "## Tasks", ""]
    for task in view.tasks:
        details = [f"complexity {task.complexity}", task.priority]
        if task.depends_on:
            details.append(f"after {', '.join(task.depends_on)}")
        if task.estimate_hours is not None:
            details.append(f"{task.estimate_hours:g} h")
        if task.blocked_by:
            details.append(f"blocked by {', '.join(task.blocked_by)}")
        if task.confidence < 0.5:
            details.append(f"confidence {task.confidence:.2f}")
        indent = "  " * task.depth
        lines.append(f"{indent}- {_MARK[task.status]} **{task.id}** {task.title} _({'; '.join(details)})_")
        tick = "[x]" if task.status == "done" else "[ ]"  # met only once the task is done
        for criterion in task.acceptance_criteria:
            lines.append(f"{indent}  - {tick} {criterion}")
        if task.note:
            lines.append(f"{indent}  - note: {task.note}")
    lines += ["", f"Order: {' → '.join(view.order)}"]
    if view.truncated:
        lines += ["", f"_{view.truncated}_"]
    return "\n".join(lines) + "\n"
