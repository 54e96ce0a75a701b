"""Upgrading a database indexed before the symbol index (sql/0009): the next index run re-reads every file,
so its symbols appear without `force`."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import psycopg
import pytest

from singularity_mcp.config import Settings
from singularity_mcp.db import Database, apply_migrations
from singularity_mcp.paths import data_path
from tests.knowledge.conftest import fresh_database_url, isolated_settings, running_core

pytestmark = pytest.mark.anyio


async def test_files_indexed_before_0009_are_reread(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    source = root / "tax.py"
    source.write_text(
        "def vat(amount):\n    return amount * 0.2\n\n\ndef total(amount):\n    return amount + vat(amount)\n"
    )
    old_sql = tmp_path / "sql"
    old_sql.mkdir()
    for path in data_path("sql").glob("*.sql"):
        if int(path.name[:4]) < 9:
            shutil.copy(path, old_sql / path.name)
    url = await fresh_database_url(database)
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await apply_migrations(conn, old_sql)
        info = source.stat()
        await conn.execute(  # what the indexer of the old schema left: the file, unchanged since
            "WITH r AS (INSERT INTO code_roots (path, state) VALUES (%s, 'ready') RETURNING id) "
            "INSERT INTO code_files (root_id, rel_path, language, size, mtime_ns, content_sha256) "
            "SELECT id, 'tax.py', 'python', %s, %s, %s FROM r",
            (str(root), info.st_size, info.st_mtime_ns, hashlib.sha256(source.read_bytes()).digest()),
        )
        assert "0009_symbols" in await apply_migrations(conn)

    async with running_core(isolated_settings(settings, url)) as core:
        from singularity_mcp.search import code_indexer, find_references, find_symbol

        result = await (await code_indexer(core)).index(root)
        assert result.files_indexed == 1 and result.files_unchanged == 0
        found = await find_symbol(core, "vat", path=str(root))
        assert found.match == "exact" and found.symbols[0].start_line == 1
        refs = await find_references(core, "vat", path=str(root))
        assert [(r.line, r.enclosing) for r in refs.files[0].references] == [(6, "total")]
