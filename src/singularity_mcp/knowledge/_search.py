"""Hybrid knowledge search: cosine similarity and full-text rank, then the learning-loop ranking.

score = 0.7·similarity + 0.2·success_rate + 0.1·recency, where
- similarity = 0.8·cosine + 0.2·lexical (lexical: `ts_rank_cd` over title, summary, tags and content,
  normalised to [0, 1) — words the query shares with the artifact lift it above near neighbours);
- success_rate = (successes + 1) / (feedback + 2): an artifact without feedback sits at 0.5, neither
  punished nor favoured;
- recency = exp(-age / 30 days), age since the artifact was last used or, if never, last changed.

The table is small (hundreds to a few thousand artifacts), so every row is scored exactly: no ANN index,
no recall lost to filters.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from singularity_mcp._rows import one_row
from singularity_mcp.errors import InvalidInput
from singularity_mcp.knowledge._store import SUCCESS_RATE_SQL, _check_type, import_artifacts
from singularity_mcp.knowledge.models import KnowledgeHit

if TYPE_CHECKING:
    from singularity_mcp.core import Core

logger = logging.getLogger(__name__)

W_SIMILARITY, W_SUCCESS, W_RECENCY = 0.7, 0.2, 0.1
W_COSINE, W_LEXICAL = 0.8, 0.2
RECENCY_DAYS = 30.0
SNIPPET_CHARS = 300

_SEARCH = f"""
WITH q AS (
    SELECT %(vec)s::vector AS v,
           to_tsquery('english', replace(plainto_tsquery('english', %(text)s)::text, ' & ', ' | ')) AS tq
), scored AS (
    SELECT a.artifact_id, a.artifact_type, a.title, a.summary, a.language,
           1 - (a.embedding <=> q.v) AS cosine,
           CASE WHEN a.tsv @@ q.tq THEN ts_rank_cd(a.tsv, q.tq, 32) ELSE 0 END AS lexical_raw,
           {SUCCESS_RATE_SQL} AS success_rate,
           exp(-greatest(extract(epoch FROM now() - coalesce(a.last_used_at, a.updated_at)), 0)
               / (86400.0 * %(days)s)) AS recency
    FROM knowledge_artifacts a, q
    WHERE a.embedding IS NOT NULL
      AND (%(type)s::text IS NULL OR a.artifact_type = %(type)s)
      AND (%(lang)s::text IS NULL OR a.language = %(lang)s)
), normalised AS (
    SELECT *, coalesce(lexical_raw / nullif(max(lexical_raw) OVER (), 0), 0) AS lexical FROM scored
)
SELECT artifact_id, artifact_type, title, summary, language,
       %(wc)s * cosine + %(wl)s * lexical AS similarity, success_rate, recency
FROM normalised
ORDER BY %(ws)s * (%(wc)s * cosine + %(wl)s * lexical) + %(wsr)s * success_rate + %(wr)s * recency DESC,
         artifact_id
LIMIT %(k)s
"""


async def search_knowledge(
    core: Core,
    query: str,
    *,
    artifact_type: str | None = None,
    language: str | None = None,
    top_k: int = 10,
) -> list[KnowledgeHit]:
    """Rank knowledge artifacts for `query` (hybrid dense + full-text, boosted by feedback and recency)."""
    from singularity_mcp.embedding import embed_cached

    if not query or not query.strip():
        raise InvalidInput("query is empty: describe what you are looking for")
    if not 1 <= top_k <= 100:
        raise InvalidInput(f"top_k={top_k}: pass a number from 1 to 100")
    _check_type(artifact_type)
    database = await core.database()
    async with database.pool.connection() as conn:
        cur = await conn.execute("SELECT EXISTS (SELECT 1 FROM knowledge_artifacts)")
        imported = (await one_row(cur))[0]
    if not imported:  # never imported (a fresh database, no server start yet): the files are the truth
        logger.info("knowledge base is empty: importing the artifact files first")
        await import_artifacts(core)
    embedder = await core.embedder()
    vector = (await embed_cached(database.pool, embedder, [query.strip()]))[0]
    params = {
        "vec": vector,
        "text": query,
        "type": artifact_type,
        "lang": language.strip().lower() if language else None,
        "days": RECENCY_DAYS,
        "wc": W_COSINE,
        "wl": W_LEXICAL,
        "ws": W_SIMILARITY,
        "wsr": W_SUCCESS,
        "wr": W_RECENCY,
        "k": top_k,
    }
    async with database.pool.connection() as conn:
        cur = await conn.execute(_SEARCH, params)
        rows = await cur.fetchall()
    hits = []
    for artifact_id, artifact_type_, title, summary, lang, similarity, success_rate, recency in rows:
        similarity = float(similarity)
        score = W_SIMILARITY * similarity + W_SUCCESS * float(success_rate) + W_RECENCY * float(recency)
        snippet = summary if len(summary) <= SNIPPET_CHARS else summary[: SNIPPET_CHARS - 1] + "…"
        hits.append(
            KnowledgeHit(
                artifact_id=artifact_id,
                artifact_type=artifact_type_,
                title=title,
                score=round(score, 4),
                snippet=snippet,
                uri=f"knowledge://{artifact_type_}/{artifact_id}",
                language=lang,
                similarity=round(similarity, 4),
            )
        )
    return hits
