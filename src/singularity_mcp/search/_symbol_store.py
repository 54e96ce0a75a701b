"""SQL for the symbol index: definitions (`code_symbols`) and references (`code_refs`) of indexed files."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from singularity_mcp._rows import one_row

if TYPE_CHECKING:
    from psycopg import AsyncConnection, AsyncCursor
    from psycopg_pool import AsyncConnectionPool

    from singularity_mcp.search._searcher import Scope
    from singularity_mcp.search._symbols import FileSymbols


@dataclass(slots=True)
class DefinitionRow:
    root_id: int
    rel_path: str
    language: str | None
    name: str
    qualified_name: str
    kind: str
    start_line: int
    end_line: int
    signature: str
    size: int
    mtime_ns: int


@dataclass(slots=True)
class ReferenceRow:
    root_id: int
    rel_path: str
    lines: list[int]
    enclosing: list[str]
    kinds: list[str]
    size: int
    mtime_ns: int


@contextlib.asynccontextmanager
async def reading(pool: AsyncConnectionPool) -> AsyncIterator[AsyncConnection]:
    """A pooled connection in autocommit for a few reads: no BEGIN before them and no ROLLBACK when the
    pool takes it back (two round trips saved on a query that takes one)."""
    async with pool.connection() as conn:
        await conn.set_autocommit(True)
        try:
            yield conn
        finally:
            await conn.set_autocommit(False)


async def write_symbols(
    cur: AsyncCursor, file_id: int, root_id: int, rel_path: str, language: str | None, symbols: FileSymbols
) -> None:
    """Store a file's definitions and references (inside the transaction that wrote its `code_files` row,
    which was just inserted: there is nothing to replace)."""
    if symbols.definitions:
        async with cur.copy(
            "COPY code_symbols (file_id, root_id, rel_path, language, name, qualified_name, kind, start_line,"
            " end_line, signature) FROM STDIN"
        ) as copy:
            for d in symbols.definitions:
                await copy.write_row(
                    (file_id, root_id, rel_path, language, d.name, d.qualified_name, d.kind, d.start_line,
                     d.end_line, d.signature)
                )  # fmt: skip
    if symbols.references:
        async with cur.copy(
            "COPY code_refs (file_id, root_id, rel_path, name, lines, enclosing, kinds) FROM STDIN"
        ) as copy:
            for r in symbols.references:
                await copy.write_row((file_id, root_id, rel_path, r.name, r.lines, r.enclosing, r.kinds))


def _where(scope: Scope, params: list, alias: str) -> str:
    """The scope's roots, sub-folders and allowed roots as SQL over `alias` (search's one definition)."""
    from singularity_mcp.search._searcher import scope_sql  # _searcher imports this module's writer

    return "true" + scope_sql(scope, params, alias)


_DEFINITION_COLUMNS = (
    "s.root_id, s.rel_path, s.language, s.name, s.qualified_name, s.kind, s.start_line, s.end_line,"
    " s.signature, f.size, f.mtime_ns"
)


async def definitions_named(
    conn: AsyncConnection,
    scope: Scope,
    names: Sequence[str],
    kind: str | None,
    limit: int,
) -> list[DefinitionRow]:
    """Definitions whose name is one of `names` (case-insensitive), exact-case matches first."""
    params: list = [[n.lower() for n in names]]
    where = "lower(s.name) = ANY(%s) AND " + _where(scope, params, "s")
    if kind:
        where += " AND s.kind = %s"
        params.append(kind)
    params += [list(names), limit]
    cur = await conn.execute(
        f"SELECT {_DEFINITION_COLUMNS} FROM code_symbols s JOIN code_files f ON f.id = s.file_id "
        f"WHERE {where} ORDER BY (s.name = ANY(%s)) DESC, s.rel_path, s.start_line LIMIT %s",
        params,
    )
    return [DefinitionRow(*row) for row in await cur.fetchall()]


async def symbol_names(conn: AsyncConnection, scope: Scope) -> list[str]:
    """Every distinct defined name in scope (for the fuzzy fallback)."""
    params: list = []
    where = _where(scope, params, "s")
    cur = await conn.execute(f"SELECT DISTINCT s.name FROM code_symbols s WHERE {where}", params)
    return [row[0] for row in await cur.fetchall()]


async def references_named(conn: AsyncConnection, scope: Scope, name: str, limit: int) -> list[ReferenceRow]:
    """The files referencing `name` (exact case), with their lines, by path."""
    params: list = [name]
    where = "r.name = %s AND " + _where(scope, params, "r")
    params.append(limit)
    cur = await conn.execute(
        "SELECT r.root_id, r.rel_path, r.lines, r.enclosing, r.kinds, f.size, f.mtime_ns "
        f"FROM code_refs r JOIN code_files f ON f.id = r.file_id WHERE {where} "
        "ORDER BY r.rel_path LIMIT %s",
        params,
    )
    return [ReferenceRow(*row) for row in await cur.fetchall()]


async def all_definitions(conn: AsyncConnection, scope: Scope) -> list[DefinitionRow]:
    params: list = []
    where = _where(scope, params, "s")
    cur = await conn.execute(
        f"SELECT {_DEFINITION_COLUMNS} FROM code_symbols s JOIN code_files f ON f.id = s.file_id "
        f"WHERE {where} ORDER BY s.rel_path, s.start_line",
        params,
    )
    return [DefinitionRow(*row) for row in await cur.fetchall()]


async def reference_counts(conn: AsyncConnection, scope: Scope) -> list[tuple[str, str, int]]:
    """(referencing file, name, lines) for every name defined in scope."""
    params: list = []
    where_r = _where(scope, params, "r")
    where_s = _where(scope, params, "s")
    cur = await conn.execute(
        f"SELECT r.rel_path, r.name, cardinality(r.lines) FROM code_refs r WHERE {where_r} "
        f"AND r.name IN (SELECT s.name FROM code_symbols s WHERE {where_s})",
        params,
    )
    return await cur.fetchall()


async def count_symbols(conn: AsyncConnection, roots: Sequence[int]) -> int:
    cur = await conn.execute("SELECT count(*) FROM code_symbols WHERE root_id = ANY(%s)", (list(roots),))
    return (await one_row(cur))[0]
