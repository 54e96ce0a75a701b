"""Fixtures for package_lookup: the recorded registries (MockTransport or a local HTTP server) and a
`PackageService` on the session's real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.db import Database
from singularity_mcp.packages import PackageService
from tests.packages._recorded import Recorded, settings_urls

FIXTURE_PROJECT = Path(__file__).resolve().parent / "fixture_project"


@pytest.fixture
def recorded() -> Recorded:
    return Recorded()


@pytest.fixture
async def clean_cache(database: Database) -> Database:
    """An empty package cache (only these tests write it)."""
    async with database.pool.connection() as conn, conn.transaction():
        await conn.execute("DELETE FROM package_cache")
    return database


@pytest.fixture
async def make_service(
    clean_cache: Database, core: Core, settings: Settings, recorded: Recorded
) -> AsyncIterator[Callable[..., PackageService]]:
    """Build services on the recorded registries: `make_service(ttl_s=..., background=True)`."""
    made: list[PackageService] = []

    def make(*, ttl_s: int = 3600, background: bool = True, embedder: bool = False) -> PackageService:
        configured = settings.model_copy(
            update={**settings_urls("http://recorded.test"), "package_ttl_s": ttl_s}
        )
        service = PackageService.from_settings(
            clean_cache.pool,
            configured,
            transport=recorded.transport(),
            spawn=core.start_background if background else None,
            embedder=_embedder(settings) if embedder else None,
        )
        made.append(service)
        return service

    yield make
    for service in made:
        await service.aclose()


def _embedder(settings: Settings):
    from singularity_mcp.embedding import load_embedder
    from singularity_mcp.errors import Unavailable

    holder: dict[str, object] = {}

    async def get():
        if "e" not in holder:
            import anyio

            model_settings = settings
            try:
                holder["e"] = await anyio.to_thread.run_sync(load_embedder, model_settings)
            except Unavailable as exc:
                pytest.skip(f"embedding model unavailable: {exc}")
        return holder["e"]

    return get
