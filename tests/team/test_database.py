"""singularity-mcp on a standalone PostgreSQL, connected as a role that owns its database but is no superuser."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.db import discover_migrations, open_database
from singularity_mcp.errors import Unavailable
from tests.conftest import make_settings
from tests.team._cluster import APP_ROLE, StandalonePostgres

pytestmark = pytest.mark.anyio


async def test_migrates_as_the_owner_and_starts_no_embedded_server(team_settings: Settings) -> None:
    async with asynccontextmanager(Core(team_settings).run)() as core:
        database = await core.database()
        assert not database.embedded
        async with database.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT current_user, rolsuper, rolcreatedb, rolcreaterole, inet_server_addr()::text, "
                "(SELECT array_agg(version ORDER BY version) FROM schema_migrations), "
                "(SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> current_user) "
                "FROM pg_roles WHERE rolname = current_user"
            )
            role, superuser, createdb, createrole, address, versions, foreign_tables = await cur.fetchone()
    assert (role, superuser, createdb, createrole) == (APP_ROLE, False, False, False)
    assert address == "127.0.0.1/32"  # TCP, password-authenticated (the cluster has no unix socket)
    assert versions == [m.version for m in discover_migrations()]
    assert foreign_tables == 0  # every table belongs to the application role
    assert not (team_settings.data_dir / "pgdata").exists()  # no embedded server was started


async def test_second_open_is_a_no_op(team_settings: Settings) -> None:
    database = await open_database(team_settings)
    try:
        assert database.applied_migrations == []
    finally:
        await database.close()


async def test_missing_extension_says_what_the_operator_must_create(
    standalone_postgres: StandalonePostgres, tmp_path: Path
) -> None:
    url = standalone_postgres.create_application_database(
        "singularity_bare", APP_ROLE, standalone_postgres.app_password, extensions=("pg_trgm",)
    )
    with pytest.raises(Unavailable) as caught:
        await open_database(make_settings(tmp_path, database_url=url))
    message = str(caught.value)
    assert "CREATE EXTENSION IF NOT EXISTS vector;" in message
    assert "pg_trgm" not in message  # present, so not asked for
    assert "singularity_bare" in message and APP_ROLE in message
    assert standalone_postgres.app_password not in message


async def test_wrong_password_is_refused_without_echoing_it(
    standalone_postgres: StandalonePostgres, tmp_path: Path
) -> None:
    url = standalone_postgres.url(password="not-the-password-4711")
    with pytest.raises(Unavailable) as caught:
        await open_database(make_settings(tmp_path, database_url=url))
    assert "password authentication failed" in str(caught.value)
    assert "not-the-password-4711" not in str(caught.value)
