"""The agent router behind `ask_agent`: rules → semantic cache → LLM (or MCP sampling) → knowledge.

`ask` answers from the cheapest tier that can; `record_answer_feedback` closes the learning loop;
`LLMClient` is the Anthropic client with complexity routing and fallback (also used by the planner).
"""

from singularity_mcp.agent._complexity import decide_complexity
from singularity_mcp.agent._llm import Completion, LLMClient, llm_configured
from singularity_mcp.agent._router import (
    MAX_CONTEXT_CHARS,
    MAX_PROMPT_CHARS,
    LLMRequest,
    Sampler,
    ask,
    pending_llm_request,
    record_answer_feedback,
)
from singularity_mcp.agent._stats import router_stats
from singularity_mcp.agent.models import AgentAnswer, RouterStats

__all__ = [
    "MAX_CONTEXT_CHARS",
    "MAX_PROMPT_CHARS",
    "AgentAnswer",
    "Completion",
    "LLMClient",
    "LLMRequest",
    "RouterStats",
    "Sampler",
    "ask",
    "decide_complexity",
    "llm_configured",
    "pending_llm_request",
    "record_answer_feedback",
    "router_stats",
]
