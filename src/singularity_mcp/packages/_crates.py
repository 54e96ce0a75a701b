"""crates.io's API: `GET /api/v1/crates/<name>`, `.../<version>/dependencies`, `GET /api/v1/crates?q=`."""

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


class CratesClient(JSONRegistry):
    """crates.io refuses requests without a User-Agent naming the client (JSONService sends one)."""

    ecosystem: Ecosystem = "crates"
    label = "crates.io"
    has_search = True
    unknown_package = "crates.io has no crate named {name!r}"

    async def package(self, name: str) -> PackageFacts:
        facts = parse_package(await self._package_document(f"/api/v1/crates/{name}", name))
        if facts.latest_version:
            facts.dependencies = await self._dependencies(facts.name, facts.latest_version)
        return facts

    async def release(self, name: str, version: str) -> ReleaseFacts | None:
        doc = await self._document_or_none(f"/api/v1/crates/{name}/{version}")
        if doc is None:
            return None
        manifest = doc.get("version") or {}
        return ReleaseFacts(
            version=str(manifest.get("num") or version),
            released_at=parse_time(manifest.get("created_at")),
            yanked=bool(manifest.get("yanked")),
            deprecated="yanked" if manifest.get("yanked") else None,
            license=manifest.get("license"),
            dependencies=await self._dependencies(name, version),
        )

    async def search(self, query: str, limit: int) -> list[PackageHit]:
        doc = await self._http.get("/api/v1/crates", params={"q": query, "per_page": min(limit, 100)})
        return [
            PackageHit(
                ecosystem="crates",
                name=crate["name"],
                latest_version=crate.get("max_stable_version") or crate.get("max_version"),
                description=text(crate.get("description"), 500),
                downloads=crate.get("recent_downloads"),
                source="registry",
            )
            for crate in doc.get("crates") or []
            if crate.get("name")
        ]

    async def _dependencies(self, name: str, version: str) -> list[Dependency] | None:
        doc = await self._document_or_none(f"/api/v1/crates/{name}/{version}/dependencies")
        if doc is None:
            return None
        return [
            Dependency(
                name=str(dep.get("crate_id")),
                requirement=str(dep.get("req") or ""),
                kind="optional"
                if dep.get("optional") and dep.get("kind") == "normal"
                else dep.get("kind", "normal"),
            )
            for dep in doc.get("dependencies") or []
            if dep.get("crate_id")
        ]


def parse_package(doc: dict[str, Any]) -> PackageFacts:
    crate = doc.get("crate") or {}
    name = str(crate.get("name") or crate.get("id") or "")
    latest = crate.get("max_stable_version") or crate.get("max_version") or crate.get("newest_version")
    versions = [
        VersionInfo(
            version=str(v["num"]), released_at=parse_time(v.get("created_at")), yanked=bool(v.get("yanked"))
        )
        for v in doc.get("versions") or []
        if v.get("num")
    ]
    latest_entry: dict[str, Any] = next((v for v in doc.get("versions") or [] if v.get("num") == latest), {})
    keywords = [k.get("keyword") or k.get("id") for k in doc.get("keywords") or [] if isinstance(k, dict)]
    return PackageFacts(
        ecosystem="crates",
        name=name,
        latest_version=latest,
        description=text(crate.get("description")),
        keywords=[str(k) for k in keywords if k][:20] or [str(k) for k in crate.get("keywords") or []][:20],
        license=latest_entry.get("license"),
        homepage=url(crate.get("homepage") or crate.get("documentation")),
        repository=url(crate.get("repository")),
        downloads=crate.get("recent_downloads"),
        downloads_period="last 90 days" if crate.get("recent_downloads") is not None else None,
        released_at=parse_time(latest_entry.get("created_at")),
        **version_fields(versions),
        deprecated="yanked" if latest_entry.get("yanked") else None,
        registry_url=f"https://crates.io/crates/{name}",
    )
