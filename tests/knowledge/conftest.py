"""Fixtures for the knowledge tests: each test that writes gets its own database in the session's server.

The knowledge tables are shared state (imports prune artifacts missing from the imported folder), so tests
that import or give feedback run against a fresh database instead of the session one other tests use. Those
databases are copies of one template, migrated once and holding the shipped artifacts' embeddings in its
embedding cache: a copy is a file copy, where migrating and embedding the knowledge base took seconds each
time. Nothing is imported in the template, so every import still reads, diffs and stores every artifact;
only the model runs are saved, and text a test edits is new to the cache and embedded for real.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.db import Database
from singularity_mcp.errors import Unavailable
from singularity_mcp.knowledge import load_artifact_files
from singularity_mcp.knowledge._files import default_folder


async def fresh_database_url(database: Database, template: str | None = None) -> str:
    """Create a database on the session's PostgreSQL server (empty, or a copy of `template`) and return its
    connection string."""
    name = f"kb_{uuid.uuid4().hex[:12]}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    async with await psycopg.AsyncConnection.connect(database.url, autocommit=True) as conn:
        await conn.execute(create)
    return make_conninfo(database.url, dbname=name)


@pytest.fixture(scope="session")
async def kb_template(settings: Settings, database: Database) -> str:
    """The name of the template for `kb_database`: migrated, the shipped artifacts' embedding texts in its
    embedding cache, no artifact imported, no connection left open (PostgreSQL copies only an idle one)."""
    from singularity_mcp.embedding import embed_cached
    from singularity_mcp.knowledge._text import embedding_text

    url = await fresh_database_url(database)
    async with running_core(isolated_settings(settings, url)) as core:
        texts = [embedding_text(artifact) for artifact in load_artifact_files()]
        template = await core.database()
        await _copy_cached_vectors(database, template, texts)
        await embed_cached(template.pool, await core.embedder(), texts)  # what the session's cache lacked
    return conninfo_to_dict(url)["dbname"]


async def _copy_cached_vectors(source: Database, target: Database, texts: list[str]) -> None:
    """Copy what the session database's embedding cache holds of `texts` (its servers' startup imports
    embed the shipped knowledge base there) into `target`'s, so the model runs only for the rest."""
    from singularity_mcp.embedding._cache import text_digest

    async with source.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT model_id, text_sha256, embedding FROM embedding_cache WHERE text_sha256 = ANY(%s)",
            ([text_digest(t) for t in texts],),
        )
        rows = await cur.fetchall()
    async with target.pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
        await cursor.executemany(
            "INSERT INTO embedding_cache (model_id, text_sha256, embedding) VALUES (%s, %s, %s) "
            "ON CONFLICT (model_id, text_sha256) DO NOTHING",
            rows,
        )


@pytest.fixture
async def kb_database(database: Database, kb_template: str) -> str:
    """A fresh database for one test (a copy of `kb_template`): its connection string."""
    return await fresh_database_url(database, kb_template)


def isolated_settings(settings: Settings, url: str, **extra: object) -> Settings:
    return settings.model_copy(update={"database_url": url, **extra})


@asynccontextmanager
async def running_core(settings: Settings) -> AsyncIterator[Core]:
    async with asynccontextmanager(Core(settings).run)() as core:
        try:
            await core.embedder()
        except Unavailable as exc:  # offline with no cached build and no local weights
            pytest.skip(f"embedding model unavailable: {exc}")
        yield core


@pytest.fixture
async def kb_core(settings: Settings, kb_database: str) -> AsyncIterator[Core]:
    """A running Core on a fresh database (nothing imported)."""
    async with running_core(isolated_settings(settings, kb_database)) as core:
        yield core


@pytest.fixture(scope="module")
async def imported_core(settings: Settings, database: Database, kb_template: str) -> AsyncIterator[Core]:
    """A running Core on a fresh database holding the shipped knowledge base (read-only use)."""
    from singularity_mcp.knowledge import import_artifacts

    url = await fresh_database_url(database, kb_template)
    async with running_core(isolated_settings(settings, url)) as core:
        await import_artifacts(core)
        yield core


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped knowledge base."""
    target = tmp_path / "knowledge_base"
    shutil.copytree(default_folder(), target, ignore=shutil.ignore_patterns("learned"))
    return target
