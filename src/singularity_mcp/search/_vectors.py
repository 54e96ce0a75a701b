"""Exact dense search from memory: a root's chunk vectors, loaded once per generation.

Through pgvector's HNSW index the dense side needs `ef_search` 400 for its recall on code (see
`_searcher.HNSW_EF_SEARCH`) and costs 6-10 ms a query on two cores; a matrix product over a root's
vectors (a few thousand to tens of thousands of rows) is exact and takes about a millisecond. A root's
vectors are loaded when a search first needs them and reloaded when its `generation` (moved by every
transaction that writes its chunks or vectors, sql/0010) is no longer the one loaded, so several
processes on one database stay coherent. Roots still filling in vectors, and scopes over more than
`MAX_CACHED_CHUNKS` chunks, go through the HNSW index instead (code vectors alone).

Each chunk has a second vector, of its name in words (sql/0011); from memory, a chunk scores the cosine of
its code plus NAME_WEIGHT times the cosine of its name.
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

MAX_CACHED_CHUNKS = 40_000  # float32, 384 dimensions, two vectors a chunk: ~120 MB at most, per process
# A chunk's score is the cosine of its code's vector plus this times the cosine of its name's (in words,
# `_files.name_text`). Dev half of benchmarks/search (480 queries, with the declaration prior): MRR@10
# 0.511 -> 0.525, no language down; 0.1 and 0.3 within 0.003.
NAME_WEIGHT = 0.2
_MASKS_KEPT = 16  # sub-folder masks remembered per root


@dataclass(slots=True)
class RootVectors:
    generation: int
    ids: np.ndarray  # int64, one per embedded chunk
    matrix: np.ndarray  # float32, unit rows
    names: np.ndarray | None  # the same for the name vectors; None until every chunk has one
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
    async with pool.connection() as conn:  # binary: vectors arrive as float16 bytes, not text to parse
        cur = await conn.cursor(binary=True).execute(
            "SELECT id, rel_path, coalesce(language, ''), kind, embedding, name_embedding FROM code_chunks "
            "WHERE root_id = %s AND embedding IS NOT NULL ORDER BY id",
            (root_id,),
        )
        rows = await cur.fetchall()
    matrix = _unit_rows([r[4] for r in rows])
    names = _unit_rows([r[5] for r in rows]) if rows and all(r[5] is not None for r in rows) else None
    return RootVectors(
        generation=generation,
        ids=np.fromiter((r[0] for r in rows), np.int64, len(rows)),
        matrix=matrix,
        names=names if names is not None and names.shape == matrix.shape else None,
        rel_paths=[r[1] for r in rows],
        languages=np.array([r[2] for r in rows], dtype=object),
        kinds=np.array([r[3] for r in rows], dtype=object),
    )


def _unit_rows(vectors: list) -> np.ndarray:
    """pgvector values as a float32 matrix with unit rows."""
    dims = len(vectors[0].to_list()) if vectors else 1
    matrix = np.empty((len(vectors), dims), dtype=np.float32)
    for i, vector in enumerate(vectors):
        matrix[i] = vector.to_numpy()
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix /= np.where(norms > 0, norms, 1.0)
    return matrix


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
        if mask is not None and not mask.any():
            continue
        rows = slice(None) if mask is None else mask
        score = held.matrix[rows] @ query
        if held.names is not None:
            score += NAME_WEIGHT * (held.names[rows] @ query)
        scores.append(score)
        ids.append(held.ids[rows])
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
