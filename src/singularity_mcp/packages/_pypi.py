"""PyPI's JSON API: `GET /pypi/<name>/json` and `GET /pypi/<name>/<version>/json`."""

from __future__ import annotations

import re
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from singularity_mcp.packages._registry import JSONRegistry, parse_time, text, url, version_fields
from singularity_mcp.packages.models import (
    Advisory,
    Dependency,
    Ecosystem,
    PackageFacts,
    PackageHit,
    ReleaseFacts,
    VersionInfo,
)

_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")
_REPO_KEYS = ("source", "source code", "repository", "code", "github", "git")


class PyPIClient(JSONRegistry):
    ecosystem: Ecosystem = "pypi"
    label = "PyPI"
    has_search = False  # PyPI has no JSON search API
    unknown_package = "PyPI has no package named {name!r}"

    async def package(self, name: str) -> PackageFacts:
        return parse_package(await self._package_document(f"/pypi/{name}/json", name))

    async def release(self, name: str, version: str) -> ReleaseFacts | None:
        doc = await self._document_or_none(f"/pypi/{name}/{version}/json")
        if doc is None:
            return None  # unknown version, or a mirror without per-version documents: the caller checks
        info = doc.get("info") or {}
        files = doc.get("urls") or []
        times = [t for t in (parse_time(f.get("upload_time_iso_8601")) for f in files) if t]
        return ReleaseFacts(
            version=str(info.get("version") or version),
            released_at=min(times) if times else None,
            yanked=bool(info.get("yanked")),
            deprecated=_yanked(info),
            license=_license(info),
            dependencies=_dependencies(info),
            advisories=[_advisory(v) for v in doc["vulnerabilities"] if not v.get("withdrawn")]
            if isinstance(doc.get("vulnerabilities"), list)
            else None,
        )

    async def search(self, query: str, limit: int) -> list[PackageHit]:
        return []


def parse_package(doc: dict[str, Any]) -> PackageFacts:
    info = doc.get("info") or {}
    name = str(info.get("name") or "")
    versions = []
    for version, files in (doc.get("releases") or {}).items():
        if not files:
            continue
        times = [t for t in (parse_time(f.get("upload_time_iso_8601")) for f in files) if t]
        versions.append(
            VersionInfo(
                version=version,
                released_at=min(times) if times else None,
                yanked=all(f.get("yanked") for f in files),
            )
        )
    latest = str(info.get("version") or "") or None
    released = next((v.released_at for v in versions if v.version == latest), None)
    if released is None:
        times = [t for t in (parse_time(f.get("upload_time_iso_8601")) for f in doc.get("urls") or []) if t]
        released = min(times) if times else None
    urls = {str(k).lower(): v for k, v in (info.get("project_urls") or {}).items()}
    repository = next((urls[k] for k in _REPO_KEYS if k in urls), None) or next(
        (v for v in urls.values() if isinstance(v, str) and "github.com/" in v), None
    )
    homepage = info.get("home_page") or urls.get("homepage") or urls.get("home") or urls.get("documentation")
    return PackageFacts(
        ecosystem="pypi",
        name=name,
        latest_version=latest,
        description=text(info.get("summary")),
        keywords=_keywords(info.get("keywords")),
        license=_license(info),
        homepage=url(homepage),
        repository=url(repository),
        released_at=released,
        **version_fields(versions),
        dependencies=_dependencies(info),
        deprecated=_yanked(info),
        advisories=[_advisory(v) for v in doc.get("vulnerabilities") or [] if not v.get("withdrawn")],
        advisories_source="pypi" if "vulnerabilities" in doc else None,
        registry_url=info.get("package_url") or info.get("project_url"),
    )


def _keywords(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(k) for k in value][:20]
    if not isinstance(value, str):
        return []
    parts = value.split(",") if "," in value else value.split()
    return [p.strip() for p in parts if p.strip()][:20]


def _license(info: dict[str, Any]) -> str | None:
    expression = info.get("license_expression")
    if isinstance(expression, str) and expression.strip():
        return expression.strip()
    licence = info.get("license")
    if isinstance(licence, str) and licence.strip() and len(licence) <= 100 and "\n" not in licence.strip():
        return licence.strip()
    for classifier in info.get("classifiers") or []:
        if classifier.startswith("License ::") and not classifier.endswith(":: OSI Approved"):
            return classifier.rsplit("::", 1)[-1].strip()
    return None


def _yanked(info: dict[str, Any]) -> str | None:
    if info.get("yanked"):
        return "yanked" + (f": {info['yanked_reason']}" if info.get("yanked_reason") else "")
    return None


def _dependencies(info: dict[str, Any]) -> list[Dependency] | None:
    requires = info.get("requires_dist")
    if requires is None:
        return None
    found = []
    for line in requires:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        marker = str(requirement.marker) if requirement.marker else ""
        extra = _EXTRA.search(marker)
        found.append(
            Dependency(
                name=requirement.name,
                requirement=str(requirement.specifier),
                kind=f"extra:{extra.group(1)}" if extra else "normal",
            )
        )
    return found


def _advisory(vuln: dict[str, Any]) -> Advisory:
    """PyPI's `vulnerabilities` entries (OSV-sourced: id, aliases, summary, details, fixed_in, link)."""
    summary = vuln.get("summary") or (vuln.get("details") or "").strip().split("\n", 1)[0]
    return Advisory(
        id=str(vuln.get("id", "")),
        summary=str(summary)[:300],
        aliases=[str(a) for a in vuln.get("aliases") or []],
        fixed_in=[str(v) for v in vuln.get("fixed_in") or []],
        url=vuln.get("link"),
    )
