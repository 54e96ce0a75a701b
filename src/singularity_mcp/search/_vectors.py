"""Exact dense search from memory: a root's chunk vectors, loaded once per generation.

Through pgvector's HNSW index the dense side needs `ef_search` 400 for its recall on code (see
`_searcher.HNSW_EF_SEARCH`) and costs 6-10 ms a query on two cores; a matrix product over a root's
vectors (a few thousand to tens of thousands of rows) is exact and takes about a millisecond. A root's
vectors are loaded when a search first needs them and reloaded when its `generation` (moved by every
transaction that writes its chunks or vectors, sql/0010) is no longer the one loaded, so several
processes on one database stay coherent. Roots still filling in vectors, and scopes over more than
`MAX_CACHED_CHUNKS` chunks, go through the HNSW index instead.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
import numpy as np

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

    from singularity_mcp.search._searcher import Scope

MAX_CACHED_CHUNKS = 60_000  # float32, 384 dimensions: ~90 MB at most, per process
_MASKS_KEPT = 16  # sub-folder masks remembered per root


@dataclass(slots=True)
class RootVectors:
    generation: int
    ids: np.ndarray  # int64, one per embedded chunk
    matrix: np.ndarray  # float32, unit rows
    rel_paths: list[str]
    languages: np.ndarray  # str
    kinds: np.ndarray  # str
    masks: dict[str, np.ndarray] = field(default_factory=dict)  # sub-folder prefix -> rows under it

    def under(self, prefix: str) -> np.ndarray:
        mask = self.masks.get(prefix)
        if mask is None:
            mask = np.fromiter((p.startswith(prefix) for p in self.rel_paths), bool, len(self.rel_paths))
            if len(self.masks) >= _MASKS_KEPT:
                self.masks.pop(next(iter(self.masks)))
            self.masks[prefix] = mask
        return mask


class _Cache:
    """The vectors of one database's roots, in this process."""

    def __init__(self) -> None:
        self.roots: dict[int, RootVectors] = {}
        self.lock = anyio.Lock()


_CACHES: weakref.WeakKeyDictionary[AsyncConnectionPool, _Cache] = weakref.WeakKeyDictionary()


async def _load(pool: AsyncConnectionPool, root_id: int, generation: int) -> RootVectors:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, rel_path, coalesce(language, ''), kind, embedding FROM code_chunks "
            "WHERE root_id = %s AND embedding IS NOT NULL ORDER BY id",
            (root_id,),
        )
        rows = await cur.fetchall()
    dims = len(rows[0][4].to_list()) if rows else 1
    matrix = np.empty((len(rows), dims), dtype=np.float32)
    for i, row in enumerate(rows):
        matrix[i] = row[4].to_numpy()
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix /= np.where(norms > 0, norms, 1.0)
    return RootVectors(
        generation=generation,
        ids=np.fromiter((r[0] for r in rows), np.int64, len(rows)),
        matrix=matrix,
        rel_paths=[r[1] for r in rows],
        languages=np.array([r[2] for r in rows], dtype=object),
        kinds=np.array([r[3] for r in rows], dtype=object),
    )


async def nearest(
    pool: AsyncConnectionPool, scope: Scope, generations: dict[int, int], vector: np.ndarray, limit: int
) -> list[int]:
    """The ids of the `limit` chunks in `scope` nearest to `vector` (exact cosine), best first.
    `generations` is the current generation of every root in the scope (read with the search's other
    statistics); roots whose copy is older are reloaded first."""
    cache = _CACHES.get(pool)
    if cache is None:
        cache = _CACHES[pool] = _Cache()
    async with cache.lock:  # one load at a time; searches of loaded roots pass straight through
        for root_id, generation in generations.items():
            held = cache.roots.get(root_id)
            if held is None or held.generation != generation:
                cache.roots[root_id] = await _load(pool, root_id, generation)
    query = np.asarray(vector, dtype=np.float32)
    query = query / (np.linalg.norm(query) or 1.0)
    prefixes: dict[int, list[str]] = {}
    for root_id, prefix in scope.parts:
        prefixes.setdefault(root_id, []).append(prefix)
    scores: list[np.ndarray] = []
    ids: list[np.ndarray] = []
    for root_id in generations:
        held = cache.roots[root_id]
        if not len(held.ids):
            continue
        mask: np.ndarray | None = None
        if root_id in prefixes:
            mask = np.logical_or.reduce([held.under(p) for p in prefixes[root_id]])
        elif root_id not in scope.whole:
            continue
        for column, wanted in ((held.languages, scope.language), (held.kinds, scope.kind)):
            if wanted:
                mask = column == wanted if mask is None else mask & (column == wanted)
        if mask is None:
            scores.append(held.matrix @ query)
            ids.append(held.ids)
        elif mask.any():
            scores.append(held.matrix[mask] @ query)
            ids.append(held.ids[mask])
    if not scores:
        return []
    every = np.concatenate(scores)
    every_id = np.concatenate(ids)
    top = np.argpartition(-every, limit)[:limit] if len(every) > limit else np.arange(len(every))
    order = top[np.lexsort((every_id[top], -every[top]))]
    return [int(i) for i in every_id[order]]


def forget(pool: AsyncConnectionPool, root_ids: set[int]) -> None:
    """Drop the copies of roots that are gone (removed from the index)."""
    cache = _CACHES.get(pool)
    if cache is not None:
        for root_id in root_ids & set(cache.roots):
            del cache.roots[root_id]
