"""The server through the real MCP SDK client: stdio, and streamable HTTP with Origin and token checks."""

from __future__ import annotations

import httpx2
import pytest
from mcp.client.session import ClientSession

from singularity_mcp.config import Settings
from tests.conftest import spawned_client
from tests.foundation.conftest import HttpServer

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


def test_http_rejects_bad_origin_and_missing_token(http_server: HttpServer) -> None:
    url, port = http_server.url, http_server.port
    with httpx2.Client(timeout=10) as client:
        missing = client.post(url, json=_INIT, headers=_HEADERS)
        assert missing.status_code == 401
        wrong = client.post(url, json=_INIT, headers={**_HEADERS, "Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        authorized = {**_HEADERS, "Authorization": f"Bearer {http_server.token}"}
        bad_origin = client.post(url, json=_INIT, headers={**authorized, "Origin": "http://evil.example"})
        assert bad_origin.status_code == 403
        good = client.post(url, json=_INIT, headers={**authorized, "Origin": f"http://localhost:{port}"})
        assert good.status_code == 200
        assert "singularity-mcp" in good.text
