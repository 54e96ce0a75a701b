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

import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
import numpy as np

from singularity_mcp.search import _keyword

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

    from singularity_mcp.search._keyword import Term
    from singularity_mcp.search._searcher import Scope

# ~3.2 KB a chunk (the float32 vector sum 1.5 KB, the snippet up to 1.2 KB, ~24 postings, the row): 27 MB
# for the search benchmark's 8,566 chunks (tracemalloc), ~130 MB at most per process.
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
    tf: np.ndarray  # uint16 (a tsvector keeps at most 256 positions of a lexeme)
    flags: np.ndarray  # uint8
    words: np.ndarray  # float64, per row: the chunk's distinct words
    # The same entries in row order (row, term, tf, flags as above), to carry a row over to the next copy
    entries: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]

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
    digests: list[str]  # md5 of each row's two vectors: a row whose vectors changed is read again
    languages: np.ndarray  # str ('' for none)
    kinds: np.ndarray  # str
    masks: dict[str, np.ndarray] = field(default_factory=dict)  # sub-folder prefix -> rows under it

    def under(self, prefix: str) -> np.ndarray:
        mask = self.masks.get(prefix)
        if mask is None:
            mask = np.fromiter((c[3].startswith(prefix) for c in self.chunks), bool, len(self.chunks))
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
                cache.roots[root_id] = await _load(pool, root_id, generation, snippet_chars, held)
        return {root_id: cache.roots[root_id] for root_id in generations}


async def _load(
    pool: AsyncConnectionPool, root_id: int, generation: int, snippet_chars: int, previous: RootCopy | None
) -> RootCopy:
    """A root's copy, in one snapshot. Rows of the `previous` copy whose chunk is still there with the same
    vectors are carried over (a chunk's text never changes under its id; its file's size and mtime may,
    and are read for every row); the other rows are read whole: vectors in their binary form
    (`halfvec_send`), lexemes as tsvector text, parsed here. Reloading after an edit reads a few rows."""
    known = {} if previous is None else {cid: row for row, cid in enumerate(previous.ids.tolist())}
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # both statements agree
        cur = await conn.cursor(binary=True).execute(
            "SELECT c.id, f.size, f.mtime_ns, "
            "       md5(halfvec_send(c.embedding) || coalesce(halfvec_send(c.name_embedding), '')) "
            "FROM code_chunks c JOIN code_files f ON f.id = c.file_id "
            "WHERE c.root_id = %s AND c.embedding IS NOT NULL ORDER BY c.id",
            (root_id,),
        )
        current = await cur.fetchall()
        carried = {}
        if previous is not None:
            for i, (chunk_id, _, _, digest) in enumerate(current):
                row = known.get(chunk_id)
                if row is not None and previous.digests[row] == digest:
                    carried[i] = row
        fresh = await _rows(conn, [r[0] for i, r in enumerate(current) if i not in carried], snippet_chars)
        if carried and previous is not None and previous.named and not all(r[7] is not None for r in fresh):
            # carried rows hold name vectors, some new one has none: every row is read again, code alone
            carried, fresh = {}, await _rows(conn, [r[0] for r in current], snippet_chars)
    return _assemble(root_id, generation, current, carried, fresh, previous)


async def _rows(conn: AsyncConnection, ids: list[int], snippet_chars: int) -> list:
    """The chunks `ids` whole, in id order."""
    if not ids:
        return []
    cur = await conn.cursor(binary=True).execute(
        "SELECT c.id, c.file_id, c.rel_path, coalesce(c.language, ''), c.kind, c.symbol, "
        "       halfvec_send(c.embedding), halfvec_send(c.name_embedding), l.lexemes::text, "
        "       c.start_line, c.end_line, left(c.content, %s) "
        "FROM code_chunks c LEFT JOIN code_chunk_lexemes l ON l.chunk_id = c.id "
        "WHERE c.id = ANY(%s) ORDER BY c.id",
        (snippet_chars, ids),
    )
    return await cur.fetchall()


def _assemble(
    root_id: int,
    generation: int,
    current: list,
    carried: dict[int, int],
    fresh: list,
    previous: RootCopy | None,
) -> RootCopy:
    """The copy of `current` (id, size, mtime_ns, digest) rows: row i from the previous copy's row
    `carried[i]`, or else from `fresh` (whole rows, in id order)."""
    n = len(current)
    new_rows = np.array([i for i in range(n) if i not in carried], dtype=np.int64)
    old_at = np.array(sorted(carried), dtype=np.int64)
    old_rows = np.array([carried[i] for i in old_at], dtype=np.int64)
    code = _unit_rows([r[6] for r in fresh])
    # Every row has its name vector: the fresh ones say so themselves, the carried ones had it before.
    named_fresh = all(r[7] is not None and len(r[7]) == len(r[6]) for r in fresh)
    named = named_fresh and (previous is None or previous.named or not len(old_rows)) and n > 0
    if named and fresh:  # cosines are linear: one product with the sum scores both (half the reads)
        code += NAME_WEIGHT * _unit_rows([r[7] for r in fresh])
    dims = code.shape[1] if fresh else previous.vectors.shape[1] if previous is not None else 1
    vectors = np.empty((n, dims), dtype=np.float32)
    vectors[new_rows] = code
    chunks: list = [None] * n
    languages = np.empty(n, dtype=object)
    kinds = np.empty(n, dtype=object)
    if previous is not None and len(old_rows):
        vectors[old_at] = previous.vectors[old_rows]
        languages[old_at] = previous.languages[old_rows]
        kinds[old_at] = previous.kinds[old_rows]
        for i, row in carried.items():
            kept = previous.chunks[row]
            size, mtime = current[i][1], current[i][2]
            chunks[i] = kept if (kept[10], kept[11]) == (size, mtime) else (*kept[:10], size, mtime)
    for i, r in zip(new_rows.tolist(), fresh, strict=True):
        chunks[i] = (r[0], root_id, r[1], r[2], r[9], r[10], r[5], r[4], r[3] or None, r[11], current[i][1],
                     current[i][2])  # fmt: skip
        languages[i], kinds[i] = r[3], r[4]
    return RootCopy(
        generation=generation,
        ids=np.fromiter((r[0] for r in current), np.int64, n),
        vectors=vectors,
        named=named,
        postings=_postings(n, new_rows, [r[8] for r in fresh], old_at, old_rows, previous),
        chunks=chunks,
        digests=[r[3] for r in current],
        languages=languages,
        kinds=kinds,
    )


_ENTRY = re.compile(r"'((?:[^']|'')*)'(?::([0-9A-D,]+))?")  # a tsvector's 'lexeme':1A,5,7B (no letter: D)


def _postings(
    n: int,
    new_rows: np.ndarray,
    tsvectors: list[str | None],
    old_at: np.ndarray,
    old_rows: np.ndarray,
    previous: RootCopy | None,
) -> Postings:
    """CSR postings of `n` rows: the rows `new_rows` from their tsvectors (as text: per lexeme, its
    occurrences in the code, positions of weight D printed without a letter, and its flags, a position
    of weight A, B or C); the rows `old_at` carried over from the previous copy's rows `old_rows`."""
    terms = dict(previous.postings.terms) if previous is not None else {}
    lexemes: list[str] = []
    positions: list[str] = []
    words = np.zeros(n)
    counts = np.zeros(len(tsvectors), dtype=np.int64)
    for k, text in enumerate(tsvectors):
        entries = _ENTRY.findall(text) if text else []
        counts[k] = len(entries)
        lexemes += [e[0].replace("''", "'") for e in entries]
        positions += [e[1] for e in entries]
    words[new_rows] = counts
    counted = [(p.count("A"), p.count("B"), p.count("C"), p.count(",") + 1 if p else 0) for p in positions]
    parts = [
        (
            np.repeat(new_rows, counts).astype(np.int32),
            np.fromiter((terms.setdefault(x, len(terms)) for x in lexemes), np.int32, len(lexemes)),
            np.fromiter((every - a - b - c for a, b, c, every in counted), np.uint16, len(counted)),  # <= 256
            np.fromiter(
                ((NAME if a else 0) | (PATH if b else 0) | (EXACT if c else 0) for a, b, c, _ in counted),
                np.uint8,
                len(counted),
            ),
        )
    ]
    if previous is not None and len(old_rows):
        words[old_at] = previous.postings.words[old_rows]
        row_of, term_of, tf_of, flags_of = previous.postings.entries
        moved = np.full(len(previous.chunks), -1, dtype=np.int64)
        moved[old_rows] = old_at
        keep = moved[row_of] >= 0
        parts.append((moved[row_of[keep]].astype(np.int32), term_of[keep], tf_of[keep], flags_of[keep]))
    rows, term, tf, flags = (np.concatenate(column) for column in zip(*parts, strict=True))
    by_row = np.argsort(rows, kind="stable")
    rows, term, tf, flags = rows[by_row], term[by_row], tf[by_row], flags[by_row]
    order = np.argsort(term, kind="stable")
    return Postings(
        terms=terms,
        starts=np.searchsorted(term[order], np.arange(len(terms) + 1)),
        rows=rows[order],
        tf=tf[order],
        flags=flags[order],
        words=words,
        entries=(rows, term, tf, flags),
    )


def _unit_rows(blobs: list[bytes]) -> np.ndarray:
    """Vectors in pgvector's binary form (`halfvec_send`: int16 dimensions, int16 unused, then big-endian
    float16 values) as a float32 matrix with unit rows."""
    dims = int.from_bytes(blobs[0][:2], "big") if blobs else 1
    raw = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(len(blobs), 4 + 2 * dims)
    matrix = raw[:, 4:].copy().view(">f2").astype(np.float32)
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
    """The `limit` chunks in `scope` with the best keyword score over `terms` (`_keyword`), best first,
    ranked in two stages as the SQL statement ranks them: the FIRST_STAGE chunks with the highest summed
    IDF of the terms they hold, then their full score. `exact` is the strength of the strongest whole
    query identifier that is one of a hit's definitions' exact names."""
    k1, b, avg = _keyword.BM25_K1, _keyword.BM25_B, _keyword.AVERAGE_WORDS
    matching = []
    full: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for root_id, copy, mask in _in_scope(held, scope):
        p = copy.postings
        score = np.zeros(len(copy.ids))
        summed = np.zeros(len(copy.ids))
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
            summed[rows] += term.idf
            exact[rows] = np.maximum(exact[rows], named * term.whole)
            matched[rows] = True
        if mask is not None:
            matched &= mask
        rows = np.flatnonzero(matched)
        if len(rows):
            matching.append((root_id, copy, rows, summed[rows]))
            full[root_id] = (score, exact)
    first: dict[int, list[int]] = {}
    for hit in _best(matching, _keyword.FIRST_STAGE):
        first.setdefault(hit.root_id, []).append(hit.row)
    found = []
    for root_id, copy, _, _ in matching:
        if root_id in first:
            rows = np.array(sorted(first[root_id]), dtype=np.int64)
            found.append((root_id, copy, rows, full[root_id][0][rows]))
    hits = _best(found, limit)
    for hit in hits:
        hit.exact = int(full[hit.root_id][1][hit.row])
    return hits


def forget(pool: AsyncConnectionPool, root_ids: set[int]) -> None:
    """Drop the copies of roots that are gone (removed from the index)."""
    cache = _CACHES.get(pool)
    if cache is not None:
        for root_id in root_ids & set(cache.roots):
            del cache.roots[root_id]
