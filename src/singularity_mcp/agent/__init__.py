"""The agent router behind `ask_agent`: rules → semantic cache → LLM (or MCP sampling) → knowledge.

`decide` picks the tier for a prompt and `ask` answers from it (the cheapest that can); `record_answer_feedback` closes the learning loop;
`LLMClient` is the Anthropic client with complexity routing and fallback (also used by the planner).
"""

from singularity_mcp.agent._complexity import decide_complexity
from singularity_mcp.agent._llm import Completion, LLMClient, llm_configured
from singularity_mcp.agent._router import (
    MAX_CONTEXT_CHARS,
    MAX_PROMPT_CHARS,
    ApiOutcome,
    Decision,
    LLMRequest,
    Sampler,
    ask,
    call_api,
    decide,
    record_answer_feedback,
)
from singularity_mcp.agent._stats import router_stats
from singularity_mcp.agent.models import AgentAnswer, RouterStats

__all__ = [
    "MAX_CONTEXT_CHARS",
    "MAX_PROMPT_CHARS",
    "AgentAnswer",
    "ApiOutcome",
    "Completion",
    "Decision",
    "LLMClient",
    "LLMRequest",
    "RouterStats",
    "Sampler",
    "ask",
    "call_api",
    "decide",
    "decide_complexity",
    "llm_configured",
    "record_answer_feedback",
    "router_stats",
]
