"""MCP face of planning: the `plan_task` tool and the `plan://` resources.

LLM decomposition uses the Anthropic API when a key is set; without one, and when the client can sample,
the client's own model is asked (MCP sampling, through the SDK's `Sample` resolver, which works on both
protocol eras) — only when no template fits, so the cheapest source still answers first.
"""

# No `from __future__ import annotations`: the tool's `Resolve(sample_decomposition)` annotation names a
# function local to `register`, which string annotations could not resolve.

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer, Resolve, Sample
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.types import CallToolResult, TextContent
from mcp_types import CreateMessageResult, ModelPreferences, SamplingMessage
from pydantic import Field

from singularity_mcp.core import Core
from singularity_mcp.errors import InvalidInput, SingularityError, Unavailable
from singularity_mcp.planning import planning_decomposer, record_template_usage
from singularity_mcp.planning.models import (
    DecomposeMethod,
    PlanList,
    PlanView,
    Priority,
    SubtaskSpec,
    TaskStatus,
)
from singularity_mcp.tools._common import hints, tool_errors
from singularity_mcp.tools._sampling import Sampled, as_sampled, sample_or_defer

logger = logging.getLogger(__name__)

MAX_PLAN_CONTEXT_CHARS = 100_000
MAX_NOTE_CHARS = 10_000

Action = Literal["create", "decompose", "update", "get", "next"]


def _llm_configured(core: Core) -> bool:
    from singularity_mcp.agent import llm_configured  # one definition; imported late (start-up time)

    return llm_configured(core.settings)


@dataclass(frozen=True)
class _SampledCompletion:
    text: str
    model: str


class _SampledAnswer:
    """A `Completer` that hands over the answer sampled before the tool body ran. It answers once: the
    retry after an unusable answer cannot be sampled inside the same call, so it is refused (and `auto`
    falls back to a template)."""

    def __init__(self, sampled: Sampled) -> None:
        self._sampled = sampled
        self._used = False

    async def complete(
        self,
        system: str,
        prompt: str,
        *,
        complexity: str,
        max_tokens: int,
        json_schema: dict[str, Any] | None = None,
    ) -> _SampledCompletion:
        if self._sampled.text is None:
            raise Unavailable(f"the client's model did not answer ({self._sampled.error})")
        if self._used:
            raise Unavailable("the client's model was already asked once in this call")
        self._used = True
        return _SampledCompletion(self._sampled.text, self._sampled.model)


def summary(view: PlanView) -> str:
    """A few lines for the text content: what changed, what is next, the ready set."""
    done, total = view.progress.get("done", 0), view.progress.get("total", 0)
    lines = [view.message] if view.message else []
    lines.append(f"Plan {view.plan_id} ({view.status}, {done}/{total} done): {view.goal}")
    if view.next is not None:
        lines.append(f"Next: {view.next.id} {view.next.title}")
    lines.append(f"Ready: {_capped(view.ready, ', ') or 'none'}")
    lines.append(f"Order: {_capped(view.order, ' → ')}")
    return "\n".join(lines)


def _capped(ids: list[str], sep: str, limit: int = 40) -> str:
    """The first `limit` ids (the structured content has them all)."""
    more = f"{sep}… ({len(ids) - limit} more)" if len(ids) > limit else ""
    return sep.join(ids[:limit]) + more


def plan_action(action: Action | None, plan_id: int | None, has_change: bool) -> Action:
    """The action a call means: the one named, else `create` without a plan, `update` when it carries a
    change, else `get`. The one rule for the sampling resolver and the tool body."""
    if action is not None:
        return action
    return "create" if plan_id is None else "update" if has_change else "get"


def _result(view: PlanView) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=summary(view))],
        structured_content=view.model_dump(mode="json"),
    )


def register(server: MCPServer, core: Core) -> None:
    async def sample_decomposition(
        ctx: Context,
        goal: str | None,
        context: str | None,
        plan_id: int | None,
        task_id: str | None,
        action: Action | None,
        subtasks: list[SubtaskSpec] | None,
        decomposer: DecomposeMethod,
    ) -> Sample | Sampled | None:
        """Sample the client's model for a decomposition only when it is needed: no key, the client can
        sample, no subtasks given, and (for `auto`) no template fits."""
        if decomposer == "template" or subtasks or _llm_configured(core):
            return None
        capabilities = ctx.client_capabilities
        if capabilities is None or capabilities.sampling is None:
            return None
        from singularity_mcp import planning

        chosen = plan_action(action, plan_id, has_change=False)  # only create/decompose ever sample
        try:
            if chosen == "create" and goal and goal.strip():
                target = goal.strip()
                target_context, count_hint, parent = context, None, None
            elif chosen == "decompose" and plan_id is not None and task_id:
                database = await core.database()
                found = await planning.decomposition_target(database.pool, plan_id, task_id, context)
                target, target_context = found.goal, found.context
                count_hint, parent = found.count_hint, found.parent
            else:
                return None
            offline = await planning_decomposer(core)
            if decomposer == "auto" and await offline.fits_a_template(target, target_context):
                return None
        except SingularityError:
            return None  # the tool body reports the problem
        system, prompt = planning.llm_request(target, target_context, count_hint=count_hint, parent=parent)
        marker = Sample(
            [SamplingMessage(role="user", content=TextContent(type="text", text=prompt))],
            max_tokens=4000,
            system_prompt=system,
            model_preferences=ModelPreferences(cost_priority=0.5, intelligence_priority=0.6),
        )
        return await sample_or_defer(ctx, marker)  # a refusal falls back to a template

    @server.tool(annotations=hints("Plan a task", read_only=False, idempotent=False, open_world=True))
    @tool_errors
    async def plan_task(
        goal: Annotated[
            str | None,
            Field(description="With action create: what the plan should achieve, in a sentence or two."),
        ] = None,
        context: Annotated[
            str | None,
            Field(
                description=f"Background for the decomposition (at most {MAX_PLAN_CONTEXT_CHARS:,} characters).",
                max_length=MAX_PLAN_CONTEXT_CHARS,
            ),
        ] = None,
        plan_id: Annotated[
            int | None, Field(description="The plan to work on (from an earlier answer).")
        ] = None,
        task_id: Annotated[
            str | None,
            Field(description='A task of the plan, by its id (e.g. "2.1"): for update and decompose.'),
        ] = None,
        action: Annotated[
            Action | None,
            Field(
                description="create, next, update, decompose or get; see the tool description for the default."
            ),
        ] = None,
        status: Annotated[TaskStatus | None, Field(description="With update: the task's new status.")] = None,
        subtasks: Annotated[
            list[SubtaskSpec] | None,
            Field(
                description="With create or decompose: the tasks to add yourself instead of a template or LLM."
            ),
        ] = None,
        add_depends_on: Annotated[
            list[str] | None, Field(description="With update: task ids the task must now wait for.")
        ] = None,
        remove_depends_on: Annotated[
            list[str] | None, Field(description="With update: task ids the task no longer waits for.")
        ] = None,
        priority: Annotated[
            Priority | None, Field(description="With update: the task's new priority.")
        ] = None,
        estimate_hours: Annotated[
            float | None, Field(description="With update: the task's estimate in hours.")
        ] = None,
        not_before: Annotated[
            datetime | None,
            Field(description="With update: the task cannot start before this time (ISO 8601)."),
        ] = None,
        note: Annotated[
            str | None,
            Field(
                description=f"A note on the task (at most {MAX_NOTE_CHARS:,} characters).",
                max_length=MAX_NOTE_CHARS,
            ),
        ] = None,
        force: Annotated[
            bool, Field(description="With update to done: record it even while a prerequisite is still open.")
        ] = False,
        decomposer: Annotated[
            DecomposeMethod,
            Field(description="With create/decompose: auto (template, else LLM), template, or llm."),
        ] = "auto",
        sampled: Annotated[CreateMessageResult | Sampled | None, Resolve(sample_decomposition)] = None,
    ) -> Annotated[CallToolResult, PlanView]:
        """Plan work as a hierarchical task graph, then ask what to do next and report progress.

        Actions (`action`; when omitted: `create` without plan_id, `update` when a change is given, else `get`):
        - `create` (goal, optional context/subtasks): decompose the goal into ordered tasks. Without
          `subtasks` it uses the best-matching knowledge-base template (bug fix, new feature, refactor,
          migration, performance, security review, dependency upgrade, SPARC; offline), or an LLM when a key
          is configured and no template fits (`decomposer`: auto | template | llm).
        - `next` (plan_id): the one task to work on now.
        - `update` (plan_id, task_id, status=in_progress|done|failed|blocked|cancelled|pending, and/or
          add_depends_on / remove_depends_on / priority / estimate_hours / not_before / note): a phase
          is done when all its subtasks are; a failed task blocks what waits for it; status pending
          reopens a task and unblocks what it blocked. A dependency that would close a cycle is refused
          with the cycle spelled out. Marking a task done while a prerequisite is still open is refused
          (the error names them); `force=true` records it anyway.
        - `decompose` (plan_id, task_id, optional subtasks): add a level of subtasks under one task
          (use it for tasks with `recommended_subtasks`); without subtasks it needs a fitting template or
          an LLM, else it asks you for the subtasks.
        - `get` (plan_id): the plan as it is.
        `subtasks` items: {title, description, key, depends_on: [keys or 1-based positions in the list, or
        existing task ids], complexity 1-10, priority, acceptance_criteria, estimate_hours}.
        Every answer is the whole plan: tasks (id like "2.1", parent_id, depth, depends_on, status,
        complexity, confidence), `ready` (tasks that can start now), `order` (a valid execution order),
        `next`, and the critical path. Plans persist; list them with the resource plan://plans.
        Not for questions (use ask_agent) or finding code (use semantic_search).
        """
        has_change = bool(status or add_depends_on or remove_depends_on or priority or note is not None) or (
            estimate_hours is not None or not_before is not None
        )
        chosen = plan_action(action, plan_id, has_change)
        answer = as_sampled(sampled)
        from singularity_mcp import planning

        database = await core.database()
        pool = database.pool
        if chosen == "create":
            if plan_id is not None:
                raise InvalidInput("action 'create' makes a new plan: drop plan_id, or use action 'get'")
            if goal is None:
                raise InvalidInput("action 'create' needs a goal, e.g. goal='add OAuth login to the web app'")
            view = await planning.create_plan(
                pool,
                goal,
                decomposer=await planning_decomposer(
                    core, _SampledAnswer(answer) if answer is not None else None
                ),
                context=context,
                subtasks=subtasks,
                method=decomposer,
                on_artifacts_used=lambda ids: record_template_usage(core, ids),
            )
            return _result(view)
        if plan_id is None:
            raise InvalidInput(f"action {chosen!r} needs plan_id (from the answer to action 'create')")
        if chosen in ("get", "next") and has_change:
            raise InvalidInput(f"action {chosen!r} changes nothing: use action 'update' to change a task")
        if chosen in ("update", "decompose") and not task_id:
            raise InvalidInput(f"action {chosen!r} needs task_id (an id like '2' or '2.1' from the plan)")
        assert task_id is not None or chosen in ("get", "next")
        if chosen == "get":
            view = await planning.get_plan(pool, plan_id)
        elif chosen == "next":
            view = await planning.next_task(pool, plan_id)
        elif chosen == "decompose":
            assert task_id is not None
            view = await planning.decompose_task(
                pool,
                plan_id,
                task_id,
                decomposer=await planning_decomposer(
                    core, _SampledAnswer(answer) if answer is not None else None
                ),
                subtasks=subtasks,
                method=decomposer,
                context=context,
                on_artifacts_used=lambda ids: record_template_usage(core, ids),
            )
        else:
            assert task_id is not None
            view = await planning.update_task(
                pool,
                plan_id,
                task_id,
                status=status,
                add_depends_on=add_depends_on or (),
                remove_depends_on=remove_depends_on or (),
                priority=priority,
                estimate_hours=estimate_hours,
                not_before=not_before,
                note=note,
                force=force,
            )
        return _result(view)

    @server.resource(
        "plan://plans",
        name="plans",
        title="Plans",
        description="Every stored plan (most recently updated first) with its status and progress.",
        mime_type="application/json",
    )
    async def plans_resource() -> str:
        from singularity_mcp import planning

        try:
            database = await core.database()
            listing: PlanList = await planning.list_plans(database.pool)
        except SingularityError as exc:
            raise ResourceError(str(exc)) from exc
        return listing.model_dump_json(indent=2)

    @server.resource(
        "plan://{plan_id}",
        name="plan",
        title="Plan (JSON)",
        description="One plan: tasks, ready set, order, next task, critical path (what plan_task returns).",
        mime_type="application/json",
    )
    async def plan_resource(plan_id: str) -> str:
        view = await _load_view(core, plan_id)
        return view.model_dump_json(indent=2)

    @server.resource(
        "plan://{plan_id}/markdown",
        name="plan_markdown",
        title="Plan (markdown)",
        description="One plan as a readable markdown checklist.",
        mime_type="text/markdown",
    )
    async def plan_markdown_resource(plan_id: str) -> str:
        from singularity_mcp.planning import plan_markdown

        return plan_markdown(await _load_view(core, plan_id))

    @server.resource(
        "plan://{plan_id}/mermaid",
        name="plan_mermaid",
        title="Plan (Mermaid)",
        description="One plan's task graph as a Mermaid flowchart: phases as subgraphs, dependencies as "
        "arrows, tasks coloured by status, the next task outlined.",
        mime_type="text/vnd.mermaid",
    )
    async def plan_mermaid_resource(plan_id: str) -> str:
        from singularity_mcp.planning import plan_mermaid

        return plan_mermaid(await _load_view(core, plan_id))


async def _load_view(core: Core, plan_id: str) -> PlanView:
    from singularity_mcp import planning

    if not plan_id.isdigit():
        raise ResourceError(f"plan id {plan_id!r} is not a number: read plan://plans for the plans")
    try:
        database = await core.database()
        return await planning.get_plan(database.pool, int(plan_id))
    except SingularityError as exc:
        raise ResourceError(str(exc)) from exc
