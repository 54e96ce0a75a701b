"""Router figures for `stats://router` and `singularity-mcp stats`, computed from the answer log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from singularity_mcp._rows import one_row
from singularity_mcp.agent._rules import MIN_CONFIDENCE
from singularity_mcp.agent.models import RouterStats, TierStats

if TYPE_CHECKING:
    from singularity_mcp.core import Core

_TIERS = ("rule", "cache", "llm", "sampling", "none")


async def router_stats(core: Core) -> RouterStats:
    """Per-tier counts and shares, p50/p95 latency, tokens, cost, and the saving against always-LLM."""
    pool = (await core.database()).pool
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT source, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms), "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms), sum(input_tokens), sum(output_tokens), "
            "sum(cost_usd), sum(saved_usd) FROM agent_answers GROUP BY source"
        )
        by_source = {row[0]: row[1:] for row in await cursor.fetchall()}
        cursor = await conn.execute(
            "SELECT count(guard_rejected), count(*) FILTER (WHERE feedback), count(*) FILTER (WHERE NOT feedback) "
            "FROM agent_answers"
        )
        rejections, positive, negative = await one_row(cursor)
        cursor = await conn.execute(
            "SELECT split_part(guard_rejected, ':', 1), count(*) FROM agent_answers "
            "WHERE guard_rejected IS NOT NULL GROUP BY 1 ORDER BY 2 DESC"
        )
        refusals = {reason: count for reason, count in await cursor.fetchall()}
        cursor = await conn.execute(
            "SELECT count(*) FILTER (WHERE ok), count(*) FILTER (WHERE NOT ok) FROM agent_llm_calls "
            "WHERE provider = 'anthropic'"
        )
        llm_ok, llm_failed = await one_row(cursor)
        cursor = await conn.execute("SELECT count(*) FROM agent_cache WHERE expires_at > now()")
        (entries,) = await one_row(cursor)
        cursor = await conn.execute(
            "SELECT count(*) FROM agent_rules WHERE confidence >= %s", (MIN_CONFIDENCE,)
        )
        (learned,) = await one_row(cursor)
    total = sum(int(v[0]) for v in by_source.values())
    tiers = []
    for source in _TIERS:
        count, p50, p95, tokens_in, tokens_out, cost, _saved = by_source.get(
            source, (0, None, None, 0, 0, 0, 0)
        )
        tiers.append(
            TierStats(
                source=source,
                count=count,
                share=round(count / total, 4) if total else 0.0,
                p50_ms=round(p50, 3) if p50 is not None else None,
                p95_ms=round(p95, 3) if p95 is not None else None,
                input_tokens=int(tokens_in or 0),
                output_tokens=int(tokens_out or 0),
                cost_usd=round(float(cost or 0), 6),
            )
        )
    counts = {t.source: t.count for t in tiers}
    reached_cache = total - counts["rule"]
    cost = sum(t.cost_usd for t in tiers)
    saved = sum(float(v[6] or 0) for v in by_source.values())
    return RouterStats(
        total=total,
        tiers=tiers,
        rule_hit_rate=round(counts["rule"] / total, 4) if total else 0.0,
        cache_hit_rate=round(counts["cache"] / reached_cache, 4) if reached_cache else 0.0,
        guard_rejections=rejections,
        refusals=refusals,
        llm_calls=llm_ok + llm_failed,
        llm_failures=llm_failed,
        input_tokens=sum(t.input_tokens for t in tiers),
        output_tokens=sum(t.output_tokens for t in tiers),
        cost_usd=round(cost, 6),
        estimated_always_llm_usd=round(cost + saved, 6),
        estimated_saving_usd=round(saved, 6),
        cache_entries=entries,
        learned_rules=learned,
        feedback={"positive": positive, "negative": negative},
    )
