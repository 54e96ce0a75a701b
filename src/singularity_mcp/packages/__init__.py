"""Package intelligence for PyPI, npm, crates.io and Hex: registry facts cached in PostgreSQL, OSV
advisories, search by meaning over known packages, and audits of a project's manifests.

Entry point: `PackageService` (`lookup`, `search`, `audit`), built with `PackageService.from_settings`.
Models live in `packages.models`. The service is imported lazily so `import singularity_mcp.packages.models`
stays cheap (the MCP server lists its tools without loading HTTP clients).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from singularity_mcp.packages._names import parse_ecosystem
from singularity_mcp.packages._summary import summary

if TYPE_CHECKING:
    from singularity_mcp.packages._service import PackageService

__all__ = ["PackageService", "package_service", "parse_ecosystem", "summary"]


def __getattr__(name: str) -> Any:
    if name == "PackageService":
        from singularity_mcp.packages._service import PackageService

        return PackageService
    if name == "package_service":
        from singularity_mcp.packages._process import package_service

        return package_service
    raise AttributeError(name)
