"""The server through the real MCP SDK client: stdio, and streamable HTTP with Origin and token checks."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from mcp.client.session import ClientSession

from singularity_mcp.config import Settings
from tests.conftest import REPO_ROOT, server_env, spawned_client

pytestmark = pytest.mark.anyio


async def test_stdio_server_initializes_and_lists_tools(settings: Settings) -> None:
    async with spawned_client(settings) as session:
        result = await session.list_tools()
        names = {tool.name for tool in result.tools}
        for tool in result.tools:
            assert tool.description, f"{tool.name} has no description for the calling model"
        assert isinstance(names, set)


async def test_shared_session_server_answers(mcp: ClientSession) -> None:
    tools = await mcp.list_tools()
    assert tools.tools is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_http(settings: Settings, port: int, token: str | None) -> subprocess.Popen:
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


_INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"},
    },
}
_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def test_http_rejects_bad_origin_and_missing_token(settings: Settings, tmp_path: Path) -> None:
    port = _free_port()
    process = _start_http(settings, port, token="s3cret-token")
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        with httpx2.Client(timeout=10) as client:
            missing = client.post(url, json=_INIT, headers=_HEADERS)
            assert missing.status_code == 401
            wrong = client.post(url, json=_INIT, headers={**_HEADERS, "Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            authorized = {**_HEADERS, "Authorization": "Bearer s3cret-token"}
            bad_origin = client.post(url, json=_INIT, headers={**authorized, "Origin": "http://evil.example"})
            assert bad_origin.status_code == 403
            good = client.post(url, json=_INIT, headers={**authorized, "Origin": f"http://localhost:{port}"})
            assert good.status_code == 200
            assert "singularity-mcp" in good.text
    finally:
        process.terminate()
        process.wait(timeout=30)
