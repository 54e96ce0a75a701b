"""Fixtures for the knowledge tests: each test that writes gets its own database in the session's server.

The knowledge tables are shared state (imports prune artifacts missing from the imported folder), so tests
that import or give feedback run against a fresh database instead of the session one other tests use.
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
from psycopg.conninfo import make_conninfo

from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.db import Database
from singularity_mcp.errors import Unavailable
from singularity_mcp.knowledge._files import default_folder


async def fresh_database_url(database: Database) -> str:
    """Create an empty database on the session's PostgreSQL server and return its connection string."""
    name = f"kb_{uuid.uuid4().hex[:12]}"
    async with await psycopg.AsyncConnection.connect(database.url, autocommit=True) as conn:
        await conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_conninfo(database.url, dbname=name)


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
async def kb_core(settings: Settings, database: Database) -> AsyncIterator[Core]:
    """A running Core on a fresh, empty database (nothing imported)."""
    url = await fresh_database_url(database)
    async with running_core(isolated_settings(settings, url)) as core:
        yield core


@pytest.fixture(scope="module")
async def imported_core(settings: Settings, database: Database) -> AsyncIterator[Core]:
    """A running Core on a fresh database holding the shipped knowledge base (read-only use)."""
    from singularity_mcp.knowledge import import_artifacts

    url = await fresh_database_url(database)
    async with running_core(isolated_settings(settings, url)) as core:
        await import_artifacts(core)
        yield core


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped knowledge base."""
    target = tmp_path / "knowledge_base"
    shutil.copytree(default_folder(), target, ignore=shutil.ignore_patterns("learned"))
    return target
