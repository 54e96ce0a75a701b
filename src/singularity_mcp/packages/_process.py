"""The process-wide package service of a running core (one per process, built on first use)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from singularity_mcp.core import Core
    from singularity_mcp.packages._service import PackageService


async def package_service(core: Core) -> PackageService:
    """The process-wide service (HTTP clients, cache on the core's database), built on first use."""

    async def build(core: Core) -> PackageService:
        from singularity_mcp.packages import PackageService

        database = await core.database()
        service = PackageService.from_settings(
            database.pool, core.settings, embedder=core.embedder, spawn=core.start_background
        )
        core.on_close(service.aclose)
        return service

    return await core.service("packages", build)
