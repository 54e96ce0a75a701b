"""MCP face of the agent router: the `ask_agent` tool and the `stats://router` resource.

The tier is decided once, by `agent.decide`, in a resolver that runs before the tool body. Without an
API key the tool reaches the client's own model through MCP sampling, with the SDK's `Sample` marker (it
rides `InputRequiredResult` on 2026-07-28 connections and a `sampling/createMessage` request on older
ones), so the client's model is only sampled when no rule or cached answer serves. With a key and a
client that can sample, the API is asked in a resolver too: when every model is overloaded or
unreachable the client's model answers instead of `none` (resolvers may re-run on each round of a
2026-07-28 call, so the API may then be asked once more on the second round).
"""

# No `from __future__ import annotations`: the tool's `Resolve(sample_when_needed)` annotation names a
# closure, which the SDK can only see when annotations are evaluated where they are written.
import logging
from typing import TYPE_CHECKING, Annotated, Literal

from mcp.server.mcpserver import Context, MCPServer, Resolve, Sample
from mcp_types import (
    CreateMessageResult,
    ModelHint,
    ModelPreferences,
    SamplingMessage,
    TextContent,
)
from pydantic import Field

from singularity_mcp.agent import (
    MAX_CONTEXT_CHARS,
    MAX_PROMPT_CHARS,
    ApiOutcome,
    Completion,
    Decision,
    LLMRequest,
    ask,
    call_api,
    decide,
    router_stats,
)
from singularity_mcp.agent.models import AgentAnswer
from singularity_mcp.errors import SingularityError
from singularity_mcp.tools._common import hints, tool_errors
from singularity_mcp.tools._sampling import Sampled, as_sampled, sample_or_defer

if TYPE_CHECKING:
    from singularity_mcp.core import Core

logger = logging.getLogger(__name__)

_PRIORITIES = {"simple": (0.8, 0.3), "medium": (0.5, 0.6), "complex": (0.2, 0.9)}  # (cost, intelligence)


def _sample_marker(request: LLMRequest) -> Sample:
    cost, intelligence = _PRIORITIES[request.complexity]
    family = next((f for f in ("haiku", "sonnet", "opus") if f in request.model), request.model)
    return Sample(
        [SamplingMessage(role="user", content=TextContent(type="text", text=request.prompt))],
        max_tokens=request.max_tokens,
        system_prompt=request.system,
        model_preferences=ModelPreferences(
            hints=[ModelHint(name=family)], cost_priority=cost, intelligence_priority=intelligence
        ),
    )


def register(server: MCPServer, core: "Core") -> None:
    async def decided(
        ctx: Context,
        prompt: str,
        task_type: str,
        complexity: str,
        context: str | None,
        use_llm: bool,
        path: str | None,
    ) -> Decision | None:
        """The tier for this call (None for bad input: the tool body reports it)."""
        capabilities = ctx.client_capabilities
        can_sample = capabilities is not None and capabilities.sampling is not None
        try:
            return await decide(
                core, prompt, task_type=task_type, complexity=complexity, context=context, use_llm=use_llm,
                can_sample=can_sample, path=path,
            )  # fmt: skip
        except SingularityError:
            return None

    async def api_first(decision: Annotated[Decision | None, Resolve(decided)]) -> ApiOutcome | None:
        """Ask the API before the body only when the client's model can step in for a failed API."""
        if decision is None or decision.request is None or not decision.sample_on_failure:
            return None
        return await call_api(core, decision.request)

    async def sample_when_needed(
        ctx: Context,
        decision: Annotated[Decision | None, Resolve(decided)],
        api: Annotated[ApiOutcome | None, Resolve(api_first)],
    ) -> Sample | Sampled | None:
        """Sample the client's model when it is the tier, or when every API model failed."""
        if decision is None or decision.request is None:
            return None
        if decision.tier == "sampling" or (api is not None and api.completion is None):
            return await sample_or_defer(ctx, _sample_marker(decision.request))  # a refusal: `none`
        return None

    @server.tool(
        annotations=hints("Ask the agent router", read_only=False, idempotent=False, open_world=True)
    )
    @tool_errors
    async def ask_agent(
        prompt: Annotated[
            str,
            Field(
                description=f"The question or instruction (at most {MAX_PROMPT_CHARS:,} characters).",
                max_length=MAX_PROMPT_CHARS,
            ),
        ],
        task_type: Annotated[
            str,
            Field(
                description="general, coder, architect, refactoring, reviewer, debugger, test_writer, "
                "explainer, classifier or planner: picks the system prompt, rules and default complexity."
            ),
        ] = "general",
        complexity: Annotated[
            Literal["auto", "simple", "medium", "complex"],
            Field(description="Which model class answers; auto decides from the task type and the prompt."),
        ] = "auto",
        context: Annotated[
            str | None,
            Field(
                description="Code or text the answer depends on (cached answers must match it exactly); "
                f"at most {MAX_CONTEXT_CHARS:,} characters.",
                max_length=MAX_CONTEXT_CHARS,
            ),
        ] = None,
        use_llm: Annotated[
            bool, Field(description="False: only rules and cached answers, never a model call.")
        ] = True,
        path: Annotated[
            str | None,
            Field(
                description="An indexed folder (index_codebase first): its code most relevant to the "
                "prompt goes in as context."
            ),
        ] = None,
        decision: Annotated[Decision | None, Resolve(decided)] = None,
        api: Annotated[ApiOutcome | None, Resolve(api_first)] = None,
        sampled: Annotated[CreateMessageResult | Sampled | None, Resolve(sample_when_needed)] = None,
    ) -> AgentAnswer:
        """Answer a software question through a tiered router, cheapest tier first: deterministic rules,
        then a semantic cache of earlier answers (a reworded question hits; one whose words do not all
        align, or whose direction, numbers, negation or language differ, does not — `cache_refused`
        says why), then Claude (the Anthropic API with a key, otherwise your own
        model through MCP sampling). Returns the answer, which tier answered (source), confidence or
        similarity, model, tokens, cost, latency and an answer_id: call record_feedback(answer_id=...,
        success=...) afterwards so good answers are kept and bad ones evicted. Without a key or sampling
        the answer lists the most relevant knowledge artifacts (source "none").
        Use semantic_search to find code, analyze_code for metrics, plan_task to break work down.
        """
        outcome = as_sampled(sampled)
        sampler = _fixed_sampler(outcome) if outcome is not None else None
        return await ask(
            core,
            prompt,
            task_type=task_type,
            complexity=complexity,
            context=context,
            use_llm=use_llm,
            sampler=sampler,
            path=path,
            decision=decision,
            api=api,
        )

    @server.resource(
        "stats://router",
        name="router_stats",
        title="Agent router statistics",
        description="ask_agent per-tier counts, hit rates, p50/p95 latency, tokens, cost and the saving "
        "against sending every prompt to the LLM.",
        mime_type="application/json",
    )
    async def router_stats_resource() -> str:
        return (await router_stats(core)).model_dump_json(indent=2)


def _fixed_sampler(outcome: Sampled):
    """A sampler handing `ask` the answer the resolver already got from the client's model."""

    async def sampler(_request: LLMRequest) -> Completion:
        if outcome.text is None:
            raise RuntimeError(outcome.error or "the client returned no sample")
        return Completion(
            text=outcome.text,
            model=outcome.model,
            input_tokens=0,
            output_tokens=0,
            cost_usd=0.0,
            latency_ms=outcome.latency_ms,
        )

    return sampler
