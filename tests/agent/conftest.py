"""Fixtures for the agent router tests: a Core with the shared model build, on the session's database."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.embedding import load_embedder
from singularity_mcp.errors import Unavailable
from tests.conftest import test_model_dir


@pytest.fixture(scope="session")
def agent_settings(settings: Settings) -> Settings:
    """The session's settings with the shared model build (built once here if missing)."""
    weights = os.environ.get("SINGULARITY_MODEL_WEIGHTS")
    updated = settings.model_copy(
        update={"model_dir": test_model_dir(), "model_weights": Path(weights) if weights else None}
    )
    try:
        load_embedder(updated)
    except Unavailable as exc:
        pytest.skip(f"embedding model unavailable: {exc}")
    return updated


@pytest.fixture(scope="session")
def agent_env() -> dict[str, str]:
    """Environment for spawned servers: the shared model build."""
    return {"SINGULARITY_MODEL_DIR": str(test_model_dir())}


@pytest.fixture(scope="module")
async def agent_core(agent_settings: Settings, database) -> AsyncIterator[Core]:
    """A running Core on the session's embedded PostgreSQL (joined like a second process would)."""
    async with asynccontextmanager(Core(agent_settings).run)() as running:
        yield running
