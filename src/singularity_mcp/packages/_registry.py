"""What every registry client shares: the interface the service relies on, the scaffolding of a client on
one JSON API, and small parsing helpers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol, TypedDict

import httpx2

from singularity_mcp.errors import NotFound
from singularity_mcp.packages._http import JSONService
from singularity_mcp.packages.models import Ecosystem, PackageFacts, PackageHit, ReleaseFacts, VersionInfo

RECENT_VERSIONS = 10


class RegistryClient(Protocol):
    """One package registry. `package` and `release` raise `NotFound` / `Unavailable`."""

    ecosystem: Ecosystem
    label: str
    has_search: bool

    async def package(self, name: str) -> PackageFacts: ...

    async def release(self, name: str, version: str) -> ReleaseFacts | None:
        """Facts of one version; None when the registry cannot tell more than the package document."""
        ...

    async def search(self, query: str, limit: int) -> list[PackageHit]: ...

    async def aclose(self) -> None: ...


class JSONRegistry:
    """A registry client on one JSON API: the service (timeouts, retries), closing it, and the two
    meanings of a missing document: an unknown package (an error that names it) or nothing more to tell
    about a version (None)."""

    ecosystem: Ecosystem
    label: str
    has_search: bool
    unknown_package: str
    """The message for a package the registry does not have, with `{name}` (`"PyPI has no package named
    {name!r}"`)."""

    def __init__(self, base_url: str, *, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        self._http = JSONService(base_url, label=self.label, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _package_document(self, path: str, name: str) -> Any:
        try:
            return await self._http.get(path)
        except NotFound:
            raise NotFound(self.unknown_package.format(name=name)) from None

    async def _document_or_none(self, path: str) -> Any | None:
        try:
            return await self._http.get(path)
        except NotFound:
            return None


class VersionFields(TypedDict):
    versions: list[VersionInfo]
    version_count: int
    all_versions: list[str]
    yanked_versions: list[str]
    release_dates: dict[str, datetime]


def version_fields(versions: list[VersionInfo]) -> VersionFields:
    """The `PackageFacts` fields every registry derives alike from its list of all versions."""
    return VersionFields(
        versions=recent(versions),
        version_count=len(versions),
        all_versions=[v.version for v in versions],
        yanked_versions=[v.version for v in versions if v.yanked],
        release_dates={v.version: v.released_at for v in versions if v.released_at},
    )


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (as every registry sends them), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def recent(versions: Iterable[VersionInfo], limit: int = RECENT_VERSIONS) -> list[VersionInfo]:
    """The `limit` newest releases by date (undated ones last)."""
    dated = sorted(versions, key=lambda v: (v.released_at is not None, v.released_at), reverse=True)
    return dated[:limit]


def text(value: Any, limit: int = 1000) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def url(value: Any) -> str | None:
    """A repository/homepage field (string or {url: ...}) as a plain https URL where possible."""
    if isinstance(value, dict):
        value = value.get("url")
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    for prefix in ("git+", "git://"):
        if value.startswith(prefix):
            value = value[len(prefix) :] if prefix == "git+" else "https://" + value[len(prefix) :]
    if value.startswith("git@github.com:"):
        value = "https://github.com/" + value[len("git@github.com:") :]
    if value.startswith("github:"):
        value = "https://github.com/" + value[len("github:") :]
    if value.endswith(".git"):
        value = value[:-4]
    if "://" not in value and value.count("/") == 1:  # npm shorthand "owner/repo"
        value = "https://github.com/" + value
    return value
