"""The router's public data: the answer `ask` returns and the figures `router_stats` reports."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Source = Literal["rule", "cache", "llm", "sampling", "none"]


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0


class KnowledgeRef(BaseModel):
    """A knowledge artifact the answer drew on (or, for source `none`, the best hits)."""

    artifact_id: str
    artifact_type: str | None = None
    title: str | None = None
    score: float | None = None
    snippet: str | None = None
    uri: str | None = None


class CodeRef(BaseModel):
    """Indexed code the answer was given as context (when `path` was passed)."""

    path: str
    start_line: int
    end_line: int
    symbol: str | None = None
    score: float | None = None


class AgentAnswer(BaseModel):
    """An answer from the cheapest tier that could give one."""

    answer: str = Field(description="The answer text (for source `none`: the best knowledge hits).")
    source: Source = Field(
        description="Which tier answered: rule, cache, llm, sampling (the client's model) or none."
    )
    confidence: float | None = Field(None, description="The rule's confidence (source rule).")
    similarity: float | None = Field(
        None, description="Cosine similarity to the cached prompt (source cache)."
    )
    model: str | None = Field(None, description="The model that wrote the answer (llm, sampling, cache).")
    complexity: Literal["simple", "medium", "complex"] = Field(
        description="The complexity the prompt was routed as (decides the model)."
    )
    task_type: str = "general"
    usage: Usage = Field(default_factory=Usage, description="Tokens this call spent (0 unless source llm).")
    cost_usd: float = Field(0.0, description="What this call cost (0 unless source llm).")
    latency_ms: float = Field(description="Time to the answer, in milliseconds.")
    answer_id: str = Field(description="Pass to record_feedback(answer_id=..., success=...).")
    rule_id: str | None = None
    artifacts: list[KnowledgeRef] = Field(
        default_factory=list, description="Knowledge artifacts used or found."
    )
    code: list[CodeRef] = Field(default_factory=list, description="Code from `path` given as context.")
    note: str | None = Field(None, description="Why a tier was skipped (no key, model unavailable, ...).")
    cache_refused: str | None = Field(
        None,
        description="Why the most similar cached answer was not served (`reason: detail`, e.g. "
        "`direction: ...`, `unmatched: ...`), when one was above the threshold and refused.",
    )


class TierStats(BaseModel):
    source: Source
    count: int
    share: float = Field(description="Fraction of all answers.")
    p50_ms: float | None = None
    p95_ms: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class RouterStats(BaseModel):
    """Per-tier counts, hit rates, latency, tokens, cost and the saving against an always-LLM router."""

    total: int
    tiers: list[TierStats]
    rule_hit_rate: float = Field(description="Answers from rules / all answers.")
    cache_hit_rate: float = Field(description="Answers from the cache / answers that reached the cache tier.")
    guard_rejections: int = Field(
        description="Answers where a cached answer above the cosine threshold was refused by verification."
    )
    refusals: dict[str, int] = Field(
        default_factory=dict,
        description="Those refusals by reason: unmatched (a word without counterpart), direction (X to Y "
        "vs Y to X), order (4 chunks / chunks of 4), opposite (lock/unlock), question (how vs what), "
        "numbers, technology.",
    )
    llm_calls: int
    llm_failures: int = Field(description="LLM attempts that failed (overload, unavailable) and fell back.")
    input_tokens: int
    output_tokens: int
    cost_usd: float
    estimated_always_llm_usd: float = Field(
        description="What sending every prompt to the LLM would have cost."
    )
    estimated_saving_usd: float
    cache_entries: int
    learned_rules: int
    feedback: dict[str, int] = Field(default_factory=dict)
