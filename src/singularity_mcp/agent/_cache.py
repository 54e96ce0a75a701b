"""Tier 2: the semantic answer cache in PostgreSQL (pgvector HNSW), with the verification step.

An entry is keyed by task type, context hash and the normalised prompt; a lookup first tries that exact
key (no embedding needed), then the nearest neighbours by cosine, each of which must also pass
`_verify.verify` (word alignment, direction, numbers, technologies).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from singularity_mcp._rows import one_row
from singularity_mcp.agent._guard import Signature, disagreement
from singularity_mcp.agent._verify import Refusal, verify

if TYPE_CHECKING:
    import numpy as np
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

    from singularity_mcp.config import Settings

#: Nearest neighbours examined per lookup (the first that passes threshold and guard wins).
_CANDIDATES = 5
_COLUMNS = "cache_id, answer, model, source, prompt, guard, input_tokens, output_tokens, cost_usd"


@dataclass(frozen=True)
class CacheHit:
    cache_id: int
    answer: str
    model: str | None
    source: str
    prompt: str
    similarity: float
    input_tokens: int
    output_tokens: int
    cost_usd: float


@dataclass(frozen=True)
class CacheLookup:
    hit: CacheHit | None
    rejected: Refusal | None = None
    """Why the nearest prompt above the threshold was refused by the verification step, if it was."""


def _hit(row: tuple, similarity: float) -> CacheHit:
    cache_id, answer, model, source, prompt, _guard, input_tokens, output_tokens, cost = row
    return CacheHit(cache_id, answer, model, source, prompt, similarity, input_tokens, output_tokens, cost)


async def find_exact(
    pool: AsyncConnectionPool, task_type: str, context_hash: str, prompt_sha: bytes, sig: Signature
) -> CacheHit | None:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            f"SELECT {_COLUMNS} FROM agent_cache WHERE task_type = %s AND context_hash = %s "
            "AND prompt_sha256 = %s AND expires_at > now()",
            (task_type, context_hash, prompt_sha),
        )
        row = await cursor.fetchone()
    if row is None or disagreement(sig, Signature.from_json(row[5])) is not None:
        return None
    return _hit(row, 1.0)


async def find_similar(
    pool: AsyncConnectionPool,
    vector: np.ndarray,
    task_type: str,
    context_hash: str,
    prompt: str,
    threshold: float,
) -> CacheLookup:
    """The nearest cached prompt above `threshold` that passes verification against `prompt`."""
    async with pool.connection() as conn, conn.transaction():
        # Filtered HNSW: keep scanning the graph until enough rows pass the WHERE (pgvector >= 0.8).
        await conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        cursor = await conn.execute(
            f"SELECT {_COLUMNS}, 1 - (embedding <=> %s) AS similarity FROM agent_cache "
            "WHERE task_type = %s AND context_hash = %s AND expires_at > now() "
            "ORDER BY embedding <=> %s LIMIT %s",
            (vector, task_type, context_hash, vector, _CANDIDATES),
        )
        rows = await cursor.fetchall()
    rejected = None
    for row in sorted(rows, key=lambda r: -r[-1]):
        similarity = float(row[-1])
        if similarity < threshold:
            break
        refusal = await verify(prompt, row[4])
        if refusal is None:
            return CacheLookup(_hit(row[:-1], round(similarity, 4)), rejected)
        rejected = rejected or refusal
    return CacheLookup(None, rejected)


async def mark_hit(conn: AsyncConnection, cache_id: int) -> None:
    await conn.execute(
        "UPDATE agent_cache SET hits = hits + 1, last_used_at = now() WHERE cache_id = %s", (cache_id,)
    )


async def store(
    pool: AsyncConnectionPool,
    settings: Settings,
    *,
    task_type: str,
    context_hash: str,
    prompt_sha: bytes,
    prompt: str,
    vector: np.ndarray,
    sig: Signature,
    answer: str,
    source: str,
    model: str | None,
    complexity: str,
    input_tokens: int,
    output_tokens: int,
    cost_usd: float,
) -> int:
    """Insert (or refresh) an entry, drop expired ones, and keep at most `agent_cache_max_entries`.

    Eviction removes the least confirmed, least recently used entries first (never the new one).
    """
    async with pool.connection() as conn, conn.transaction():
        cursor = await conn.execute(
            "INSERT INTO agent_cache (task_type, context_hash, prompt_sha256, prompt, embedding, guard, "
            "answer, source, model, complexity, input_tokens, output_tokens, cost_usd, expires_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now() + make_interval(secs => %s)) "
            "ON CONFLICT (task_type, context_hash, prompt_sha256) DO UPDATE SET prompt = EXCLUDED.prompt, "
            "embedding = EXCLUDED.embedding, guard = EXCLUDED.guard, answer = EXCLUDED.answer, "
            "source = EXCLUDED.source, model = EXCLUDED.model, complexity = EXCLUDED.complexity, "
            "input_tokens = EXCLUDED.input_tokens, output_tokens = EXCLUDED.output_tokens, "
            "cost_usd = EXCLUDED.cost_usd, hits = 0, confirmations = 0, created_at = now(), "
            "last_used_at = now(), expires_at = EXCLUDED.expires_at RETURNING cache_id",
            (
                task_type, context_hash, prompt_sha, prompt, vector, json.dumps(sig.to_json()), answer,
                source, model, complexity, input_tokens, output_tokens, cost_usd, settings.agent_cache_ttl_s,
            ),
        )  # fmt: skip
        (cache_id,) = await one_row(cursor)
        await conn.execute("DELETE FROM agent_cache WHERE expires_at <= now()")
        await conn.execute(
            "DELETE FROM agent_cache WHERE cache_id IN (SELECT cache_id FROM agent_cache "
            "ORDER BY cache_id = %s DESC, confirmations DESC, last_used_at DESC OFFSET %s)",
            (cache_id, settings.agent_cache_max_entries),
        )
    return cache_id
