"""Fixtures for the team-server tests: a standalone PostgreSQL (initdb + pg_ctl, scram, TCP) and settings
that point singularity-mcp at it as a non-superuser role that owns its database."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from singularity_mcp.config import Settings
from tests.conftest import make_settings
from tests.team._cluster import StandalonePostgres


@pytest.fixture(scope="session")
def standalone_postgres() -> Iterator[StandalonePostgres]:
    """One PostgreSQL cluster for the team tests, stopped and removed at the end of the session.

    Not under pytest's temporary folder: any pytest run on the machine resets /tmp/pytest-of-<user> to
    mode 0700, which would lock the server's (unprivileged) user out of its own data directory."""
    server = StandalonePostgres(Path(tempfile.mkdtemp(prefix="singularity-team-pg-")))
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="session")
def team_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("team-data")


@pytest.fixture(scope="session")
def team_settings(standalone_postgres: StandalonePostgres, team_data_dir: Path) -> Settings:
    """singularity-mcp on the standalone server, as the application role (not a superuser)."""
    return make_settings(team_data_dir, database_url=standalone_postgres.url())
