"""Fixtures for the fault tests: servers reached through the SDK's in-memory client, on the session's
embedded PostgreSQL (several servers on one database, as several processes would be)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.types import CallToolResult

from singularity_mcp.config import Settings
from singularity_mcp.server import build_server
from tests.conftest import make_settings


@asynccontextmanager
async def in_memory(settings: Settings) -> AsyncIterator[Client]:
    """A whole server (lifespan included) behind the SDK's in-memory client."""
    async with Client(build_server(settings)) as client:
        yield client


def restricted(settings: Settings, *roots: Path, **overrides: Any) -> Settings:
    """The session's settings with `SINGULARITY_ALLOWED_ROOTS` set to `roots`."""
    return make_settings(settings.data_dir, allowed_roots=list(roots), **overrides)


def text_of(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if c.type == "text")


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """A call that must succeed; its structured content."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    return result.structured_content or {}


async def refused(client: Client, tool: str, **arguments: Any) -> str:
    """A call that must fail with a short readable tool error; its text."""
    result = await client.call_tool(tool, arguments)
    message = text_of(result)
    assert result.is_error, message[:500]
    assert len(message) < 1000, message[:500]
    assert not message.startswith("Error executing tool"), message
    return message
