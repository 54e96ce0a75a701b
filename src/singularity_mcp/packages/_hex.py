"""Hex's API: `GET /api/packages/<name>`, `.../releases/<version>`, `GET /api/packages?search=`."""

from __future__ import annotations

from typing import Any

from singularity_mcp.packages._registry import JSONRegistry, parse_time, text, url, version_fields
from singularity_mcp.packages.models import (
    Dependency,
    Ecosystem,
    PackageFacts,
    PackageHit,
    ReleaseFacts,
    VersionInfo,
)

_REPO_LINKS = ("github", "gitlab", "source", "repository", "bitbucket", "codeberg")


class HexClient(JSONRegistry):
    ecosystem: Ecosystem = "hex"
    label = "Hex (hex.pm)"
    has_search = True
    unknown_package = "Hex has no package named {name!r}"

    async def package(self, name: str) -> PackageFacts:
        facts = parse_package(await self._package_document(f"/api/packages/{name}", name))
        if facts.latest_version:
            release = await self.release(facts.name, facts.latest_version)
            if release is not None:
                facts.dependencies = release.dependencies
        return facts

    async def release(self, name: str, version: str) -> ReleaseFacts | None:
        doc = await self._document_or_none(f"/api/packages/{name}/releases/{version}")
        if doc is None:
            return None
        retirement = doc.get("retirement")
        return ReleaseFacts(
            version=str(doc.get("version") or version),
            released_at=parse_time(doc.get("inserted_at")),
            yanked=bool(retirement),
            deprecated=_retired(retirement),
            dependencies=[
                Dependency(
                    name=dep,
                    requirement=str((spec or {}).get("requirement") or ""),
                    kind="optional" if (spec or {}).get("optional") else "normal",
                )
                for dep, spec in (doc.get("requirements") or {}).items()
            ],
        )

    async def search(self, query: str, limit: int) -> list[PackageHit]:
        doc = await self._http.get("/api/packages", params={"search": query, "sort": "recent_downloads"})
        hits = []
        for package in (doc if isinstance(doc, list) else [])[:limit]:
            if not package.get("name"):
                continue
            meta = package.get("meta") or {}
            hits.append(
                PackageHit(
                    ecosystem="hex",
                    name=package["name"],
                    latest_version=package.get("latest_stable_version") or package.get("latest_version"),
                    description=text(meta.get("description"), 500),
                    license=", ".join(meta.get("licenses") or []) or None,
                    downloads=(package.get("downloads") or {}).get("week"),
                    source="registry",
                )
            )
        return hits


def parse_package(doc: dict[str, Any]) -> PackageFacts:
    name = str(doc.get("name") or "")
    meta = doc.get("meta") or {}
    latest = doc.get("latest_stable_version") or doc.get("latest_version")
    retirements = doc.get("retirements") or {}
    versions = [
        VersionInfo(
            version=str(r["version"]),
            released_at=parse_time(r.get("inserted_at")),
            yanked=str(r["version"]) in retirements,
        )
        for r in doc.get("releases") or []
        if r.get("version")
    ]
    links = {str(k).lower(): v for k, v in (meta.get("links") or {}).items()}
    repository = next((links[k] for k in _REPO_LINKS if k in links), None)
    homepage = links.get("homepage") or links.get("website") or doc.get("docs_html_url")
    downloads = doc.get("downloads") or {}
    return PackageFacts(
        ecosystem="hex",
        name=name,
        latest_version=latest,
        description=text(meta.get("description")),
        license=", ".join(meta.get("licenses") or []) or None,
        homepage=url(homepage),
        repository=url(repository),
        downloads=downloads.get("week"),
        downloads_period="last week" if downloads.get("week") is not None else None,
        released_at=next((v.released_at for v in versions if v.version == latest), None),
        **version_fields(versions),
        deprecated=_retired(retirements.get(latest)) if latest else None,
        registry_url=doc.get("html_url") or f"https://hex.pm/packages/{name}",
    )


def _retired(retirement: Any) -> str | None:
    if not isinstance(retirement, dict):
        return None
    reason = retirement.get("reason") or "retired"
    message = retirement.get("message")
    return f"retired ({reason})" + (f": {message}" if message else "")
