"""The npm registry: package documents (`GET /<name>`), versions, search, and the downloads API."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import httpx2

from singularity_mcp.errors import SingularityError
from singularity_mcp.packages._http import JSONService
from singularity_mcp.packages._registry import JSONRegistry, parse_time, text, url, version_fields
from singularity_mcp.packages.models import (
    Dependency,
    Ecosystem,
    PackageFacts,
    PackageHit,
    ReleaseFacts,
    VersionInfo,
)

logger = logging.getLogger(__name__)

_DEPENDENCY_KINDS = (
    ("dependencies", "normal"),
    ("optionalDependencies", "optional"),
    ("peerDependencies", "peer"),
)


def _path(name: str) -> str:
    return "/" + name.replace("/", "%2F")  # scoped names: @scope%2Fname


class NpmClient(JSONRegistry):
    ecosystem: Ecosystem = "npm"
    label = "the npm registry"
    has_search = True
    unknown_package = "npm has no package named {name!r}"

    def __init__(
        self,
        base_url: str,
        downloads_url: str,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, transport=transport)
        self._downloads = JSONService(
            downloads_url, label="the npm downloads API", transport=transport, retries=0
        )

    async def aclose(self) -> None:
        await super().aclose()
        await self._downloads.aclose()

    async def package(self, name: str) -> PackageFacts:
        downloads: list[int | None] = [None]

        async def weekly() -> None:
            downloads[0] = await self._weekly_downloads(name)

        failed: SingularityError | None = None
        async with anyio.create_task_group() as tg:  # the two APIs at once
            tg.start_soon(weekly)
            try:
                doc = await self._package_document(_path(name), name)
            except SingularityError as exc:
                failed = exc
                tg.cancel_scope.cancel()
        if failed is not None:
            raise failed
        facts = parse_package(doc)
        facts.downloads = downloads[0]
        facts.downloads_period = "last week" if facts.downloads is not None else None
        return facts

    async def release(self, name: str, version: str) -> ReleaseFacts | None:
        doc = await self._document_or_none(f"{_path(name)}/{version}")
        return None if doc is None else _release(doc, None)

    async def search(self, query: str, limit: int) -> list[PackageHit]:
        doc = await self._http.get("/-/v1/search", params={"text": query, "size": min(limit, 250)})
        hits = []
        for item in doc.get("objects") or []:
            package = item.get("package") or {}
            if not package.get("name"):
                continue
            downloads = item.get("downloads")
            hits.append(
                PackageHit(
                    ecosystem="npm",
                    name=package["name"],
                    latest_version=package.get("version"),
                    description=text(package.get("description"), 500),
                    license=package.get("license") if isinstance(package.get("license"), str) else None,
                    downloads=downloads.get("weekly") if isinstance(downloads, dict) else None,
                    source="registry",
                )
            )
        return hits

    async def _weekly_downloads(self, name: str) -> int | None:
        """Last week's downloads; None when the downloads API cannot be reached (facts still useful)."""
        try:
            doc = await self._downloads.get(f"/downloads/point/last-week/{name}")
        except SingularityError as exc:
            logger.debug("npm downloads for %s unavailable: %s", name, exc)
            return None
        value = doc.get("downloads") if isinstance(doc, dict) else None
        return int(value) if isinstance(value, int) else None


def parse_package(doc: dict[str, Any]) -> PackageFacts:
    name = str(doc.get("name") or "")
    latest = (doc.get("dist-tags") or {}).get("latest")
    all_versions = doc.get("versions") or {}
    times = doc.get("time") or {}
    manifest = all_versions.get(latest) or {}
    versions = [
        VersionInfo(version=v, released_at=parse_time(times.get(v)), yanked=False) for v in all_versions
    ]
    release = _release(manifest, parse_time(times.get(latest)))
    keywords = manifest.get("keywords") or doc.get("keywords") or []
    return PackageFacts(
        ecosystem="npm",
        name=name,
        latest_version=latest,
        description=text(manifest.get("description") or doc.get("description")),
        keywords=[str(k) for k in keywords][:20] if isinstance(keywords, list) else [],
        license=release.license or _license(doc.get("license")),
        homepage=url(manifest.get("homepage") or doc.get("homepage")),
        repository=url(manifest.get("repository") or doc.get("repository")),
        released_at=release.released_at,
        **version_fields(versions),
        dependencies=release.dependencies,
        deprecated=release.deprecated,
        registry_url=f"https://www.npmjs.com/package/{name}",
    )


def _release(manifest: dict[str, Any], released_at: Any) -> ReleaseFacts:
    dependencies = []
    for field, kind in _DEPENDENCY_KINDS:
        for dep, requirement in (manifest.get(field) or {}).items():
            dependencies.append(Dependency(name=dep, requirement=str(requirement), kind=kind))
    deprecated = manifest.get("deprecated")
    return ReleaseFacts(
        version=str(manifest.get("version") or ""),
        released_at=released_at,
        deprecated=str(deprecated) if deprecated else None,
        license=_license(manifest.get("license")),
        dependencies=dependencies,
    )


def _license(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("type")
    if isinstance(value, list):  # old `licenses: [{type}]` form
        value = " OR ".join(str(v.get("type") if isinstance(v, dict) else v) for v in value)
    return value.strip() if isinstance(value, str) and value.strip() else None
