"""Package intelligence: cached lookups (fresh / stale-while-refreshing / offline), ecosystem detection,
search by meaning merged with registry search, and manifest audits."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anyio
import httpx2
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, Field

from singularity_mcp.config import Settings
from singularity_mcp.errors import InvalidInput, NotFound, SingularityError, Unavailable
from singularity_mcp.packages import _cache
from singularity_mcp.packages._crates import CratesClient
from singularity_mcp.packages._hex import HexClient
from singularity_mcp.packages._manifests import MAX_DEPENDENCIES, Declared, find_manifests, read_manifest
from singularity_mcp.packages._names import cache_key, check_name, check_version, is_valid_name
from singularity_mcp.packages._npm import NpmClient
from singularity_mcp.packages._osv import OSVClient
from singularity_mcp.packages._pypi import PyPIClient
from singularity_mcp.packages._registry import RegistryClient
from singularity_mcp.packages._versions import satisfies, select
from singularity_mcp.packages.models import (
    ADVISORIES_NOT_CHECKED,
    ECOSYSTEMS,
    OSV_ECOSYSTEM,
    Advisory,
    AuditEntry,
    AuditReport,
    Ecosystem,
    PackageFacts,
    PackageHit,
    PackageLookupResult,
    ReleaseFacts,
)
from singularity_mcp.paths import AllowedRoots

if TYPE_CHECKING:
    from singularity_mcp.embedding import Embedder

logger = logging.getLogger(__name__)

Spawn = Callable[..., None]
AdvisorySource = Literal["osv", "pypi"] | None
_GO_MODULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~/-]{0,250}$")
_EMBED_BATCH = 512
_EMBED_ROUNDS = 20  # at most 10,240 newly cached packages embedded per search
MAX_TOP_K = 50


class _AdvisorySet(BaseModel):
    advisories: list[Advisory] = Field(default_factory=list)


class PackageService:
    """The plain async API behind `package_lookup`. One per process; `aclose()` closes the HTTP clients.

    `spawn(fn, *args, name=...)` runs background refreshes (the core's `start_background`); without it a
    stale entry is served as stale and refreshed on a later call that has one.
    """

    def __init__(
        self,
        pool: AsyncConnectionPool,
        *,
        clients: dict[Ecosystem, RegistryClient],
        osv: OSVClient,
        ttl_s: float,
        embedder: Callable[[], Awaitable[Embedder]] | None = None,
        spawn: Spawn | None = None,
        deadline_s: float = 30.0,
        concurrency: int = 8,
    ) -> None:
        self.pool = pool
        self.clients = clients
        self.osv = osv
        self.ttl = timedelta(seconds=ttl_s)
        self.deadline_s = deadline_s
        self._embedder = embedder
        self._spawn = spawn
        self._refreshing: set[tuple[str, str, str, str]] = set()
        self._fetching: dict[tuple[str, str, str, str], anyio.Event] = {}
        self._limiter = anyio.CapacityLimiter(concurrency)

    @classmethod
    def from_settings(
        cls,
        pool: AsyncConnectionPool,
        settings: Settings,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        embedder: Callable[[], Awaitable[Embedder]] | None = None,
        spawn: Spawn | None = None,
    ) -> PackageService:
        clients: dict[Ecosystem, RegistryClient] = {
            "pypi": PyPIClient(settings.pypi_url, transport=transport),
            "npm": NpmClient(settings.npm_url, settings.npm_downloads_url, transport=transport),
            "crates": CratesClient(settings.crates_url, transport=transport),
            "hex": HexClient(settings.hex_url, transport=transport),
        }
        osv = OSVClient(settings.osv_url, transport=transport)
        return cls(
            pool, clients=clients, osv=osv, ttl_s=settings.package_ttl_s, embedder=embedder, spawn=spawn
        )

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()
        await self.osv.aclose()

    # --- by name ------------------------------------------------------------------------------------

    async def lookup(
        self, name: str, ecosystem: Ecosystem | None = None, version: str | None = None
    ) -> PackageLookupResult:
        """Facts of `name` (at `version`, default the latest). Without `ecosystem`, every registry where the
        name is valid is asked at once; the package with the most releases answers, the others are listed."""
        version = check_version(version) if version else None
        if ecosystem is not None:
            return _say_unreachable(await self._lookup_one(ecosystem, check_name(ecosystem, name), version))
        name = name.strip()
        candidates = [e for e in ECOSYSTEMS if is_valid_name(e, name)]
        if not candidates:
            raise InvalidInput(f"{name[:80]!r} is not a valid package name in any of {', '.join(ECOSYSTEMS)}")
        outcomes: dict[Ecosystem, PackageFacts | SingularityError] = {}

        async def one(eco: Ecosystem) -> None:
            try:
                outcomes[eco] = (await self.package(eco, name))[0]
            except SingularityError as exc:
                outcomes[eco] = exc

        async with anyio.create_task_group() as tg:
            for eco in candidates:
                tg.start_soon(one, eco)
        found = [f for e in candidates if isinstance(f := outcomes[e], PackageFacts)]
        failed = {e: r for e, r in outcomes.items() if isinstance(r, Unavailable)}
        if not found:
            if failed:
                detail = "; ".join(str(exc) for exc in failed.values())
                raise Unavailable(
                    f"could not tell where {name!r} is published and nothing is cached: {detail}"
                )
            where = ", ".join(self.clients[e].label for e in candidates)
            raise NotFound(f"no package named {name!r} on {where}: check the spelling or pass ecosystem")
        found.sort(key=lambda f: -f.version_count)  # stable: ties keep the ECOSYSTEMS order
        first, others = found[0], found[1:]
        primary = await self._lookup_one(first.ecosystem, name, version)
        primary.also_found_in = [_hit(o) for o in others]
        if others:
            primary.notes.append(
                f"{name!r} also exists on {', '.join(o.ecosystem for o in others)}: pass ecosystem to choose"
            )
        primary.unreachable += [self.clients[e].label for e in failed]
        return _say_unreachable(primary)

    async def package(self, ecosystem: Ecosystem, name: str) -> tuple[PackageFacts, datetime, bool]:
        """The cached (or fetched) package document: (facts, fetched_at, stale). Raises NotFound."""
        client = self.clients[ecosystem]
        payload, fetched_at, stale = await self._cached(
            "package", ecosystem, cache_key(ecosystem, name), "", lambda: client.package(name)
        )
        if payload is None:
            raise NotFound(f"{client.label} has no package named {name!r}: check the spelling")
        return PackageFacts.model_validate(payload), fetched_at, stale

    async def _lookup_one(self, ecosystem: Ecosystem, name: str, version: str | None) -> PackageLookupResult:
        facts, fetched_at, stale = await self.package(ecosystem, name)
        target = version or facts.latest_version
        result = PackageLookupResult(
            mode="package",
            **facts.model_dump(exclude={"all_versions", "yanked_versions", "release_dates"}),
            version=target,
            fetched_at=fetched_at,
            stale=stale,
        )
        if stale:
            result.notes.append(
                f"cached facts from {fetched_at:%Y-%m-%d %H:%M} UTC (older than the cache TTL); "
                "a refresh runs in the background"
            )
        if version and version != facts.latest_version:
            await self._apply_release(result, facts, version)
        if target:
            advisories, source, note = await self.advisories(ecosystem, facts, target)
            result.advisories, result.advisories_source = advisories, source
            if note:  # OSV was out of reach
                result.notes.append(note)
                result.unreachable.append(self.osv.label)
        return result

    async def release(self, facts: PackageFacts, version: str) -> ReleaseFacts | None:
        """The registry's facts on one version (cached); None when it keeps no per-version document."""
        client = self.clients[facts.ecosystem]
        key = cache_key(facts.ecosystem, facts.name)
        payload, _, _ = await self._cached(
            "release", facts.ecosystem, key, version, lambda: client.release(facts.name, version)
        )
        return ReleaseFacts.model_validate(payload) if payload is not None else None

    async def _apply_release(self, result: PackageLookupResult, facts: PackageFacts, version: str) -> None:
        """Fill `result` with what the registry says about `version`."""
        client = self.clients[facts.ecosystem]
        release = await self.release(facts, version)
        released_at = facts.release_dates.get(version)
        if release is not None:
            result.released_at = release.released_at or released_at
            result.dependencies = release.dependencies
            result.deprecated = release.deprecated
            result.license = release.license or facts.license
            return
        if version not in facts.all_versions:
            recent = ", ".join(v.version for v in facts.versions[:5])
            raise NotFound(
                f"{facts.name} has no version {version!r} on {client.label}: "
                f"latest is {facts.latest_version} (recent: {recent})"
            )
        result.released_at = released_at
        result.dependencies = None
        result.deprecated = "yanked" if version in facts.yanked_versions else None
        result.notes.append(f"{client.label} gave no per-version document: dependencies of {version} unknown")

    async def advisories(
        self,
        ecosystem: str,
        facts: PackageFacts | None,
        version: str,
        name: str | None = None,
    ) -> tuple[list[Advisory], AdvisorySource, str | None]:
        """OSV advisories for one version: (advisories, source, note). Never raises for OSV trouble: when
        OSV is out of reach, PyPI's own record (its package document for the latest version, its per-version
        document for others) stands in, else the advisories are reported as not checked."""
        name = name or (facts.name if facts else "")
        # `in ECOSYSTEMS` narrows str to Ecosystem from mypy 2.0 on; earlier versions need the ignore.
        key = cache_key(ecosystem, name) if ecosystem in ECOSYSTEMS else name  # type: ignore[arg-type, unused-ignore]

        async def fetch() -> _AdvisorySet:
            return _AdvisorySet(advisories=await self.osv.query(OSV_ECOSYSTEM[ecosystem], name, version))

        try:
            payload, _, _ = await self._cached("advisories", ecosystem, key, version, fetch)
        except Unavailable as exc:
            stand_in = await self._pypi_advisories(facts, version)
            if stand_in is not None:
                return stand_in, "pypi", f"advisories from PyPI's own record ({self.osv.label} out of reach)"
            return [], None, f"{ADVISORIES_NOT_CHECKED}: {exc}"
        return _AdvisorySet.model_validate(payload or {}).advisories, "osv", None

    async def _pypi_advisories(self, facts: PackageFacts | None, version: str) -> list[Advisory] | None:
        if facts is None or facts.ecosystem != "pypi":
            return None
        if version == facts.latest_version:
            return facts.advisories if facts.advisories_source == "pypi" else None
        try:
            release = await self.release(facts, version)
        except Unavailable:
            return None
        return release.advisories if release is not None else None

    # --- the cache ----------------------------------------------------------------------------------

    async def _cached(
        self,
        kind: _cache.Kind,
        ecosystem: str,
        key: str,
        version: str,
        fetch: Callable[[], Awaitable[BaseModel | None]],
    ) -> tuple[Any, datetime, bool]:
        """(payload or None for "not found", fetched_at, stale): fresh from the cache, stale from the cache
        with a background refresh, or fetched now when nothing is cached."""
        ident = (kind, ecosystem, key, version)
        row = await _cache.get(self.pool, kind, ecosystem, key, version)
        if row is None and ident in self._fetching:  # someone is fetching it: wait, then read their result
            await self._fetching[ident].wait()
            row = await _cache.get(self.pool, kind, ecosystem, key, version)
        if row is not None:
            if datetime.now(UTC) - row.fetched_at <= self.ttl:
                return row.payload, row.fetched_at, False
            self._refresh_later(kind, ecosystem, key, version, fetch)
            return row.payload, row.fetched_at, True
        done = self._fetching.setdefault(ident, anyio.Event())
        try:
            payload, fetched_at = await self._fetch_and_store(kind, ecosystem, key, version, fetch)
        finally:
            if self._fetching.get(ident) is done:
                del self._fetching[ident]
            done.set()
        return payload, fetched_at, False

    async def _fetch_and_store(
        self,
        kind: _cache.Kind,
        ecosystem: str,
        key: str,
        version: str,
        fetch: Callable[[], Awaitable[BaseModel | None]],
    ) -> tuple[Any, datetime]:
        try:
            async with self._limiter:
                with anyio.fail_after(self.deadline_s):
                    value = await fetch()
        except TimeoutError:
            raise Unavailable(
                f"{ecosystem} {kind} lookup for {key!r} took longer than {self.deadline_s:.0f}s: try again later"
            ) from None
        except NotFound:
            value = None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a document we cannot read
            logger.exception("unreadable %s %s document for %s", ecosystem, kind, key)
            raise Unavailable(
                f"the {ecosystem} registry sent a {kind} document for {key!r} this version cannot read "
                f"({type(exc).__name__}); try again later or report it"
            ) from exc
        payload = value.model_dump(mode="json") if value is not None else None
        extra: dict[str, Any] = {}
        if isinstance(value, PackageFacts):
            extra = {
                "search_text": search_text(value),
                "license": value.license,
                "downloads": value.downloads,
            }
        fetched_at = await _cache.put(self.pool, kind, ecosystem, key, payload, version=version, **extra)
        return payload, fetched_at

    def _refresh_later(
        self,
        kind: _cache.Kind,
        ecosystem: str,
        key: str,
        version: str,
        fetch: Callable[[], Awaitable[BaseModel | None]],
    ) -> None:
        ident = (kind, ecosystem, key, version)
        if self._spawn is None or ident in self._refreshing:
            return
        self._refreshing.add(ident)

        async def refresh() -> None:
            try:
                await self._fetch_and_store(kind, ecosystem, key, version, fetch)
            except SingularityError as exc:
                logger.info(
                    "refresh of %s %s %s failed (serving cached facts): %s", kind, ecosystem, key, exc
                )
            finally:
                self._refreshing.discard(ident)

        try:
            self._spawn(refresh, name=f"refresh {ecosystem}:{key}")
        except RuntimeError:  # no running core: stay stale
            self._refreshing.discard(ident)

    # --- by query -----------------------------------------------------------------------------------

    async def search(
        self,
        query: str,
        *,
        ecosystem: Ecosystem | None = None,
        license: str | None = None,
        min_downloads: int | None = None,
        top_k: int = 10,
    ) -> PackageLookupResult:
        """Packages ranked by meaning: every cached package plus the registries' own search results."""
        from singularity_mcp.embedding import embed_cached

        query = query.strip()
        if not query:
            raise InvalidInput("query is empty: describe what the package should do")
        if not 1 <= top_k <= MAX_TOP_K:
            raise InvalidInput(f"top_k must be between 1 and {MAX_TOP_K}")
        if self._embedder is None:
            raise InvalidInput("search by meaning needs the embedder; this service was built without one")
        notes: list[str] = []
        if min_downloads is not None and ecosystem in (None, "pypi"):
            notes.append("PyPI publishes no download counts, so min_downloads leaves PyPI packages out")
        embedder = await self._embedder()
        registry_hits = await self._registry_search(query, ecosystem, top_k, notes)
        await self._embed_cached_packages(embedder)
        vectors = await embed_cached(
            self.pool, embedder, [query] + [f"{h.name}: {h.description}" for h in registry_hits]
        )
        query_vector = vectors[0]
        rows = await _cache.nearest(
            self.pool,
            embedder.model_id,
            query_vector,
            ecosystem=ecosystem,
            license=license,
            min_downloads=min_downloads,
            limit=top_k,
        )
        hits: dict[tuple[str, str], PackageHit] = {}
        for payload, _, similarity in rows:
            facts = PackageFacts.model_validate(payload)
            hits[(facts.ecosystem, cache_key(facts.ecosystem, facts.name))] = _hit(
                facts, similarity=round(similarity, 4), source="cache"
            )
        for hit, vector in zip(registry_hits, vectors[1:], strict=True):
            ident = (hit.ecosystem, cache_key(hit.ecosystem, hit.name))
            if ident in hits:
                hits[ident].source = "both"
                continue
            if license and (hit.license is None or license.lower() not in hit.license.lower()):
                continue
            if min_downloads is not None and (hit.downloads is None or hit.downloads < min_downloads):
                continue
            hit.similarity = round(float(vector @ query_vector), 4)
            hits[ident] = hit
        ranked = sorted(hits.values(), key=lambda h: -(h.similarity or 0.0))
        if len(ranked) > top_k:
            notes.append(f"{len(ranked) - top_k} more matches left out (raise top_k to see them)")
        if not ranked:
            notes.append(
                "nothing matched: look packages up by name first (the cache learns them), or widen filters"
            )
        return PackageLookupResult(mode="search", results=ranked[:top_k], notes=notes)

    async def _registry_search(
        self, query: str, ecosystem: Ecosystem | None, top_k: int, notes: list[str]
    ) -> list[PackageHit]:
        targets = [c for e, c in self.clients.items() if c.has_search and ecosystem in (None, e)]
        found: list[PackageHit] = []

        async def one(client: RegistryClient) -> None:
            try:
                with anyio.fail_after(self.deadline_s / 3):
                    found.extend(await client.search(query, top_k))
            except TimeoutError:
                notes.append(f"{client.label} search timed out; showing cached packages")
            except SingularityError as exc:
                notes.append(f"{client.label} search unavailable ({exc}); showing cached packages")

        async with anyio.create_task_group() as tg:
            for client in targets:
                tg.start_soon(one, client)
        return found

    async def _embed_cached_packages(self, embedder: Embedder) -> None:
        """Give every cached package an embedding for the current model (new ones since the last search)."""
        from singularity_mcp.embedding import embed_cached

        for _ in range(_EMBED_ROUNDS):
            rows = await _cache.unembedded(self.pool, embedder.model_id, _EMBED_BATCH)
            if not rows:
                break
            vectors = await embed_cached(self.pool, embedder, [text for _, _, text in rows])
            await _cache.set_embeddings(self.pool, embedder.model_id, rows, vectors)

    # --- by path ------------------------------------------------------------------------------------

    async def audit(self, folder: Path, allowed: AllowedRoots | None = None) -> PackageLookupResult:
        """Every dependency the folder's manifests declare: wanted vs latest, advisories, licence.
        Manifests are read only when their real path lies inside `folder` and the `allowed` roots."""
        manifests, declared, notes = await anyio.to_thread.run_sync(_read_project, folder, allowed)
        unique = list(dict.fromkeys(declared))
        truncated = len(unique) > MAX_DEPENDENCIES
        if truncated:
            notes.append(
                f"{len(unique) - MAX_DEPENDENCIES} dependencies beyond {MAX_DEPENDENCIES} not checked"
            )
            unique = unique[:MAX_DEPENDENCIES]
        entries: list[AuditEntry | None] = [None] * len(unique)

        async def check(index: int, item: Declared) -> None:
            entries[index] = await self._audit_one(item)

        async with anyio.create_task_group() as tg:
            for index, item in enumerate(unique):
                tg.start_soon(check, index, item)
        done = [e for e in entries if e is not None]
        report = AuditReport(
            path=str(folder),
            manifests=[str(m.relative_to(folder)) for m in manifests],
            dependencies=done,
            vulnerable=sum(1 for e in done if e.advisories),
            outdated=sum(1 for e in done if e.outdated),
            errors=sum(1 for e in done if e.error),
            advisories_unchecked=sum(1 for e in done if e.advisories_source is None),
            truncated=truncated,
        )
        return PackageLookupResult(mode="audit", audit=report, notes=notes)

    async def _audit_one(self, item: Declared) -> AuditEntry:
        entry = AuditEntry(
            manifest=item.manifest,
            ecosystem=item.ecosystem,
            name=item.name,
            requirement=item.requirement,
            kind=item.kind,
        )
        try:
            if item.ecosystem == "go":
                if not _GO_MODULE.fullmatch(item.name) or ".." in item.name:
                    raise InvalidInput(f"{item.name!r} is not a Go module path")
                entry.wanted = check_version(item.requirement)
                found = await self.advisories("go", None, entry.wanted, name=item.name)
                entry.advisories, entry.advisories_source = found[0], found[1]
                entry.error = found[2] if found[1] is None else None
                return entry
            ecosystem: Ecosystem = item.ecosystem
            name = check_name(ecosystem, item.name)
            facts, _, entry.stale = await self.package(ecosystem, name)
            entry.latest, entry.license = facts.latest_version, facts.license
            installable = [v for v in facts.all_versions if v not in set(facts.yanked_versions)]
            entry.wanted = select(ecosystem, item.requirement, installable) or select(
                ecosystem, item.requirement, facts.all_versions
            )
            if entry.latest:
                fits = satisfies(ecosystem, item.requirement or "", entry.latest)
                entry.outdated = None if fits is None else not fits
            if entry.wanted is None:
                entry.error = f"no published version satisfies {item.requirement!r}"
                return entry
            if entry.wanted == facts.latest_version:
                entry.deprecated = facts.deprecated
            elif entry.wanted in facts.yanked_versions:
                entry.deprecated = "yanked"
            found = await self.advisories(ecosystem, facts, entry.wanted)
            entry.advisories, entry.advisories_source = found[0], found[1]
            entry.error = found[2] if found[1] is None else None
        except SingularityError as exc:
            entry.error = str(exc)
        return entry


def _read_project(
    folder: Path, allowed: AllowedRoots | None = None
) -> tuple[list[Path], list[Declared], list[str]]:
    """The manifests in `folder` and what they declare; unreadable manifests become notes."""
    if not folder.is_dir():
        raise InvalidInput(f"{folder} is not a folder: pass the project's root folder")
    manifests = find_manifests(folder)
    if not manifests:
        raise NotFound(
            f"no manifest in {folder}: looked for pyproject.toml, requirements*.txt, package.json, "
            "Cargo.toml, mix.exs and go.mod"
        )
    notes: list[str] = []
    declared: list[Declared] = []
    for manifest in manifests:
        try:
            declared += read_manifest(manifest, folder, allowed)
        except (ValueError, OSError, InvalidInput) as exc:
            notes.append(str(exc))
    return manifests, declared, notes


def _hit(facts: PackageFacts, **extra: Any) -> PackageHit:
    """A package's facts as a ranked or listed hit (the description cut to a hit's length)."""
    return PackageHit(
        ecosystem=facts.ecosystem,
        name=facts.name,
        latest_version=facts.latest_version,
        description=facts.description[:300],
        license=facts.license,
        downloads=facts.downloads,
        **extra,
    )


def search_text(facts: PackageFacts) -> str:
    """What search by meaning compares against: name, description and keywords."""
    text = f"{facts.name}: {facts.description}".strip()
    if facts.keywords:
        text += ". Keywords: " + ", ".join(facts.keywords[:12])
    return text[:1000]


def _say_unreachable(result: PackageLookupResult) -> PackageLookupResult:
    """One note naming every service that could not be reached, instead of one paragraph each."""
    result.unreachable = list(dict.fromkeys(result.unreachable))
    if result.unreachable:
        result.notes.append(
            f"not reachable now: {', '.join(result.unreachable)} (check the network or try again later; "
            "cached facts are used where there are some)"
        )
    return result
