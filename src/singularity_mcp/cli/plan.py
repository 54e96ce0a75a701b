"""`singularity-mcp plan`: make a plan from a goal, show it, ask what is next, mark tasks done.

singularity-mcp plan "add OAuth login"       create a plan (template offline, LLM with a key)
singularity-mcp plan list                    the stored plans
singularity-mcp plan show ID [--markdown | --mermaid]   the plan (as a checklist or a flowchart)
singularity-mcp plan next ID                 the task to work on now
singularity-mcp plan done ID TASK [--force]  mark a task done (also: start, fail, block, cancel, reopen);
                                             refused while a prerequisite is open unless --force
singularity-mcp plan decompose ID TASK       add a level of subtasks under a task

A goal that starts with a command word or looks like one ("update 1 2") must be quoted as one argument.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from singularity_mcp.cli._common import print_json, run_with_core
from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.errors import InvalidInput, SingularityError

_STATUS_VERBS = {
    "done": "done",
    "start": "in_progress",
    "fail": "failed",
    "block": "blocked",
    "cancel": "cancelled",
    "reopen": "pending",
}
_VERBS = {"list", "show", "next", "decompose", *_STATUS_VERBS}
_USAGE = {"list": "list", "show": "show ID", "next": "next ID", "decompose": "decompose ID TASK"}
_TASK_ID = re.compile(r"\d+(\.\d+)*")


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "plan",
        help="plan a goal as a task graph; show, next, done",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "words",
        nargs="+",
        metavar="WORD",
        help="a goal, or one of: list | show ID | next ID | decompose ID TASK | "
        "done/start/fail/block/cancel/reopen ID TASK",
    )
    parser.add_argument("--context", help="background for the decomposition (create)")
    parser.add_argument(
        "--decomposer", choices=["auto", "template", "llm"], default="auto", help="how to decompose (create)"
    )
    parser.add_argument("--note", help="a note to store with the status change")
    parser.add_argument(
        "--force", action="store_true", help="mark a task done even though a prerequisite is still open"
    )
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--markdown", action="store_true", help="print the plan as markdown")
    shape.add_argument("--mermaid", action="store_true", help="print the plan's task graph as Mermaid")
    shape.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.set_defaults(func=run)


def _usage(verb: str) -> str:
    return f"singularity-mcp plan {_USAGE.get(verb, verb + ' ID TASK')}"


def _parse(words: list[str]) -> tuple[str, list[str]]:
    """('create', [goal]) or (verb, [plan_id, task_id?]).

    A command word alone or followed by ids is a command (a wrong shape is a usage error); a single word
    followed only by ids is an unknown command, not a goal; anything else is a goal.
    """
    verb, args = words[0], words[1:]
    ids_only = all(_TASK_ID.fullmatch(a) for a in args)
    if verb in _VERBS and (ids_only or verb == "list"):
        needed = 0 if verb == "list" else 1 if verb in ("show", "next") else 2
        if len(args) == needed and (needed == 0 or args[0].isdigit()):
            return verb, args
        raise InvalidInput(f"usage: {_usage(verb)}")
    if args and ids_only and " " not in verb:
        commands = ", ".join(sorted(_VERBS))
        raise InvalidInput(
            f"unknown plan command {verb!r} (commands: {commands}); to plan a goal that reads like this, "
            f'quote it: singularity-mcp plan "{" ".join(words)[:100]}"'
        )
    return "create", [" ".join(words)]


async def _execute(core: Core, verb: str, args: list[str], options: argparse.Namespace) -> Any:
    from singularity_mcp import planning
    from singularity_mcp.planning import planning_decomposer, record_template_usage

    pool = (await core.database()).pool
    if verb == "create":
        return await planning.create_plan(
            pool,
            args[0],
            decomposer=await planning_decomposer(core),
            context=options.context,
            method=options.decomposer,
            on_artifacts_used=lambda ids: record_template_usage(core, ids),
        )
    if verb == "list":
        return await planning.list_plans(pool)
    plan_id = int(args[0])
    if verb == "show":
        return await planning.get_plan(pool, plan_id)
    if verb == "next":
        return await planning.next_task(pool, plan_id)
    if verb == "decompose":
        return await planning.decompose_task(
            pool, plan_id, args[1], decomposer=await planning_decomposer(core), method=options.decomposer
        )
    return await planning.update_task(
        pool,
        plan_id,
        args[1],
        status=_STATUS_VERBS[verb],  # type: ignore[arg-type]
        note=options.note,
        force=options.force,
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    verb, rest = _parse(args.words)

    async def work(core: Core) -> Any:
        # Returned, not raised: an error raised inside the core's task group would reach main() wrapped
        # in an ExceptionGroup instead of as the one-line message.
        try:
            return await _execute(core, verb, rest, args)
        except SingularityError as exc:
            return exc

    result = run_with_core(settings, work)
    if isinstance(result, SingularityError):
        raise result
    if args.json:
        print_json(result)
        return 0
    from singularity_mcp.planning import PlanList, plan_markdown, plan_mermaid

    if isinstance(result, PlanList):
        _print_list(result)
    elif args.markdown:
        sys.stdout.write(plan_markdown(result))
    elif args.mermaid:
        sys.stdout.write(plan_mermaid(result))
    else:
        _print_plan(result, verb)
    return 0


def _print_list(listing: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "status", "done", "goal")
    for plan in listing.plans:
        table.add_row(str(plan.plan_id), plan.status, f"{plan.done}/{plan.tasks}", plan.goal)
    Console().print(table if listing.plans else 'no plans yet: singularity-mcp plan "your goal"')


_STYLE = {
    "done": "green",
    "in_progress": "yellow",
    "failed": "red",
    "blocked": "magenta",
    "cancelled": "dim",
    "pending": "",
}


def _print_plan(view: Any, verb: str) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    if view.message and not (verb == "next" and view.next is not None):  # `next` prints the task below
        console.print(escape(view.message))
    done, total = view.progress.get("done", 0), view.progress.get("total", 0)
    console.print(f"[bold]Plan {view.plan_id}[/] ({view.status}, {done}/{total} done): {escape(view.goal)}")
    if verb != "next":
        table = Table("id", "status", "task", "after", "cx", "conf")
        for task in view.tasks:
            style = _STYLE[task.status]
            title = "  " * task.depth + escape(task.title)
            table.add_row(
                task.id,
                f"[{style}]{task.status}[/]" if style else task.status,
                f"[bold]{title}[/]" if task.has_subtasks else title,
                ", ".join(task.depends_on),
                str(task.complexity),
                f"{task.confidence:.2f}",
            )
        console.print(table)
    if view.next is not None:
        console.print(f"[bold]Next:[/] {view.next.id} {escape(view.next.title)}")
        if verb == "next":
            if view.next.description:
                console.print(escape(view.next.description))
            if view.next.acceptance_criteria:
                console.print("Done when:")
            for criterion in view.next.acceptance_criteria:
                console.print(f"  - {escape(criterion)}")
    console.print(f"Ready: {', '.join(view.ready) or 'none'}")
