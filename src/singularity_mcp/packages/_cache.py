"""The package cache in PostgreSQL: plain SQL, parameters bound, each write in a transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

Kind = Literal["package", "release", "advisories"]


@dataclass
class CacheRow:
    found: bool
    payload: Any
    fetched_at: datetime


_GET = """
SELECT found, payload, fetched_at FROM package_cache
WHERE kind = %s AND ecosystem = %s AND name_key = %s AND version = %s
"""

_PUT = """
INSERT INTO package_cache
    (kind, ecosystem, name_key, version, found, payload, fetched_at, search_text, license, downloads)
VALUES (%s, %s, %s, %s, %s, %s, now(), %s, %s, %s)
ON CONFLICT (kind, ecosystem, name_key, version) DO UPDATE SET
    found = EXCLUDED.found,
    payload = EXCLUDED.payload,
    fetched_at = EXCLUDED.fetched_at,
    license = EXCLUDED.license,
    downloads = EXCLUDED.downloads,
    -- a changed description needs a new embedding; an unchanged one keeps it
    embedding = CASE WHEN package_cache.search_text IS DISTINCT FROM EXCLUDED.search_text
                     THEN NULL ELSE package_cache.embedding END,
    embedding_model = CASE WHEN package_cache.search_text IS DISTINCT FROM EXCLUDED.search_text
                           THEN NULL ELSE package_cache.embedding_model END,
    search_text = EXCLUDED.search_text
RETURNING fetched_at
"""

_UNEMBEDDED = """
SELECT ecosystem, name_key, search_text FROM package_cache
WHERE kind = 'package' AND found AND search_text IS NOT NULL
  AND embedding_model IS DISTINCT FROM %s
LIMIT %s
"""

_SET_EMBEDDING = """
UPDATE package_cache SET embedding = %s, embedding_model = %s
WHERE kind = 'package' AND ecosystem = %s AND name_key = %s AND version = '' AND search_text = %s
"""

_NEAREST = """
SELECT payload, fetched_at, 1 - (embedding <=> %(query)s) AS similarity
FROM package_cache
WHERE kind = 'package' AND found AND embedding_model = %(model)s
  AND (%(ecosystem)s::text IS NULL OR ecosystem = %(ecosystem)s)
  AND (%(license)s::text IS NULL OR license ILIKE '%%' || %(license)s || '%%')
  AND (%(min_downloads)s::bigint IS NULL OR downloads >= %(min_downloads)s)
ORDER BY embedding <=> %(query)s
LIMIT %(limit)s
"""


async def get(
    pool: AsyncConnectionPool, kind: Kind, ecosystem: str, key: str, version: str = ""
) -> CacheRow | None:
    async with pool.connection() as conn:
        cursor = await conn.execute(_GET, (kind, ecosystem, key, version))
        row = await cursor.fetchone()
    return CacheRow(found=row[0], payload=row[1], fetched_at=row[2]) if row else None


async def put(
    pool: AsyncConnectionPool,
    kind: Kind,
    ecosystem: str,
    key: str,
    payload: Any,
    *,
    version: str = "",
    search_text: str | None = None,
    license: str | None = None,
    downloads: int | None = None,
) -> datetime:
    """Store a payload (None: "not found"); return the stored fetched_at."""
    params = (
        kind,
        ecosystem,
        key,
        version,
        payload is not None,
        Jsonb(payload) if payload is not None else None,
        search_text,
        license,
        downloads,
    )
    async with pool.connection() as conn, conn.transaction():
        cursor = await conn.execute(_PUT, params)
        row = await cursor.fetchone()
    assert row is not None
    return row[0]


async def unembedded(pool: AsyncConnectionPool, model_id: str, limit: int) -> list[tuple[str, str, str]]:
    async with pool.connection() as conn:
        cursor = await conn.execute(_UNEMBEDDED, (model_id, limit))
        return [(r[0], r[1], r[2]) for r in await cursor.fetchall()]


async def set_embeddings(
    pool: AsyncConnectionPool, model_id: str, rows: list[tuple[str, str, str]], vectors: np.ndarray
) -> None:
    params = [
        (vector, model_id, ecosystem, key, text)
        for (ecosystem, key, text), vector in zip(rows, vectors, strict=True)
    ]
    async with pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
        await cursor.executemany(_SET_EMBEDDING, params)


async def nearest(
    pool: AsyncConnectionPool,
    model_id: str,
    query: np.ndarray,
    *,
    ecosystem: str | None,
    license: str | None,
    min_downloads: int | None,
    limit: int,
) -> list[tuple[Any, datetime, float]]:
    params = {
        "query": query,
        "model": model_id,
        "ecosystem": ecosystem,
        "license": license,
        "min_downloads": min_downloads,
        "limit": limit,
    }
    async with pool.connection() as conn:
        cursor = await conn.execute(_NEAREST, params)
        return [(r[0], r[1], float(r[2])) for r in await cursor.fetchall()]
