"""The embedding cache: vectors keyed by (model id, sha256 of the text) in PostgreSQL.

Identical texts within a call, across calls and across processes sharing the database are embedded
once; concurrent calls in one process wait for each other's in-flight texts instead of repeating them.
Vectors are stored at half precision (halfvec), so fresh ones are rounded the same way: a text gets the
same vector whether it came from the cache or not.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import anyio
import numpy as np
from pgvector import HalfVector
from psycopg_pool import AsyncConnectionPool

from singularity_mcp.embedding._embedder import _check_texts
from singularity_mcp.embedding._space import ensure_space

_SELECT = "SELECT text_sha256, embedding FROM embedding_cache WHERE model_id = %s AND text_sha256 = ANY(%s)"
_INSERT = (
    "INSERT INTO embedding_cache (model_id, text_sha256, embedding) VALUES (%s, %s, %s) "
    "ON CONFLICT (model_id, text_sha256) DO NOTHING"
)


@dataclass(eq=False)
class _Pending:
    done: anyio.Event = field(default_factory=anyio.Event)
    vector: np.ndarray | None = None


class TextEmbedder(Protocol):
    """What the cache needs of an embedder: the `Embedder` itself, or a wrapper around one."""

    @property
    def model_id(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    async def embed(self, texts: Sequence[str]) -> np.ndarray: ...


# Per embedder: digests being embedded right now by some call, so a concurrent call waits for them.
_in_flight: weakref.WeakKeyDictionary[TextEmbedder, dict[bytes, _Pending]] = weakref.WeakKeyDictionary()


def half_precision(vectors: np.ndarray) -> np.ndarray:
    """float32 vectors rounded as halfvec stores them (still float32)."""
    return vectors.astype(np.float16).astype(np.float32)


def text_digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


async def embed_cached(pool: AsyncConnectionPool, embedder: TextEmbedder, texts: Sequence[str]) -> np.ndarray:
    """Like `embedder.embed(texts)` (rounded to half precision), but each distinct text is looked up in
    (and added to) the cache. Refuses a database that holds another model's vectors (`ensure_space`)."""
    items = _check_texts(texts)
    out = np.empty((len(items), embedder.dimensions), dtype=np.float32)
    if not items:
        return out
    await ensure_space(pool, embedder.model_id, embedder.dimensions)
    digests = [text_digest(t) for t in items]
    first: dict[bytes, int] = {}
    for i, digest in enumerate(digests):
        first.setdefault(digest, i)
    found: dict[bytes, np.ndarray] = {}
    async with pool.connection() as conn:
        cursor = await conn.execute(_SELECT, (embedder.model_id, list(first)))
        for digest, vector in await cursor.fetchall():
            found[bytes(digest)] = vector.to_numpy().astype(np.float32)  # a pgvector HalfVector
    missing = [d for d in first if d not in found]
    if missing:
        found.update(await _embed_missing(pool, embedder, {d: items[first[d]] for d in missing}))
    for i, digest in enumerate(digests):
        out[i] = found[digest]
    return out


async def _embed_missing(
    pool: AsyncConnectionPool, embedder: TextEmbedder, texts: dict[bytes, str]
) -> dict[bytes, np.ndarray]:
    flying = _in_flight.setdefault(embedder, {})
    theirs = {d: flying[d] for d in texts if d in flying}
    mine = [d for d in texts if d not in theirs]
    claimed = {d: _Pending() for d in mine}
    flying.update(claimed)
    result: dict[bytes, np.ndarray] = {}
    try:
        if mine:
            vectors = half_precision(await embedder.embed([texts[d] for d in mine]))
            rows = [(embedder.model_id, d, HalfVector(v)) for d, v in zip(mine, vectors, strict=True)]
            async with pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
                await cursor.executemany(_INSERT, rows)
            for d, v in zip(mine, vectors, strict=True):
                result[d] = v
                claimed[d].vector = v
    finally:
        for d, pending in claimed.items():
            if flying.get(d) is pending:
                del flying[d]
            pending.done.set()
    retry = []
    for d, pending in theirs.items():
        await pending.done.wait()
        if pending.vector is None:  # the other call failed or was cancelled: do it here
            retry.append(d)
        else:
            result[d] = pending.vector
    if retry:
        result.update(await _embed_missing(pool, embedder, {d: texts[d] for d in retry}))
    return result
