"""Symbol navigation over the index: find a definition by name, find every reference to a name.

Like code search, results are checked against the files on disk first (`_stale`): a changed file is
re-indexed (chunks, vectors and symbols, in one transaction) and the query re-run; a deleted one dropped.
"""

from __future__ import annotations

import difflib
import os
import re
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import anyio
import anyio.to_thread

from singularity_mcp.errors import InvalidInput, NotIndexed
from singularity_mcp.paths import allowed_roots, resolve_allowed
from singularity_mcp.search import _symbol_store as store
from singularity_mcp.search._searcher import Scope, _stale, refresh_files, resolve_scope
from singularity_mcp.search.symbol_models import (
    FileReferences,
    FindReferencesResult,
    FindSymbolResult,
    ReferenceLine,
    SymbolHit,
)

if TYPE_CHECKING:
    from singularity_mcp.core import Core

MAX_NAME = 200
MAX_SYMBOLS = 50
MAX_REFERENCES = 100  # reference lines returned (answers stay small); the total is still reported
MAX_REFERENCE_FILES = 2000
INLINE_FILES = 16  # up to this many files are stat'ed / read on the event loop (microseconds; no thread hop)
LINE_CHARS = 200
FUZZY_NAMES = 8
_SEPARATORS = re.compile(r"::|#|->|\.|/")
_NAME = re.compile(r"^[^\s\x00]+$")

Row = TypeVar("Row", store.DefinitionRow, store.ReferenceRow)
T = TypeVar("T")
Match = Literal["exact", "qualified", "fuzzy", "none"]


def _check_name(name: str, what: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput(f"{what} is empty: pass an identifier such as 'parse_config' or 'Parser.parse'")
    if len(name) > MAX_NAME or not _NAME.match(name):
        raise InvalidInput(
            f"{what} {name[:200]!r} is not an identifier: pass one name (no spaces), optionally qualified "
            "with dots ('Parser.parse'); to search by description use semantic_search"
        )
    return name


def _check_kind(kind: str | None) -> str | None:
    if kind is None or not kind.strip():
        return None
    kind = kind.strip().lower()
    if not kind.isidentifier():
        raise InvalidInput(f"kind {kind[:200]!r} is not a definition kind: use function, method, class, ...")
    return kind


async def _scope(core: Core, path: str | None) -> Scope:
    """The indexed roots (or the sub-folder) to look in, limited to the allowed roots."""
    database = await core.database()
    root = resolve_allowed(path, core.settings) if path else None
    return await resolve_scope(database.pool, root, None, allowed=allowed_roots(core.settings))


async def _blocking(fn: Callable[..., T], *args: Any, files: int) -> T:
    """Run file-system work inline when it touches a few files, else in a worker thread."""
    return fn(*args) if files <= INLINE_FILES else await anyio.to_thread.run_sync(fn, *args)


async def _refresh_stale(core: Core, scope: Scope, rows: list[Row]) -> bool:
    """Re-index the changed files among `rows` and drop the deleted ones; True when something changed."""
    changed, deleted = await _blocking(_stale, scope.roots, rows, files=len(rows))
    if not changed and not deleted:
        return False
    database = await core.database()
    await refresh_files(database.pool, core.embedder, scope.roots, changed, deleted)
    return True


def _hit(scope: Scope, row: store.DefinitionRow) -> SymbolHit:
    return SymbolHit(
        name=row.name,
        qualified_name=row.qualified_name,
        kind=row.kind,
        path=os.path.join(scope.roots[row.root_id], row.rel_path),
        start_line=row.start_line,
        end_line=row.end_line,
        signature=row.signature,
        language=row.language,
    )


def _qualified_match(qualified: str, wanted: str) -> bool:
    """`wanted` ('Parser.parse', 'pkg::Parser::parse') names `qualified` or a suffix of it."""
    have = qualified.lower().split(".")
    want = [p for p in _SEPARATORS.split(wanted.lower()) if p]
    return len(want) <= len(have) and have[-len(want) :] == want


def fuzzy_names(query: str, names: Sequence[str], limit: int = FUZZY_NAMES) -> list[str]:
    """Defined names close to `query`: containing it (or contained in it), then by edit similarity."""
    q = query.lower()
    by_lower: dict[str, list[str]] = {}
    for n in names:
        by_lower.setdefault(n.lower(), []).append(n)
    contained = sorted(
        (n for n in by_lower if len(n) > 2 and (q in n or n in q)), key=lambda n: (abs(len(n) - len(q)), n)
    )
    close = difflib.get_close_matches(q, list(by_lower), n=limit, cutoff=0.6)
    ordered = list(dict.fromkeys([*close[:3], *contained, *close]))[:limit]
    return [original for lower in ordered for original in by_lower[lower]]


async def _definitions(
    core: Core, scope: Scope, names: list[str], kind: str | None, limit: int
) -> list[store.DefinitionRow]:
    database = await core.database()
    async with store.reading(database.pool) as conn:
        rows = await store.definitions_named(conn, scope, names, kind, limit)
    return rows


async def find_symbol(
    core: Core, name: str, *, path: str | None = None, kind: str | None = None, limit: int = MAX_SYMBOLS
) -> FindSymbolResult:
    """Definitions named `name` (or qualified like 'Class.method'); the closest names when none match."""
    started = time.perf_counter()
    name = _check_name(name, "name")
    kind = _check_kind(kind)
    if not 1 <= limit <= MAX_SYMBOLS:
        raise InvalidInput(f"limit must be between 1 and {MAX_SYMBOLS}")
    scope = await _scope(core, path)
    parts = [p for p in _SEPARATORS.split(name) if p]
    qualified = len(parts) > 1
    simple = parts[-1] if parts else name

    async def lookup(names: list[str]) -> list[store.DefinitionRow]:
        rows = await _definitions(core, scope, names, kind, 10 * limit if qualified else limit + 1)
        if qualified:
            rows = [r for r in rows if _qualified_match(r.qualified_name, name)]
        return rows

    async def search() -> tuple[list[store.DefinitionRow], Match, list[str]]:
        rows = await lookup([simple])
        if rows:
            return rows, "qualified" if qualified else "exact", []
        database = await core.database()
        async with store.reading(database.pool) as conn:
            known = await store.symbol_names(conn, scope)
            empty = not known and await store.count_symbols(conn, list(scope.roots)) == 0
        if empty:
            raise NotIndexed(
                "the symbol index of this folder is empty: call index_codebase on it (folders indexed "
                "before the symbol index existed are re-read once)"
            )
        close = fuzzy_names(simple, known)
        if not close:
            return (
                [],
                "none",
                [
                    f"no definition named {name[:200]!r} or close to it"
                    + (f" of kind {kind!r}" if kind else "")
                    + "; try semantic_search with a description, or index_codebase if the folder changed"
                ],
            )
        rows = await _definitions(core, scope, close, kind, limit + 1)
        rank = {n: i for i, n in enumerate(close)}
        rows.sort(key=lambda r: (rank.get(r.name, len(rank)), r.rel_path, r.start_line))
        note = f"no definition named {name[:200]!r}; these are the closest names (fuzzy match): "
        return rows, "fuzzy", [note + ", ".join(close[:FUZZY_NAMES])]

    rows, match, notes = await search()
    refreshed = await _refresh_stale(core, scope, rows)
    if refreshed:
        rows, match, notes = await search()
        notes.insert(0, "re-indexed changed files first")
        changed, deleted = await _blocking(_stale, scope.roots, rows, files=len(rows))
        rows = [r for r in rows if (r.root_id, r.rel_path) not in changed | deleted]
    return FindSymbolResult(
        query=name,
        match=match,
        symbols=[_hit(scope, r) for r in rows[:limit]],
        truncated=len(rows) > limit,
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        notes=notes,
    )


def _read_lines(path: str, wanted: Sequence[int]) -> dict[int, str]:
    """The text of lines `wanted` (1-based) of a file; only the lines up to the last one are split."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return {}
    last = max(wanted, default=0)
    lines = data.split(b"\n", last)
    out = {}
    for n in wanted:
        if 1 <= n <= len(lines) and (n < len(lines) or n == last):
            text = lines[n - 1].split(b"\n", 1)[0].decode("utf-8", "replace").strip()
            out[n] = text[:LINE_CHARS] + ("…" if len(text) > LINE_CHARS else "")
    return out


def _group(scope: Scope, rows: list[store.ReferenceRow], limit: int) -> list[FileReferences]:
    """Files with their reference lines (and each line's text), at most `limit` lines in all."""
    files: list[FileReferences] = []
    left = limit
    for row in rows:
        if left <= 0:
            break
        full = os.path.join(scope.roots[row.root_id], row.rel_path)
        take = list(zip(row.lines, row.enclosing, row.kinds, strict=True))[:left]
        texts = _read_lines(full, [line for line, _, _ in take])
        refs = [
            ReferenceLine(line=line, text=texts.get(line, ""), enclosing=enclosing, kind=kind)
            for line, enclosing, kind in take
        ]
        left -= len(refs)
        files.append(FileReferences(path=full, references=refs))
    return files


async def find_references(
    core: Core, name: str, *, path: str | None = None, limit: int = MAX_REFERENCES
) -> FindReferencesResult:
    """Every line in code that uses `name`, grouped by file, with the enclosing definition of each."""
    started = time.perf_counter()
    name = _check_name(name, "name")
    if not 1 <= limit <= MAX_REFERENCES:
        raise InvalidInput(f"limit must be between 1 and {MAX_REFERENCES}")
    scope = await _scope(core, path)
    notes: list[str] = []
    parts = [p for p in _SEPARATORS.split(name) if p]
    simple = parts[-1] if parts else name
    if simple != name:
        notes.append(f"references are found by the last part of a qualified name: {simple!r}")
    database = await core.database()

    async def lookup() -> tuple[list[store.ReferenceRow], list[store.DefinitionRow]]:
        async with store.reading(database.pool) as conn:  # one connection for both queries
            rows = await store.references_named(conn, scope, simple, MAX_REFERENCE_FILES)
            defs = await store.definitions_named(conn, scope, [simple], None, MAX_SYMBOLS)
        return rows, [d for d in defs if d.name == simple]

    rows, definitions = await lookup()
    refreshed = await _refresh_stale(core, scope, rows)
    if refreshed:
        notes.append("re-indexed changed files first")
        rows, definitions = await lookup()
    total = sum(len(r.lines) for r in rows)
    files = await _blocking(_group, scope, rows, limit, files=len(rows))
    truncated = sum(len(f.references) for f in files) < total
    if truncated:
        notes.append(f"showing {limit} of {total} reference lines; pass path= to narrow to a folder")
    if not rows:
        notes.append(
            f"no reference to {simple[:200]!r} in indexed code"
            + ("" if definitions else " and no definition either; check the spelling or use find_symbol")
        )
    return FindReferencesResult(
        name=simple,
        total=total,
        files=files,
        definitions=[_hit(scope, d) for d in definitions],
        truncated=truncated,
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        notes=notes,
    )
