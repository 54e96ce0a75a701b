"""Fixtures for the foundation tests: one spawned HTTP server shared by the HTTP transport tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from singularity_mcp.config import Settings
from tests.conftest import REPO_ROOT, server_env

HTTP_TOKEN = "s3cret-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_http(settings: Settings, port: int, token: str | None) -> subprocess.Popen:
    extra = {"SINGULARITY_HTTP_TOKEN": token} if token else {}
    process = subprocess.Popen(
        [sys.executable, "-m", "singularity_mcp", "serve", "--transport", "http", "--port", str(port)],
        env=server_env(settings, **extra),
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("HTTP server did not start")


@dataclass
class HttpServer:
    port: int
    token: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"


@pytest.fixture(scope="package")
def http_server(settings: Settings, database: object) -> Iterator[HttpServer]:
    """`serve --transport http` on a loopback port with a bearer token, on the session's data dir; tests
    that need no server of their own share it (each start costs a Python, the SDK, the model...)."""
    port = free_port()
    process = start_http(settings, port, token=HTTP_TOKEN)
    try:
        yield HttpServer(port, HTTP_TOKEN)
    finally:
        process.terminate()
        process.wait(timeout=30)
