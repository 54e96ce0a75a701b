"""A complete root's index in memory: its chunk vectors and keyword postings, loaded once per generation.

Through PostgreSQL a search pays a keyword query (GIN lookups, then the full score of the best candidates:
5-10 ms on two cores) and, through pgvector's HNSW index, a dense query that needs `ef_search` 400 for its
recall on code (6-10 ms). Over a root's rows in memory both are exact and take about a millisecond: the
dense side is a matrix product, the keyword side sums each query term's postings into a score per chunk
(the same score as the SQL statement, `_keyword`). A root's copy is loaded when a search first needs it and
reloaded when its `generation` (moved by every transaction that writes its chunks or vectors, sql/0010) is
no longer the one loaded, so several processes on one database stay coherent. Roots still filling in
vectors, and scopes over more than `MAX_CACHED_CHUNKS` chunks, are searched through PostgreSQL instead.

Each chunk has a second vector, of its name in words (sql/0011); from memory, a chunk's dense score is the
cosine of its code plus NAME_WEIGHT times the cosine of its name.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
import numpy as np

from singularity_mcp.search import _keyword

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

    from singularity_mcp.search._keyword import Term
    from singularity_mcp.search._searcher import Scope

# float32 vectors (384 dimensions, two a chunk) and ~60 postings a chunk: ~150 MB at most, per process
MAX_CACHED_CHUNKS = 40_000
# A chunk's score is the cosine of its code's vector plus this times the cosine of its name's (in words,
# `_files.name_text`). Dev half of benchmarks/search (480 queries, with the declaration prior): MRR@10
# 0.511 -> 0.525, no language down; 0.1 and 0.3 within 0.003.
NAME_WEIGHT = 0.2
_MASKS_KEPT = 16  # sub-folder masks remembered per root
NAME, PATH, EXACT = 1, 2, 4  # a posting's flags: the term is in a definition's name, the path, an exact name


# (id, root id, file id, path, start line, end line, symbol, kind, language, content head, size, mtime_ns)
ChunkRow = tuple[int, int, int, str, int, int, str | None, str, str | None, str, int, int]


@dataclass(slots=True)
class Postings:
    """Per lexeme, the rows of the chunks holding it (CSR: `rows[starts[t]:starts[t + 1]]` for term t),
    with the term's occurrences in the code and its flags there."""

    terms: dict[str, int]
    starts: np.ndarray  # int64, len(terms) + 1
    rows: np.ndarray  # int32
    tf: np.ndarray  # float64
    flags: np.ndarray  # uint8
    words: np.ndarray  # float64, per row: the chunk's distinct words

    def of(self, lexeme: str) -> slice | None:
        t = self.terms.get(lexeme)
        return None if t is None else slice(int(self.starts[t]), int(self.starts[t + 1]))


@dataclass(slots=True)
class RootCopy:
    generation: int
    ids: np.ndarray  # int64, one per embedded chunk, ascending
    vectors: np.ndarray  # float32: unit code vector + NAME_WEIGHT * unit name vector, one row a chunk
    named: bool  # whether the rows hold the name vectors (every chunk has one)
    postings: Postings
    # Per row, the chunk as a search answers it: (id, root id, file id, path, start line, end line, symbol,
    # kind, language, the head of its content, its file's size and mtime_ns when read, to catch edits).
    chunks: list[ChunkRow]
    rel_paths: list[str]
    languages: np.ndarray  # str ('' for none)
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


@dataclass(slots=True)
class Hit:
    """A chunk found in memory: its root's copy and row there (which hold the rest of it), its score."""

    root_id: int
    row: int
    score: float
    exact: int = 0


class _Cache:
    """The copies of one database's roots, in this process."""

    def __init__(self) -> None:
        self.roots: dict[int, RootCopy] = {}
        self.lock = anyio.Lock()


_CACHES: weakref.WeakKeyDictionary[AsyncConnectionPool, _Cache] = weakref.WeakKeyDictionary()


async def copies(
    pool: AsyncConnectionPool, generations: dict[int, int], snippet_chars: int
) -> dict[int, RootCopy]:
    """The in-memory copies of the roots in `generations` (root id -> its current generation, read with
    the search's other statistics), holding the first `snippet_chars` of each chunk; copies of an older
    generation are reloaded first."""
    cache = _CACHES.get(pool)
    if cache is None:
        cache = _CACHES[pool] = _Cache()
    async with cache.lock:  # one load at a time; searches of loaded roots pass straight through
        for root_id, generation in generations.items():
            held = cache.roots.get(root_id)
            if held is None or held.generation != generation:
                cache.roots[root_id] = await _load(pool, root_id, generation, snippet_chars)
        return {root_id: cache.roots[root_id] for root_id in generations}


async def _load(pool: AsyncConnectionPool, root_id: int, generation: int, snippet_chars: int) -> RootCopy:
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # chunks and postings agree
        cur = conn.cursor(binary=True)  # vectors arrive as float16 bytes, not text to parse
        await cur.execute(
            "SELECT c.id, c.file_id, c.rel_path, coalesce(c.language, ''), c.kind, c.symbol, c.embedding, "
            "       c.name_embedding, coalesce(length(l.lexemes), 0), c.start_line, c.end_line, "
            "       left(c.content, %s), f.size, f.mtime_ns "
            "FROM code_chunks c JOIN code_files f ON f.id = c.file_id "
            "LEFT JOIN code_chunk_lexemes l ON l.chunk_id = c.id "
            "WHERE c.root_id = %s AND c.embedding IS NOT NULL ORDER BY c.id",
            (snippet_chars, root_id),
        )
        rows = await cur.fetchall()
        await cur.execute(
            "SELECT l.chunk_id, u.lexeme, cardinality(array_positions(u.weights, 'D')), "
            "       ('A' = ANY(u.weights))::int * %s + ('B' = ANY(u.weights))::int * %s "
            "       + ('C' = ANY(u.weights))::int * %s "
            "FROM code_chunk_lexemes l CROSS JOIN LATERAL unnest(l.lexemes) u WHERE l.root_id = %s",
            (NAME, PATH, EXACT, root_id),
        )
        postings = await cur.fetchall()
    ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    vectors = _unit_rows([r[6] for r in rows])
    names = _unit_rows([r[7] for r in rows]) if rows and all(r[7] is not None for r in rows) else None
    named = names is not None and names.shape == vectors.shape
    if (
        names is not None and named
    ):  # cosines are linear: one product with the sum scores both (memory-bound: half the reads)
        vectors += NAME_WEIGHT * names
    return RootCopy(
        generation=generation,
        ids=ids,
        vectors=vectors,
        named=named,
        postings=_postings(ids, np.fromiter((r[8] for r in rows), np.float64, len(rows)), postings),
        chunks=[
            (r[0], root_id, r[1], r[2], r[9], r[10], r[5], r[4], r[3] or None, r[11], r[12], r[13])
            for r in rows
        ],
        rel_paths=[r[2] for r in rows],
        languages=np.array([r[3] for r in rows], dtype=object),
        kinds=np.array([r[4] for r in rows], dtype=object),
    )


def _postings(ids: np.ndarray, words: np.ndarray, found: list[tuple[int, str, int, int]]) -> Postings:
    """CSR postings from (chunk id, lexeme, occurrences in the code, flags) rows; chunks not in `ids`
    (none, inside one snapshot) are left out."""
    n = len(found)
    chunk_ids = np.fromiter((f[0] for f in found), np.int64, n)
    terms: dict[str, int] = {}
    term = np.fromiter((terms.setdefault(f[1], len(terms)) for f in found), np.int64, n)
    tf = np.fromiter((f[2] for f in found), np.float64, n)
    flags = np.fromiter((f[3] for f in found), np.uint8, n)
    rows = np.searchsorted(ids, chunk_ids)
    known = rows < len(ids)
    known[known] = ids[rows[known]] == chunk_ids[known]
    order = np.argsort(term[known], kind="stable")
    term = term[known][order]
    return Postings(
        terms=terms,
        starts=np.searchsorted(term, np.arange(len(terms) + 1)),
        rows=rows[known][order].astype(np.int32),
        tf=tf[known][order],
        flags=flags[known][order],
        words=words,
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


def _in_scope(held: dict[int, RootCopy], scope: Scope) -> Iterator[tuple[int, RootCopy, np.ndarray | None]]:
    """(root id, copy, the rows in `scope` or None for all of them) for every copy with rows in scope."""
    prefixes: dict[int, list[str]] = {}
    for root_id, prefix in scope.parts:
        prefixes.setdefault(root_id, []).append(prefix)
    for root_id, copy in held.items():
        if not len(copy.ids):
            continue
        mask: np.ndarray | None = None
        if root_id in prefixes:
            mask = np.logical_or.reduce([copy.under(p) for p in prefixes[root_id]])
        elif root_id not in scope.whole:
            continue
        for column, wanted in ((copy.languages, scope.language), (copy.kinds, scope.kind)):
            if wanted:
                mask = column == wanted if mask is None else mask & (column == wanted)
        if mask is None or mask.any():
            yield root_id, copy, mask


def _best(found: list[tuple[int, RootCopy, np.ndarray, np.ndarray]], limit: int) -> list[Hit]:
    """The `limit` best of (root id, copy, rows, their scores), best first, ties by chunk id."""
    if not found:
        return []
    scores = np.concatenate([s for _, _, _, s in found])
    ids = np.concatenate([c.ids[r] for _, c, r, _ in found])
    where = np.concatenate([np.full(len(r), i) for i, (_, _, r, _) in enumerate(found)])
    rows = np.concatenate([r for _, _, r, _ in found])
    top = np.argpartition(-scores, limit)[:limit] if len(scores) > limit else np.arange(len(scores))
    return [
        Hit(found[where[i]][0], int(rows[i]), float(scores[i]))
        for i in top[np.lexsort((ids[top], -scores[top]))]
    ]


def nearest(held: dict[int, RootCopy], scope: Scope, vector: np.ndarray, limit: int) -> list[Hit]:
    """The `limit` chunks in `scope` nearest to `vector` (exact cosine, plus the name's), best first."""
    query = np.asarray(vector, dtype=np.float32)
    query = query / (np.linalg.norm(query) or 1.0)
    found = []
    for root_id, copy, mask in _in_scope(held, scope):
        if mask is None:  # the whole matrix, not a copy of it
            rows, score = np.arange(len(copy.ids)), copy.vectors @ query
        else:
            rows = np.flatnonzero(mask)
            score = copy.vectors[rows] @ query
        found.append((root_id, copy, rows, score))
    return _best(found, limit)


def keyword(held: dict[int, RootCopy], scope: Scope, terms: list[Term], limit: int) -> list[Hit]:
    """The `limit` chunks in `scope` with the best keyword score over `terms` (`_keyword`), best first;
    every chunk holding a term is scored, and `exact` is the strength of the strongest whole query
    identifier that is one of its definitions' exact names."""
    k1, b, avg = _keyword.BM25_K1, _keyword.BM25_B, _keyword.AVERAGE_WORDS
    found = []
    exact_of: dict[int, np.ndarray] = {}
    for root_id, copy, mask in _in_scope(held, scope):
        p = copy.postings
        score = np.zeros(len(copy.ids))
        exact = np.zeros(len(copy.ids), np.int8)
        matched = np.zeros(len(copy.ids), bool)
        for term in terms:
            span = p.of(term.lexeme)
            if span is None:
                continue
            rows, tf, flags = p.rows[span], p.tf[span], p.flags[span]
            named = (flags & EXACT) > 0 if term.whole else np.zeros(len(rows), bool)
            score[rows] += term.idf * (
                tf * (k1 + 1) / (tf + k1 * (1 - b + b * p.words[rows] / avg))
                + _keyword.SYMBOL_WEIGHT * ((flags & NAME) > 0)
                + _keyword.PATH_WEIGHT * ((flags & PATH) > 0)
                + _keyword.EXACT_WEIGHT * named
            )
            exact[rows] = np.maximum(exact[rows], named * term.whole)
            matched[rows] = True
        if mask is not None:
            matched &= mask
        rows = np.flatnonzero(matched)
        if len(rows):
            found.append((root_id, copy, rows, score[rows]))
            exact_of[root_id] = exact
    hits = _best(found, limit)
    for hit in hits:
        hit.exact = int(exact_of[hit.root_id][hit.row])
    return hits


def forget(pool: AsyncConnectionPool, root_ids: set[int]) -> None:
    """Drop the copies of roots that are gone (removed from the index)."""
    cache = _CACHES.get(pool)
    if cache is not None:
        for root_id in root_ids & set(cache.roots):
            del cache.roots[root_id]
