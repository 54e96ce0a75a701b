"""SQL for the code index: roots, files, chunks, vectors and term statistics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from singularity_mcp._rows import one_row
from singularity_mcp.search._files import PreparedFile
from singularity_mcp.search._symbol_store import write_symbols

if TYPE_CHECKING:  # annotations only: the MCP server imports this at start, before any database use
    import numpy as np
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

_INSERT_CHUNK = """
WITH chunk AS (
    INSERT INTO code_chunks (file_id, root_id, rel_path, language, start_line, end_line, symbol, kind, content,
                             embed_text, embed_sha256)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    RETURNING id, root_id, language, kind, rel_path)
INSERT INTO code_chunk_lexemes (chunk_id, root_id, language, kind, rel_path, lexemes)
SELECT id, root_id, language, kind, rel_path,
       setweight(to_tsvector('english', %s), 'A') || setweight(to_tsvector('english', %s), 'B')
       || setweight(to_tsvector('english', %s), 'C') || to_tsvector('english', %s)
FROM chunk
"""

ADVISORY_CLASS = 0x5343_4958  # advisory lock namespace: one index run per root across processes


@dataclass(frozen=True, slots=True)
class KnownFile:
    id: int
    size: int
    mtime_ns: int
    sha256: bytes


@dataclass(frozen=True, slots=True)
class RootRow:
    id: int
    path: str
    state: str
    embedding_model: str | None
    chunks: int


async def ensure_root(pool: AsyncConnectionPool, path: str) -> RootRow:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO code_roots (path) VALUES (%s) ON CONFLICT (path) DO UPDATE SET path = EXCLUDED.path "
            "RETURNING id, path, state, embedding_model, chunks",
            (path,),
        )
        return RootRow(*await one_row(cur))


async def list_roots(pool: AsyncConnectionPool) -> list[RootRow]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, path, state, embedding_model, chunks FROM code_roots ORDER BY length(path) DESC"
        )
        return [RootRow(*row) for row in await cur.fetchall()]


async def known_files(pool: AsyncConnectionPool, root_id: int) -> dict[str, KnownFile]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT rel_path, id, size, mtime_ns, content_sha256 FROM code_files WHERE root_id = %s",
            (root_id,),
        )
        return {row[0]: KnownFile(row[1], row[2], row[3], bytes(row[4])) for row in await cur.fetchall()}


async def set_root(pool: AsyncConnectionPool, root_id: int, **fields: Any) -> None:
    """Update progress columns of a root (column names are ours, values bound)."""
    allowed = {"state", "phase", "files_total", "files_done", "last_error", "embedding_model", "chunks"}
    assert set(fields) <= allowed, fields
    assignments = ", ".join(f"{name} = %s" for name in fields)
    extra = ""
    if fields.get("state") == "indexing":
        extra = ", started_at = now()"
    elif fields.get("state") == "ready":
        extra = ", indexed_at = now()"
    async with pool.connection() as conn:
        await conn.execute(
            f"UPDATE code_roots SET {assignments}{extra} WHERE id = %s", (*fields.values(), root_id)
        )


async def _bump(conn: AsyncConnection, root_ids: Sequence[int]) -> None:
    """Move the roots' generation (sql/0010): in-memory copies of their vectors reload on the next search.
    Always a transaction's last statement, so the root row is never locked while chunk rows are."""
    await conn.execute(
        "UPDATE code_roots SET generation = generation + 1 WHERE id = ANY(%s)", (sorted(set(root_ids)),)
    )


@asynccontextmanager
async def writing(pool: AsyncConnectionPool, *root_ids: int) -> AsyncIterator[AsyncConnection]:
    """A transaction that writes chunks of `root_ids` (`write_files`, `delete_files`); it moves their
    generation last, before it commits."""
    async with pool.connection() as conn, conn.transaction():
        yield conn
        await _bump(conn, root_ids)


_WRITE_LOCK = 0x53_49_44_58  # advisory lock class: one writer of a root's files at a time


async def write_files(conn: AsyncConnection, root_id: int, files: Sequence[PreparedFile]) -> int:
    """Replace the rows of `files` (inside `writing(pool, root_id)`); return the chunks written.

    Writers of one root take turns (a transaction-level advisory lock): an index run and a search that
    re-reads a changed file may write the same file at once, and two delete-then-insert transactions
    would otherwise collide on (root, path) — the second's DELETE cannot see the first's new row.
    """
    written = 0
    await conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_WRITE_LOCK, root_id % 2_147_483_647))
    async with conn.cursor() as cur:
        for f in files:
            if f.chunks is None:  # same content, new mtime: keep chunks and vectors
                await cur.execute(
                    "UPDATE code_files SET size = %s, mtime_ns = %s WHERE root_id = %s AND rel_path = %s",
                    (f.size, f.mtime_ns, root_id, f.rel_path),
                )
                continue
            await cur.execute(
                "DELETE FROM code_files WHERE root_id = %s AND rel_path = %s", (root_id, f.rel_path)
            )
            await cur.execute(
                "INSERT INTO code_files (root_id, rel_path, language, size, mtime_ns, content_sha256) "
                "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (root_id, f.rel_path, f.language, f.size, f.mtime_ns, f.sha256),
            )
            (file_id,) = await one_row(cur)
            if f.chunks:
                await cur.executemany(
                    _INSERT_CHUNK,
                    [
                        (file_id, root_id, f.rel_path, f.language, c.start_line, c.end_line, c.symbol,
                         c.kind, c.content, c.embed_text, c.embed_sha256, c.symbol_words, f.path_words, c.name_words,
                         c.content_words)
                        for c in f.chunks
                    ],
                )  # fmt: skip
                written += len(f.chunks)
            if f.symbols is not None:
                await write_symbols(cur, file_id, root_id, f.rel_path, f.language, f.symbols)
    return written


async def delete_files(conn: AsyncConnection, root_id: int, rel_paths: Sequence[str]) -> None:
    if rel_paths:
        await conn.execute(
            "DELETE FROM code_files WHERE root_id = %s AND rel_path = ANY(%s)", (root_id, list(rel_paths))
        )


async def refresh_root_stats(pool: AsyncConnectionPool, root_id: int) -> int:
    """Recount chunks and rebuild the term statistics of a root; return the chunk count."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("DELETE FROM code_terms WHERE root_id = %s", (root_id,))
        await conn.execute(
            "INSERT INTO code_terms (root_id, lexeme, ndoc) "
            "SELECT %s, word, ndoc FROM ts_stat('SELECT lexemes FROM code_chunk_lexemes WHERE root_id = ' || %s::bigint)",
            (root_id, root_id),
        )
        cur = await conn.execute(
            "UPDATE code_roots SET chunks = (SELECT count(*) FROM code_chunks WHERE root_id = %s) "
            "WHERE id = %s RETURNING chunks",
            (root_id, root_id),
        )
        (chunks,) = await one_row(cur)
    return chunks


async def pending_chunks(
    pool: AsyncConnectionPool, root_id: int, limit: int
) -> list[tuple[int, str, str | None, str, str | None]]:
    """Chunks still without a vector or a name vector: (id, rel_path, symbol, kind, text to embed, or
    None when only the name vector is missing: a chunk indexed before names had vectors)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, rel_path, symbol, kind, "
            "       CASE WHEN embedding IS NULL THEN coalesce(embed_text, content) END FROM code_chunks "
            "WHERE root_id = %s AND (embedding IS NULL OR name_embedding IS NULL) ORDER BY id LIMIT %s",
            (root_id, limit),
        )
        return await cur.fetchall()


async def names_pending(pool: AsyncConnectionPool, root_id: int) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT EXISTS (SELECT 1 FROM code_chunks WHERE root_id = %s AND name_embedding IS NULL)",
            (root_id,),
        )
        return bool((await one_row(cur))[0])


async def pending_text_bytes(pool: AsyncConnectionPool, root_id: int, cap: int) -> int:
    """Bytes of chunk text still to embed, each chunk counted up to `cap` (what the model reads of it)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT coalesce(sum(least(octet_length(content), %s)), 0) FROM code_chunks "
            "WHERE root_id = %s AND embedding IS NULL",
            (cap, root_id),
        )
        return int((await one_row(cur))[0])


async def store_vectors(
    pool: AsyncConnectionPool, ids: Sequence[int], vectors: Sequence[np.ndarray | None], names: np.ndarray
) -> None:
    """Store the chunks' vectors (None: keep the one stored) and name vectors."""
    async with pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
        await cur.executemany(
            "UPDATE code_chunks SET embedding = coalesce(%s, embedding), name_embedding = %s WHERE id = %s",
            [(vectors[i], names[i], chunk_id) for i, chunk_id in enumerate(ids)],
        )
        await cur.execute(
            "UPDATE code_roots SET generation = generation + 1 WHERE id IN "
            "(SELECT DISTINCT root_id FROM code_chunks WHERE id = ANY(%s))",
            (list(ids),),
        )


async def count_pending(pool: AsyncConnectionPool, root_ids: Sequence[int]) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM code_chunks WHERE root_id = ANY(%s) AND embedding IS NULL",
            (list(root_ids),),
        )
        return (await one_row(cur))[0]


async def reset_vectors(pool: AsyncConnectionPool, root_id: int, model_id: str) -> None:
    """The embedding model changed: drop the old vectors so the dense phase refills them."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            "UPDATE code_chunks SET embedding = NULL, name_embedding = NULL WHERE root_id = %s", (root_id,)
        )
        await conn.execute(
            "UPDATE code_roots SET embedding_model = %s, generation = generation + 1 WHERE id = %s",
            (model_id, root_id),
        )
