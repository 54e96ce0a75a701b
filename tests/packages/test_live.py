"""Live lookups against the real PyPI and npm through the MCP client (`-m network`); skipped offline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from mcp.client.session import ClientSession

from singularity_mcp.config import Settings
from singularity_mcp.db import Database
from tests.conftest import REPO_ROOT, mcp_client

pytestmark = [pytest.mark.anyio, pytest.mark.network]


def _reachable(url: str) -> bool:
    try:
        return httpx2.get(url, timeout=3).status_code == 200
    except httpx2.HTTPError:
        return False


@pytest.fixture(scope="module")
async def live(settings: Settings, database: Database) -> AsyncIterator[ClientSession]:
    if not _reachable("https://pypi.org/pypi/pip/json"):
        pytest.skip("PyPI is not reachable")
    async with mcp_client(settings, env={"SINGULARITY_PACKAGE_TTL_S": "0"}) as client:
        yield client


async def _call(session: ClientSession, **arguments: Any) -> dict[str, Any]:
    result = await session.call_tool("package_lookup", arguments)
    assert not result.is_error, result.content
    return result.structured_content or {}


async def test_live_pypi_lookup(live: ClientSession) -> None:
    data = await _call(live, name="packaging", ecosystem="pypi")
    assert data["name"] == "packaging" and data["latest_version"]
    assert int(data["latest_version"].split(".")[0]) >= 24
    assert data["versions"] and data["released_at"]


async def test_live_npm_lookup(live: ClientSession) -> None:
    if not _reachable("https://registry.npmjs.org/left-pad"):
        pytest.skip("the npm registry is not reachable")
    data = await _call(live, name="left-pad", ecosystem="npm")
    assert data["name"] == "left-pad" and data["latest_version"] == "1.3.0"


async def test_live_audit_of_this_repository(live: ClientSession) -> None:
    data = await _call(live, path=str(REPO_ROOT))
    names = {d["name"].lower() for d in data["audit"]["dependencies"]}
    assert {"mcp", "httpx2", "psycopg"} <= names
    assert all(
        d["latest"] for d in data["audit"]["dependencies"] if d["ecosystem"] == "pypi" and not d.get("error")
    )
