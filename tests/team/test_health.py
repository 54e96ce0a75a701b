"""Readiness through the plain API: which check fails when the database is gone or the schema moved on."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
import pytest

from singularity_mcp.core import Core
from singularity_mcp.embedding import Embedder
from singularity_mcp.health import readiness
from tests.conftest import make_settings
from tests.team._cluster import APP_ROLE, StandalonePostgres, free_port

pytestmark = pytest.mark.anyio


async def test_unreachable_database_is_not_ready_and_not_described(
    embedder: Embedder, tmp_path: Path
) -> None:
    url = f"postgresql://someone:hunter2@127.0.0.1:{free_port()}/nowhere"
    async with asynccontextmanager(Core(make_settings(tmp_path, database_url=url)).run)() as core:
        report = await readiness(core)
    assert not report.ready
    assert report.checks["database"] == "failing" and report.checks["migrations"] == "failing"
    assert report.checks["model"] == "ok"  # the model loads without the database
    text = json.dumps(report.as_dict())
    assert "hunter2" not in text and "127.0.0.1" not in text and "nowhere" not in text


async def test_a_newer_schema_makes_an_open_process_unready(
    standalone_postgres: StandalonePostgres, embedder: Embedder, tmp_path: Path
) -> None:
    url = standalone_postgres.create_application_database(
        "singularity_health", APP_ROLE, standalone_postgres.app_password
    )
    async with asynccontextmanager(Core(make_settings(tmp_path, database_url=url)).run)() as core:
        first = await readiness(core)
        assert first.ready and first.as_dict() == {
            "status": "ok",
            "checks": {"database": "ok", "migrations": "ok", "model": "ok"},
        }
        with psycopg.connect(url, autocommit=True) as conn:  # another process upgraded the schema
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'later', 'x')"
            )
        second = await readiness(core)
    assert not second.ready
    assert second.checks == {"database": "ok", "migrations": "failing", "model": "ok"}
