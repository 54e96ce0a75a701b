"""Package facts, search hits and audit reports: the `package_lookup` contract as pydantic models."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Ecosystem = Literal["pypi", "npm", "crates", "hex"]
ECOSYSTEMS: tuple[Ecosystem, ...] = ("pypi", "npm", "crates", "hex")

# OSV's names for our ecosystems (https://ossf.github.io/osv-schema/#affectedpackage-field), plus Go for audits.
OSV_ECOSYSTEM = {"pypi": "PyPI", "npm": "npm", "crates": "crates.io", "hex": "Hex", "go": "Go"}

ADVISORIES_NOT_CHECKED = "advisories not checked"
"""How an audit entry's `error` starts when only its advisories could not be checked."""


class Advisory(BaseModel):
    """One known vulnerability (OSV record) affecting the version asked about."""

    id: str
    summary: str = ""
    aliases: list[str] = Field(default_factory=list)
    severity: str | None = None
    """Database severity (LOW/MODERATE/HIGH/CRITICAL) or a CVSS vector, when the record has one."""
    fixed_in: list[str] = Field(default_factory=list)
    published: datetime | None = None
    url: str | None = None


class Dependency(BaseModel):
    name: str
    requirement: str = ""
    kind: str = "normal"
    """normal, dev, build, optional, peer, or an extra's name (`extra:cli`)."""


class VersionInfo(BaseModel):
    version: str
    released_at: datetime | None = None
    yanked: bool = False


class ReleaseFacts(BaseModel):
    """What a registry says about one version of a package."""

    version: str
    released_at: datetime | None = None
    yanked: bool = False
    deprecated: str | None = None
    license: str | None = None
    dependencies: list[Dependency] | None = None
    """None when the registry did not say (distinct from an empty list)."""
    advisories: list[Advisory] | None = None
    """The registry's own advisory list for this version (PyPI publishes one); None when it has none."""


class PackageFacts(BaseModel):
    """Registry facts about a package, as cached."""

    ecosystem: Ecosystem
    name: str
    latest_version: str | None = None
    description: str = ""
    keywords: list[str] = Field(default_factory=list)
    license: str | None = None
    homepage: str | None = None
    repository: str | None = None
    downloads: int | None = None
    """Recent downloads where the registry publishes them (npm: last week, crates.io: 90 days, Hex: week)."""
    downloads_period: str | None = None
    released_at: datetime | None = None
    """Release date of `latest_version`."""
    versions: list[VersionInfo] = Field(default_factory=list)
    """The most recent releases, newest first (capped)."""
    version_count: int = 0
    all_versions: list[str] = Field(default_factory=list)
    """Every published version (for resolving requirements); not returned by the tool."""
    yanked_versions: list[str] = Field(default_factory=list)
    release_dates: dict[str, datetime] = Field(default_factory=dict)
    """Release date of every dated version; not returned by the tool."""
    dependencies: list[Dependency] | None = None
    deprecated: str | None = None
    """Why the latest version is deprecated, retired or yanked; None when it is not."""
    advisories: list[Advisory] = Field(default_factory=list)
    advisories_source: Literal["osv", "pypi"] | None = None
    """Where `advisories` came from; None means they could not be checked (OSV unreachable)."""
    registry_url: str | None = None


class PackageLookupResult(BaseModel):
    """Answer of `package_lookup`: by name the package's facts; by query ranked hits; by path an audit."""

    mode: Literal["package", "search", "audit"]
    # --- by name ---
    ecosystem: Ecosystem | None = None
    name: str | None = None
    version: str | None = None
    """The version asked about (defaults to the latest)."""
    latest_version: str | None = None
    description: str | None = None
    keywords: list[str] = Field(default_factory=list)
    license: str | None = None
    homepage: str | None = None
    repository: str | None = None
    downloads: int | None = None
    downloads_period: str | None = None
    released_at: datetime | None = None
    versions: list[VersionInfo] = Field(default_factory=list)
    version_count: int | None = None
    dependencies: list[Dependency] | None = None
    advisories: list[Advisory] = Field(default_factory=list)
    advisories_source: Literal["osv", "pypi"] | None = None
    deprecated: str | None = None
    registry_url: str | None = None
    fetched_at: datetime | None = None
    stale: bool | None = None
    """True when the facts are older than the cache TTL (a refresh runs in the background) or the
    registry could not be reached."""
    also_found_in: list[PackageHit] = Field(default_factory=list)
    """Other ecosystems with a package of this name (when `ecosystem` was not given)."""
    # --- by query ---
    results: list[PackageHit] | None = None
    # --- by path ---
    audit: AuditReport | None = None
    unreachable: list[str] = Field(
        default_factory=list,
        description="Services that could not be reached for this answer (said once in `notes`; cached "
        "facts stand in where there are some).",
    )
    notes: list[str] = Field(default_factory=list)


class PackageHit(BaseModel):
    """A package in search results (or another ecosystem holding the same name)."""

    ecosystem: Ecosystem
    name: str
    latest_version: str | None = None
    description: str = ""
    license: str | None = None
    downloads: int | None = None
    similarity: float | None = None
    source: Literal["cache", "registry", "both"] = "cache"


class AuditEntry(BaseModel):
    """One declared dependency of the project, checked against its registry."""

    manifest: str
    ecosystem: Ecosystem | Literal["go"]
    name: str
    requirement: str
    """As written in the manifest (`>=1.2`, `^4.17.0`, `~> 1.4`, `v1.2.3`)."""
    kind: str = "normal"
    wanted: str | None = None
    """The version the requirement selects: the pin, else the newest release that satisfies it."""
    latest: str | None = None
    outdated: bool | None = None
    """True when the latest release falls outside the requirement (an upgrade needs a manifest edit)."""
    license: str | None = None
    advisories: list[Advisory] = Field(default_factory=list)
    advisories_source: Literal["osv", "pypi"] | None = None
    """Where `advisories` came from; None means they could not be checked (see `error`)."""
    deprecated: str | None = None
    stale: bool | None = None
    error: str | None = None
    """Why this dependency could not be fully checked."""


class AuditReport(BaseModel):
    path: str
    manifests: list[str]
    dependencies: list[AuditEntry]
    vulnerable: int
    outdated: int
    errors: int
    advisories_unchecked: int = 0
    """Dependencies whose advisories could not be checked: `vulnerable` counts only the others."""
    truncated: bool = False


PackageLookupResult.model_rebuild()
