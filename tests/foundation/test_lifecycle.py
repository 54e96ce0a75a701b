"""`serve` on its own data dir, as real processes: first-run resources, signals, end of input, SIGKILL.

One brand-new data dir serves the whole module (creating a database cluster takes seconds): the first test
sees a first run, later ones restart on it. Each server is the only holder of its embedded PostgreSQL, so an
orderly exit must stop it, and after a SIGKILL the watchdog must.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from singularity_mcp.config import Settings
from tests.conftest import make_settings
from tests.foundation.rawserve import RawServer, holders, postmaster_running, wait_until

EXIT_WITHIN_S = 1.0  # the target; the assertion allows for a loaded CI machine
EXIT_ASSERT_S = 3.0


@pytest.fixture(scope="module")
def own_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("lifecycle-data"))


def _serve(settings: Settings, tmp_path: Path, name: str) -> RawServer:
    return RawServer(settings, tmp_path / f"{name}.stderr", SINGULARITY_LOG_LEVEL="WARNING")


def _wait_for_database(server: RawServer, pgdata: Path) -> None:
    # The knowledge sync opens the database in the background as soon as the server starts.
    wait_until(lambda: server.process.pid in holders(pgdata), 120, "the server joining its database")
    wait_until(lambda: postmaster_running(pgdata), 30, "PostgreSQL running")


def test_first_run_every_listed_resource_reads_at_once(own_settings: Settings, tmp_path: Path) -> None:
    assert not own_settings.pgdata.exists()  # a brand-new data dir
    server = _serve(own_settings, tmp_path, "first-run")
    try:
        server.initialize()
        listed = server.request("resources/list", {}, 2)["result"]["resources"]
        artifacts = [
            r["uri"] for r in listed if r["uri"].startswith("knowledge://") and r["uri"].count("/") == 3
        ]
        assert len(artifacts) > 20
        for i, uri in enumerate(artifacts):
            answer = server.request("resources/read", {"uri": uri}, 100 + i)
            assert "error" not in answer, f"{uri}: {answer.get('error')}"
            assert answer["result"]["contents"][0]["text"].startswith("{")
    finally:
        server.close()


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGINT", "SIGHUP", "end of input"])
def test_stop_is_orderly_and_quick(own_settings: Settings, tmp_path: Path, stop: str) -> None:
    pgdata = own_settings.pgdata
    server = _serve(own_settings, tmp_path, stop.replace(" ", "-"))
    try:
        assert "result" in server.initialize()
        _wait_for_database(server, pgdata)
        assert "result" in server.request("tools/list", {}, 2)
        if stop == "end of input":
            server.process.stdin.close()
        else:
            server.process.send_signal(getattr(signal, stop))
        code, seconds = server.wait(timeout=30)
        stderr = server.stderr()
        print(f"{stop}: exit {code} in {seconds:.2f}s (target {EXIT_WITHIN_S}s)")
        assert code == 0, stderr[-2000:]
        assert seconds < EXIT_ASSERT_S
        assert "Traceback" not in stderr, stderr[-3000:]
        assert server.process.pid not in holders(pgdata)  # the holder list was released
        assert not postmaster_running(pgdata)  # ... and, as the last holder, it stopped the server
    finally:
        server.close()


def test_sigkill_leaves_no_database_running(own_settings: Settings, tmp_path: Path) -> None:
    pgdata = own_settings.pgdata
    server = _serve(own_settings, tmp_path, "sigkill")
    try:
        server.initialize()
        _wait_for_database(server, pgdata)
        server.process.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        seconds = wait_until(lambda: not postmaster_running(pgdata), 12, "PostgreSQL stopped by the watchdog")
        print(f"PostgreSQL stopped {seconds:.1f}s after its last holder was SIGKILLed")
        assert holders(pgdata) == []
    finally:
        server.close()
