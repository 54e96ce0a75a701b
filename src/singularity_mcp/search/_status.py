"""What is indexed, how far a run got, and removing a root from the index."""

from __future__ import annotations

from pathlib import Path

from psycopg_pool import AsyncConnectionPool

from singularity_mcp._rows import one_row
from singularity_mcp.errors import NotIndexed
from singularity_mcp.paths import AllowedRoots
from singularity_mcp.search import _memory
from singularity_mcp.search._indexer import CodeIndexer
from singularity_mcp.search.models import IndexProgress, IndexStatus, RootStatus

_STATUS_SQL = """
SELECT r.path, r.state, r.phase, r.files_total, r.files_done, r.last_error, r.indexed_at,
       (SELECT count(*) FROM code_files f WHERE f.root_id = r.id),
       (SELECT count(*) FROM code_chunks c WHERE c.root_id = r.id),
       (SELECT count(*) FROM code_chunks c WHERE c.root_id = r.id AND c.embedding IS NOT NULL),
       (SELECT coalesce(jsonb_object_agg(language, n), '{}'::jsonb) FROM
          (SELECT coalesce(language, 'other') AS language, count(*) AS n FROM code_files f
           WHERE f.root_id = r.id GROUP BY 1) l)
FROM code_roots r
"""


async def index_status(
    pool: AsyncConnectionPool,
    indexer: CodeIndexer | None,
    path: Path | None,
    allowed: AllowedRoots | None = None,
) -> IndexStatus:
    """Status of the root at `path` (or of every root inside the `allowed` roots when None)."""
    async with pool.connection() as conn:
        if path is None:
            cur = await conn.execute(_STATUS_SQL + " ORDER BY r.path")
        else:
            cur = await conn.execute(_STATUS_SQL + " WHERE r.path = %s", (str(path),))
        rows = [row for row in await cur.fetchall() if allowed is None or allowed.admits(row[0])]
    if path is not None and not rows:
        run = indexer.running(path) if indexer else None
        if run is None:
            raise NotIndexed(
                f"{path} is not indexed: call index_codebase with this path first",
                cli=f"{path} is not indexed: run `singularity-mcp index {path}` first",
            )
        starting = RootStatus(
            repo=str(path), state="indexing", running_here=True, files=0, chunks=0, chunks_embedded=0,
            languages={}, progress=run.progress,
        )  # fmt: skip
        return IndexStatus(roots=[starting])
    roots = []
    for (
        root,
        state,
        phase,
        files_total,
        files_done,
        error,
        indexed_at,
        files,
        chunks,
        embedded,
        langs,
    ) in rows:
        run = indexer.running(Path(root)) if indexer else None
        if run is not None:
            progress = run.progress
        elif state == "indexing":  # another process (or one that was killed: the next run resumes)
            progress = IndexProgress(
                phase=phase if phase in ("scan", "lexical", "dense") else "scan",
                files_total=files_total,
                files_done=files_done,
                chunks_total=chunks,
                chunks_embedded=embedded,
                message="indexing in another process, or interrupted (index_codebase resumes it)",
            )
        else:
            progress = None
        roots.append(
            RootStatus(
                repo=root,
                state=state,
                running_here=run is not None,
                files=files,
                chunks=chunks,
                chunks_embedded=embedded,
                languages=dict(langs),
                progress=progress,
                indexed_at=indexed_at.isoformat() if indexed_at else None,
                last_error=error,
            )
        )
    return IndexStatus(roots=roots)


async def remove_root(pool: AsyncConnectionPool, path: Path) -> int:
    """Drop a root and everything indexed under it; return the files removed."""
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT count(*) FROM code_files f JOIN code_roots r ON r.id = f.root_id WHERE r.path = %s",
            (str(path),),
        )
        (files,) = await one_row(cur)
        cur = await conn.execute("DELETE FROM code_roots WHERE path = %s RETURNING id", (str(path),))
        removed = await cur.fetchone()
        if removed is None:
            raise NotIndexed(
                f"{path} is not indexed; index_status lists the indexed folders",
                cli=f"{path} is not indexed, so there is nothing to remove",
            )
    _memory.forget(pool, {removed[0]})
    return files
