"""Hybrid code search: keyword (BM25 over identifier-aware words, `_keyword`) + dense (the chunks' vectors),
fused with RRF. A root whose vectors are all there is searched from its copy in memory (`_memory`); a root
still being indexed, or a very large scope, through PostgreSQL (full-text GIN lookups, pgvector HNSW).

Before answering, the files of the hits are stat'ed: a changed file is re-indexed and the search re-run,
a deleted one is dropped from the index, so results never show code that is no longer there.
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from singularity_mcp._rows import one_row
from singularity_mcp.errors import InvalidInput, NotIndexed, check_text, quoted
from singularity_mcp.paths import AllowedRoots
from singularity_mcp.search import _keyword, _memory, _store
from singularity_mcp.search._files import prepare_file
from singularity_mcp.search._indexer import EmbedderFactory, embed_rows
from singularity_mcp.search._keyword import Term, choose_terms
from singularity_mcp.search._lexical import CAPITALISED, COMPOUND, lexical_text, whole_identifiers
from singularity_mcp.search.models import MAX_QUERY_CHARS, CodeHit, SearchResult

if TYPE_CHECKING:
    import numpy as np
    from psycopg_pool import AsyncConnectionPool

    from singularity_mcp.embedding import Embedder

MAX_TOP_K = 50
RRF_K = 10  # measured on benchmarks/search: 10 beat 30 and 60 (MRR@10 0.546 vs 0.535 / 0.532)
# The keyword list's weight in the fusion (the dense list's is 1). 1.5 helped (+0.0 to +0.01 dev) while the
# dense list was weak; once chunk vectors embed the definition alone, plain RRF of the two lists is as good
# or better on the dev half (0.528 vs 0.520 at 1.5; k 5 / 20 and weights 1.25 within +-0.01).
LEXICAL_WEIGHT = 1.0
# Chunks that declare data rather than behaviour (types, interfaces, structs, enums) and module-level code
# count less in the fusion: a question in words is mostly about what code does, and type-heavy code (a
# TypeScript types.ts of two thousand lines) otherwise crowds out the functions. An exact name match still
# puts any of them first. Dev half (480 queries): MRR@10 0.499 -> 0.511, no language down (weights
# 0.4-0.8 within 0.005; adding classes / impls / traits lost 0.03 in Rust).
DECLARATION_KINDS = frozenset({"type", "interface", "struct", "enum", "module"})
DECLARATION_WEIGHT = 0.6
SNIPPET_CHARS = 1200
SNIPPET_LINES = 40
# Code vectors of a general sentence model crowd together: at pgvector's default ef_search (40) the HNSW
# top 10 missed most of the exact top 10 on the benchmark (dense MRR@10 0.27 vs 0.45 for JavaScript);
# 400 recovers it (0.45) at a few milliseconds.
HNSW_EF_SEARCH = 400
EXACT_FIRST = COMPOUND  # exact-name hits of at least this strength go first

# A hit shows at most SNIPPET_CHARS of its chunk: read no more than that (and one more, to know it was cut).
_COLUMNS = (
    "c.id, c.root_id, c.file_id, c.rel_path, c.start_line, c.end_line, c.symbol, c.kind, c.language, "
    f"left(c.content, {SNIPPET_CHARS + 1})"
)


@dataclass(frozen=True, slots=True)
class Scope:
    """Which chunks a search looks at: whole roots, sub-folders of roots, a language, a kind."""

    roots: dict[int, str]  # root id -> absolute path, for every root that may contribute
    whole: tuple[int, ...]  # roots searched whole
    parts: tuple[tuple[int, str], ...]  # (root id, sub-folder relative to it, ending in "/")
    language: str | None
    kind: str | None  # chunk kind: function, method, class, module, text, ...
    filtered: bool  # whether any filter narrows the whole index (needs iterative index scans)


@dataclass(slots=True)
class Candidate:
    id: int
    root_id: int
    file_id: int
    rel_path: str
    start_line: int
    end_line: int
    symbol: str | None
    kind: str
    language: str | None
    content: str
    size: int
    mtime_ns: int
    score: float = 0.0
    exact: int = 0  # strength of the query identifier that is exactly a definition name in the chunk


async def resolve_scope(
    pool: AsyncConnectionPool,
    path: Path | None,
    language: str | None,
    kind: str | None = None,
    allowed: AllowedRoots | None = None,
) -> Scope:
    """The indexed chunks a query may look at: under `path` (an indexed root or a sub-folder of one) or,
    without `path`, every indexed root; in both cases only what lies inside the `allowed` roots, whatever
    the index holds (roots indexed earlier, or by another process on the same database). Also normalises
    the language and kind filters. Every query over the code index starts here and filters with
    `scope_sql`."""
    allowed = allowed or AllowedRoots()
    kind = kind.strip().lower() or None if kind else None
    lang = None
    if language:
        from singularity_mcp.analysis import normalize_language

        lang = normalize_language(language)
        if lang is None:
            raise InvalidInput(
                f"unknown language {quoted(language)}: use a name like python, javascript, typescript, go, "
                "rust, java"
            )
    indexed = await _store.list_roots(pool)  # longest path first: the innermost indexed root wins
    if path is None:
        roots: dict[int, str] = {}
        whole: list[int] = []
        parts: list[tuple[int, str]] = []
        for root in indexed:
            admitted = allowed.parts_of(root.path)
            if admitted == [Path(root.path)]:
                whole.append(root.id)
            elif admitted:
                parts += [(root.id, p.relative_to(root.path).as_posix() + "/") for p in admitted]
            else:
                continue
            roots[root.id] = root.path
        if not roots:
            where = " inside the allowed roots" if indexed else ""
            raise NotIndexed(
                f"nothing is indexed{where} yet: call index_codebase with the folder to search first",
                cli=f"nothing is indexed{where} yet: run `singularity-mcp index FOLDER` first",
            )
        narrowed = len(whole) < len(indexed)
        return Scope(roots, tuple(whole), tuple(parts), lang, kind, filtered=bool(lang or kind or narrowed))
    if not allowed.admits(path):  # callers resolve and check `path`; the boundary holds even if one did not
        raise InvalidInput(f"{quoted(str(path))} is outside the allowed roots ({allowed.describe()})")
    for root in indexed:
        root_path = Path(root.path)
        if path == root_path or path.is_relative_to(root_path):
            rel = path.relative_to(root_path).as_posix()
            if rel == ".":
                return Scope({root.id: root.path}, (root.id,), (), lang, kind, filtered=True)
            return Scope({root.id: root.path}, (), ((root.id, rel + "/"),), lang, kind, filtered=True)
    shown = ", ".join(r.path for r in indexed[:5] if allowed.admits(r.path))
    hint = f" (indexed: {shown})" if shown else ""
    raise NotIndexed(
        f"{quoted(str(path))} is not inside an indexed folder{hint}; call index_codebase on it first",
        cli=f"{quoted(str(path))} is not inside an indexed folder{hint}; "
        f"run `singularity-mcp index {quoted(str(path))}` first",
    )


def scope_sql(scope: Scope, params: list, alias: str = "c") -> str:
    """The conditions (each starting with " AND ") that keep a query over `alias` (a table with root_id,
    rel_path, language and kind columns) inside `scope`; their values are appended to `params`."""
    clauses = []
    if scope.filtered:
        areas = []
        if scope.whole:
            areas.append(f"{alias}.root_id = ANY(%s)")
            params.append(list(scope.whole))
        for root_id, prefix in scope.parts:
            areas.append(f"({alias}.root_id = %s AND starts_with({alias}.rel_path, %s))")
            params += [root_id, prefix]
        clauses.append("(" + " OR ".join(areas) + ")" if len(areas) > 1 else areas[0])
    if scope.language:
        clauses.append(f"{alias}.language = %s")
        params.append(scope.language)
    if scope.kind:
        clauses.append(f"{alias}.kind = %s")
        params.append(scope.kind)
    return "".join(f" AND {c}" for c in clauses)


async def _query_terms(pool: AsyncConnectionPool, scope: Scope, query: str) -> list[Term]:
    """The query's lexemes with their IDF over the scope's roots, rarest first; very common ones dropped."""
    words = lexical_text(query)
    if not words:
        return []
    wholes = whole_identifiers(query)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "WITH q AS (SELECT DISTINCT unnest(tsvector_to_array(to_tsvector('english', %s))) AS lexeme) "
            "SELECT q.lexeme, coalesce(sum(t.ndoc), 0)::int, "
            "       (SELECT coalesce(sum(chunks), 0)::int FROM code_roots WHERE id = ANY(%s)), "
            "       CASE WHEN q.lexeme = ANY(tsvector_to_array(to_tsvector('english', %s))) THEN %s"
            "            WHEN q.lexeme = ANY(tsvector_to_array(to_tsvector('english', %s))) THEN %s ELSE 0 END "
            "FROM q LEFT JOIN code_terms t ON t.lexeme = q.lexeme AND t.root_id = ANY(%s) GROUP BY q.lexeme",
            (
                words,
                list(scope.roots),
                " ".join(w for w, s in wholes if s == COMPOUND),
                COMPOUND,
                " ".join(w for w, s in wholes if s == CAPITALISED),
                CAPITALISED,
                list(scope.roots),
            ),
        )
        rows = await cur.fetchall()
    return choose_terms([(r[0], r[1], r[3]) for r in rows], max((r[2] for r in rows), default=0))


async def _lexical(pool: AsyncConnectionPool, scope: Scope, terms: list[Term], limit: int) -> list[Candidate]:
    """Two stages: the sum of matched terms' IDF from one GIN lookup per term (no tsvector is read),
    then the full score on the best few hundred: BM25 over the chunk's words, plus each matched term's
    IDF again when it is in a definition name (A), the path (B), or is a definition's exact name (C)."""
    if not terms:
        return []
    lookup_params: list = [[f"'{t.lexeme}'" for t in terms], [t.idf for t in terms]]
    filters = scope_sql(scope, lookup_params, "l")
    lookup = (
        "SELECT l.chunk_id AS id, sum(t.idf) AS score FROM unnest(%s::text[], %s::float8[]) AS t(q, idf) "
        "JOIN LATERAL (SELECT l.chunk_id FROM code_chunk_lexemes l "
        f"  WHERE l.lexemes @@ t.q::tsquery{filters}) l ON true "
        "GROUP BY l.chunk_id ORDER BY score DESC, l.chunk_id LIMIT %s"
    )
    # Per chunk and matched term: tf = its occurrences in the code (weight D), n = the chunk's distinct
    # words; BM25's saturation and length normalisation, then the name, path and exact-name bonuses.
    full = (
        "SELECT sum(t.idf * ("
        "  u.tf * (%(k1)s + 1) / (u.tf + %(k1)s * (1 - %(b)s + %(b)s * length(l.lexemes) / %(avg)s))"
        "  + %(name)s * u.a + %(path)s * u.b + %(exact)s * (t.whole > 0 AND u.c)::int)) AS score,"
        " coalesce(max(t.whole) FILTER (WHERE u.c), 0) AS exact "
        "FROM (SELECT v.lexeme, cardinality(array_positions(v.weights, 'D')) AS tf,"
        "             ('A' = ANY(v.weights))::int AS a, ('B' = ANY(v.weights))::int AS b,"
        "             'C' = ANY(v.weights) AS c"
        "      FROM unnest(l.lexemes) v WHERE v.lexeme = ANY(%(lexemes)s::text[])) u "
        "JOIN unnest(%(lexemes)s::text[], %(idfs)s::float8[], %(wholes)s::int[]) AS t(lexeme, idf, whole)"
        "  ON t.lexeme = u.lexeme"
    )
    values = {
        "k1": _keyword.BM25_K1, "b": _keyword.BM25_B, "avg": _keyword.AVERAGE_WORDS,
        "name": _keyword.SYMBOL_WEIGHT, "path": _keyword.PATH_WEIGHT, "exact": _keyword.EXACT_WEIGHT,
        "lexemes": [t.lexeme for t in terms], "idfs": [t.idf for t in terms], "wholes": [t.whole for t in terms],
    }  # fmt: skip
    sql = (
        f"WITH first AS ({lookup}) "
        f"SELECT {_COLUMNS}, f.size, f.mtime_ns, s.score, s.exact FROM first "
        "JOIN code_chunks c ON c.id = first.id JOIN code_chunk_lexemes l ON l.chunk_id = first.id "
        f"CROSS JOIN LATERAL ({full}) s JOIN code_files f ON f.id = c.file_id "
        "ORDER BY s.score DESC, c.id LIMIT %s"
    )
    # psycopg takes one placeholder style per statement: inline the named values as positional ones.
    names = re.findall(r"%\((\w+)\)s", sql)
    sql = re.sub(r"%\((\w+)\)s", "%s", sql)
    params = [*lookup_params, _keyword.FIRST_STAGE, *[values[n] for n in names], limit]
    async with pool.connection() as conn:
        cur = await conn.execute(sql, params)
        return [Candidate(*row) for row in await cur.fetchall()]


async def _dense(pool: AsyncConnectionPool, scope: Scope, vector: np.ndarray, limit: int) -> list[Candidate]:
    params: list = [vector]
    filters = scope_sql(scope, params)
    sql = (
        f"SELECT {_COLUMNS}, f.size, f.mtime_ns FROM ("
        f"  SELECT c.*, c.embedding <=> %s AS distance FROM code_chunks c"
        f"  WHERE c.embedding IS NOT NULL{filters} ORDER BY distance LIMIT %s"
        f") c JOIN code_files f ON f.id = c.file_id ORDER BY c.distance"
    )
    async with pool.connection() as conn, conn.transaction():
        # Per-transaction planner settings (never plain SET on pooled connections).
        await conn.execute(
            "SELECT set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', %s, true)",
            (str(max(HNSW_EF_SEARCH, limit)), "relaxed_order" if scope.filtered else "off"),
        )
        cur = await conn.execute(sql, [*params, limit])
        return [Candidate(*row) for row in await cur.fetchall()]


def remembered(copy: _memory.RootCopy, hit: _memory.Hit) -> Candidate:
    """A hit from a root's copy in memory as a candidate."""
    return Candidate(*copy.chunks[hit.row], hit.score, hit.exact)


def from_memory(
    held: dict[int, _memory.RootCopy], scope: Scope, terms: list[Term], vector: np.ndarray, limit: int
) -> list[Candidate]:
    """The ranking from the roots' copies in memory: both lists of `limit`, fused, exact names first,
    one hit per definition."""
    lists = [_memory.keyword(held, scope, terms, limit), _memory.nearest(held, scope, vector, limit)]
    found = [[remembered(held[h.root_id], h) for h in hits] for hits in lists]
    return collapse(promote_exact(fuse(found, k=RRF_K, weights=(LEXICAL_WEIGHT, 1.0))))


def fuse(
    lists: Sequence[Sequence[Candidate]], k: int = RRF_K, weights: Sequence[float] = ()
) -> list[Candidate]:
    """Reciprocal rank fusion: score = sum over lists of weight / (k + rank) (weights default to 1),
    times DECLARATION_WEIGHT for chunks of DECLARATION_KINDS."""
    merged: dict[int, Candidate] = {}
    scores: dict[int, float] = {}
    for i, ranked in enumerate(lists):
        weight = weights[i] if i < len(weights) else 1.0
        for rank, candidate in enumerate(ranked, start=1):
            merged.setdefault(candidate.id, candidate)
            prior = DECLARATION_WEIGHT if candidate.kind in DECLARATION_KINDS else 1.0
            scores[candidate.id] = scores.get(candidate.id, 0.0) + prior * weight / (k + rank)
    for chunk_id, candidate in merged.items():
        candidate.score = scores[chunk_id]
    return sorted(merged.values(), key=lambda c: (-c.score, c.id))


def promote_exact(candidates: list[Candidate]) -> list[Candidate]:
    """Definitions named exactly like an identifier of the query first, in their fused order: a name
    match is stronger evidence than any number of shared words (in whatever language)."""
    return sorted(candidates, key=lambda c: c.exact < EXACT_FIRST)


def collapse(candidates: list[Candidate]) -> list[Candidate]:
    """Keep one hit per definition: pieces of one split function/class collapse into the best one."""
    seen: set[tuple[int, str]] = set()
    out = []
    for c in candidates:
        if c.symbol:
            key = (c.file_id, c.symbol)
            if key in seen:
                continue
            seen.add(key)
        out.append(c)
    return out


def _snippet(content: str) -> str:
    lines = content.split("\n")
    cut = len(lines) > SNIPPET_LINES or len(content) > SNIPPET_CHARS
    text = "\n".join(lines[:SNIPPET_LINES])[:SNIPPET_CHARS]
    return text + "\n… (trimmed; read the file for the rest)" if cut else text


def _stale(roots: dict[int, str], hits: list[Candidate]) -> tuple[set[tuple[int, str]], set[tuple[int, str]]]:
    """(changed, deleted) files among the hits, by size and mtime; a file that is no longer a regular file
    (say, swapped for a symlink) counts as changed, and re-reading it refuses it."""
    changed, deleted = set(), set()
    for hit in hits:
        key = (hit.root_id, hit.rel_path)
        if key in changed or key in deleted:
            continue
        try:
            info = os.lstat(os.path.join(roots[hit.root_id], hit.rel_path))
        except (OSError, ValueError):
            deleted.add(key)
            continue
        if not stat.S_ISREG(info.st_mode) or info.st_size != hit.size or info.st_mtime_ns != hit.mtime_ns:
            changed.add(key)
    return changed, deleted


async def refresh_files(
    pool: AsyncConnectionPool,
    embedder: EmbedderFactory,
    roots: dict[int, str],
    changed: set[tuple[int, str]],
    deleted: set[tuple[int, str]],
    allowed: AllowedRoots | None = None,
) -> None:
    """Re-index changed files (chunks and vectors) and drop deleted ones, each file in one transaction.
    A file that can no longer be read inside its root and the `allowed` roots is dropped."""
    prepared = []
    for root_id, rel in sorted(changed):
        f = await anyio.to_thread.run_sync(prepare_file, Path(roots[root_id]), rel, None, True, allowed)
        if f.skipped:
            deleted.add((root_id, rel))
        else:
            prepared.append((root_id, f))
    async with _store.writing(pool, *{root_id for root_id, _ in deleted | changed}) as conn:
        for root_id, rel in deleted:
            await _store.delete_files(conn, root_id, [rel])
        for root_id, f in prepared:
            await _store.write_files(conn, root_id, [f])
    if prepared:
        await _embed_files(pool, embedder, [(root_id, f.rel_path) for root_id, f in prepared])


async def _embed_files(
    pool: AsyncConnectionPool, embedder_factory: EmbedderFactory, files: list[tuple[int, str]]
) -> None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT c.id, c.rel_path, c.symbol, c.kind, "
            "       CASE WHEN c.embedding IS NULL THEN coalesce(c.embed_text, c.content) END FROM code_chunks c "
            "JOIN unnest(%s::bigint[], %s::text[]) AS w(root_id, rel_path) "
            "  ON c.root_id = w.root_id AND c.rel_path = w.rel_path "
            "WHERE c.embedding IS NULL OR c.name_embedding IS NULL",
            ([r for r, _ in files], [p for _, p in files]),
        )
        rows = await cur.fetchall()
    if rows:
        embedder = await embedder_factory()
        vectors, names = await embed_rows(pool, embedder, embedder, rows)
        await _store.store_vectors(pool, [r[0] for r in rows], vectors, names)


def check_top_k(top_k: int) -> int:
    if not 1 <= top_k <= MAX_TOP_K:
        raise InvalidInput(f"top_k must be between 1 and {MAX_TOP_K} (got {top_k})")
    return top_k


def check_query(query: str) -> str:
    """The query, stripped; refused when empty, longer than `MAX_QUERY_CHARS` or not storable text."""
    query = query.strip()
    if not query:
        raise InvalidInput("query is empty: describe the code you are looking for, or name a symbol")
    check_text("query", query, MAX_QUERY_CHARS)
    return query


async def search_code(
    pool: AsyncConnectionPool,
    embedder: EmbedderFactory,
    query: str,
    *,
    path: Path | None = None,
    language: str | None = None,
    kind: str | None = None,
    top_k: int = 10,
    fresh: bool = True,
    allowed: AllowedRoots | None = None,
) -> SearchResult:
    """Search the indexed code. `path` (absolute, resolved) limits hits to a root or a sub-folder of one;
    `allowed` (see `singularity_mcp.paths.allowed_roots`) limits them to the allowed roots, whatever the
    index holds, and files are re-read only inside them."""
    started = time.perf_counter()
    query = check_query(query)
    check_top_k(top_k)
    outcome: list[tuple[Scope, list[Candidate], float | None, list[str]] | Exception] = []
    async with anyio.create_task_group() as tg:
        if _QUERY_VECTORS:  # the model is loaded: the query's forward pass overlaps finding the scope
            tg.start_soon(_query_vector, await embedder(), query)
        try:
            outcome.append(await _search(pool, embedder, query, path, language, kind, top_k, fresh, allowed))
        except Exception as exc:  # raised as itself, not inside the task group's exception group
            outcome.append(exc)
    if isinstance(outcome[0], Exception):
        raise outcome[0]
    scope, hits, coverage, notes = outcome[0]
    if coverage is not None and coverage < 1.0:
        notes.append(
            f"dense vectors cover {coverage:.0%} of the searched chunks (indexing still fills them in); "
            "ranking leans on keyword matches until then"
        )
    results = [
        CodeHit(
            path=os.path.join(scope.roots[h.root_id], h.rel_path),
            start_line=h.start_line,
            end_line=h.end_line,
            symbol=h.symbol,
            symbol_kind=h.kind,
            language=h.language,
            score=round(h.score, 6),
            snippet=_snippet(h.content),
        )
        for h in hits[:top_k]
    ]
    return SearchResult(
        results=results,
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        dense_coverage=coverage,
        notes=notes,
    )


async def _search(
    pool: AsyncConnectionPool,
    embedder: EmbedderFactory,
    query: str,
    path: Path | None,
    language: str | None,
    kind: str | None,
    top_k: int,
    fresh: bool,
    allowed: AllowedRoots | None,
) -> tuple[Scope, list[Candidate], float | None, list[str]]:
    """The scope, the hits (fresh: files changed on disk re-indexed first), dense coverage and notes."""
    scope = await resolve_scope(pool, path, language, kind, allowed)
    notes: list[str] = []
    hits, coverage = await _search_once(pool, embedder, scope, query, top_k)
    if fresh:
        changed, deleted = await anyio.to_thread.run_sync(_stale, scope.roots, hits)
        if changed or deleted:
            await refresh_files(pool, embedder, scope.roots, changed, deleted, allowed)
            notes.append(
                f"re-indexed {len(changed)} changed and dropped {len(deleted)} deleted file(s) first"
            )
            hits, coverage = await _search_once(pool, embedder, scope, query, top_k)
            changed, deleted = await anyio.to_thread.run_sync(_stale, scope.roots, hits)
            hits = [h for h in hits if (h.root_id, h.rel_path) not in changed | deleted]
    return scope, hits, coverage, notes


_QUERY_VECTORS: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_IN_FLIGHT: dict[tuple[str, str], anyio.Event] = {}
QUERY_CACHE_SIZE = 512


async def _query_vector(embedder: Embedder, query: str) -> np.ndarray:
    """The query's vector; repeated queries (an assistant often re-asks) skip the model."""
    key = (embedder.model_id, query)
    if key not in _QUERY_VECTORS and key in _IN_FLIGHT:  # started by this search, ahead of the scope
        await _IN_FLIGHT[key].wait()
    vector = _QUERY_VECTORS.get(key)
    if vector is not None:
        _QUERY_VECTORS.move_to_end(key)
        return vector
    done = _IN_FLIGHT[key] = anyio.Event()
    try:
        vector = (await embedder.embed([query]))[0]
    finally:
        del _IN_FLIGHT[key]
        done.set()
    _QUERY_VECTORS[key] = vector
    while len(_QUERY_VECTORS) > QUERY_CACHE_SIZE:
        _QUERY_VECTORS.popitem(last=False)
    return vector


async def _search_once(
    pool: AsyncConnectionPool, embedder_factory: EmbedderFactory, scope: Scope, query: str, top_k: int
) -> tuple[list[Candidate], float | None]:
    """One search: the query's terms, the roots' counts and the query's vector concurrently; then both
    lists from the roots' copies in memory when every vector is there, else through PostgreSQL."""
    limit = max(50, 3 * top_k)
    terms: list[Term] = []
    vector: np.ndarray | None = None
    total = pending = 0
    generations: dict[int, int] = {}

    async def query_terms() -> None:
        nonlocal terms
        terms = await _query_terms(pool, scope, query)

    async def count() -> None:
        nonlocal total, pending, generations
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT coalesce(sum(chunks), 0)::int, "
                "(SELECT count(*)::int FROM code_chunks WHERE root_id = ANY(%s) AND embedding IS NULL), "
                "coalesce(array_agg(id), '{}'), coalesce(array_agg(generation), '{}') "
                "FROM code_roots WHERE id = ANY(%s)",
                (list(scope.roots), list(scope.roots)),
            )
            total, pending, root_ids, counters = await one_row(cur)
            generations = dict(zip(root_ids, counters, strict=True))

    async def query_vector() -> None:
        nonlocal vector
        vector = await _query_vector(await embedder_factory(), query)

    async with anyio.create_task_group() as tg:
        tg.start_soon(query_terms)
        tg.start_soon(count)
        if _QUERY_VECTORS:  # the model is loaded: its forward pass overlaps the statistics
            tg.start_soon(query_vector)
    coverage = None if not total else max(0.0, 1.0 - pending / total)
    embedded = not total or pending < total  # nothing embedded yet: no model load on the query path
    if vector is None and embedded:
        await query_vector()
    if vector is not None and pending == 0 and total <= _memory.MAX_CACHED_CHUNKS:
        held = await _memory.copies(pool, generations, SNIPPET_CHARS + 1)
        return from_memory(held, scope, terms, vector, limit)[: top_k * 2], coverage
    lexical: list[Candidate] = []
    dense: list[Candidate] = []

    async def run_lexical() -> None:
        nonlocal lexical
        lexical = await _lexical(pool, scope, terms, limit)

    async def run_dense() -> None:
        nonlocal dense
        if vector is not None and embedded:
            dense = await _dense(pool, scope, vector, limit)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run_lexical)
        tg.start_soon(run_dense)
    fused = fuse([lexical, dense], weights=(LEXICAL_WEIGHT, 1.0)) if dense else lexical
    if not dense:
        for rank, c in enumerate(fused, start=1):
            c.score = 1.0 / (RRF_K + rank)
    return collapse(promote_exact(fused))[: top_k * 2], coverage
