"""Database footprint of an index: pgdata bytes per 1,000 chunks, and where they go.

Indexes CORPUS into a fresh data dir (embedded PostgreSQL) through the plain API, checkpoints, then
reports the size of pgdata (tables and indexes apart from the write-ahead log) and of each relation
that holds chunks or vectors. Run it on two checkouts to compare schemas:

    python benchmarks/embedding/footprint.py CORPUS --data-dir /tmp/fp --out result.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.search import index_repository

# Relations whose size follows the number of chunks (and their indexes, TOAST included).
TABLES = ("code_chunks", "code_chunk_lexemes", "code_terms", "code_files", "embedding_cache")


def du(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(root) / name).lstat().st_size
    return total


async def measure(corpus: Path, settings: Settings) -> dict[str, Any]:
    async with contextlib.asynccontextmanager(Core(settings).run)() as core:
        database = await core.database()
        async with await psycopg.AsyncConnection.connect(database.url, autocommit=True) as conn:
            await conn.execute("CHECKPOINT")
        empty = {"pgdata": du(settings.pgdata), "base": du(settings.pgdata / "base")}
        started = time.perf_counter()
        await index_repository(database.pool, corpus, core.embedder)
        seconds = time.perf_counter() - started
        async with await psycopg.AsyncConnection.connect(database.url, autocommit=True) as conn:
            await conn.execute("VACUUM ANALYZE")
            await conn.execute("CHECKPOINT")
            cur = await conn.execute("SELECT count(*), count(embedding) FROM code_chunks")
            chunks, embedded = await cur.fetchone()
            relations = {}
            for table in TABLES:
                cur = await conn.execute(
                    "SELECT pg_table_size(%s::regclass), pg_indexes_size(%s::regclass)", (table, table)
                )
                heap, indexes = await cur.fetchone()
                relations[table] = {"table": heap, "indexes": indexes}
            cur = await conn.execute(
                "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c JOIN pg_am a ON a.oid = c.relam "
                "WHERE a.amname = 'hnsw'"
            )
            hnsw = {name: size for name, size in await cur.fetchall()}
            cur = await conn.execute(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = 'code_chunks'::regclass AND attname = 'embedding'"
            )
            column = (await cur.fetchone())[0]
    full = {"pgdata": du(settings.pgdata), "base": du(settings.pgdata / "base")}
    grown = {k: full[k] - empty[k] for k in full}
    return {
        "corpus": str(corpus),
        "chunks": chunks,
        "embedded": embedded,
        "embedding_column": column,
        "index_seconds": round(seconds, 1),
        "empty_bytes": empty,
        "full_bytes": full,
        "grown_bytes": grown,
        "bytes_per_1000_chunks": {k: round(v * 1000 / max(chunks, 1)) for k, v in grown.items()},
        "relations": relations,
        "hnsw": hnsw,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--data-dir", type=Path, required=True, help="a fresh folder (emptied first)")
    parser.add_argument("--model-dir", type=Path, default=None, help="built models (default: the setting)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    shutil.rmtree(args.data_dir, ignore_errors=True)
    overrides: dict[str, Any] = {"data_dir": args.data_dir, "database_url": None}
    if args.model_dir is not None:
        overrides["model_dir"] = args.model_dir
    result = asyncio.run(measure(args.corpus.resolve(), Settings(**overrides)))
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    sys.stderr.write(text + "\n")


if __name__ == "__main__":
    main()
