"""Fixtures for the agent router tests: a Core with the shared model build, on the session's database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from singularity_mcp.config import Settings
from singularity_mcp.core import Core


@pytest.fixture(scope="session")
def agent_settings(settings: Settings, embedder: object) -> Settings:
    """The session's settings, once the shared model is built."""
    return settings


@pytest.fixture(scope="session")
def agent_env() -> dict[str, str]:
    """Extra environment for spawned servers: none beyond `server_env` (which names the model cache)."""
    return {}


@pytest.fixture(scope="module")
async def agent_core(agent_settings: Settings, database) -> AsyncIterator[Core]:
    """A running Core on the session's embedded PostgreSQL (joined like a second process would)."""
    async with asynccontextmanager(Core(agent_settings).run)() as running:
        yield running
