"""The plain async API: cache fresh / stale / offline, detection, versions, audits, search by meaning.
Real PostgreSQL; registries are the recorded responses behind `httpx2.MockTransport`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import anyio
import pytest

from singularity_mcp.db import Database
from singularity_mcp.errors import InvalidInput, NotFound, Unavailable
from singularity_mcp.packages import PackageService
from tests.packages._recorded import RECORDED, Recorded
from tests.packages.conftest import FIXTURE_PROJECT

pytestmark = pytest.mark.anyio
Make = Callable[..., PackageService]


async def _age(database: Database, days: int) -> None:
    async with database.pool.connection() as conn, conn.transaction():
        await conn.execute(
            "UPDATE package_cache SET fetched_at = fetched_at - make_interval(days => %s)", (days,)
        )


async def test_cold_then_cached_lookup(make_service: Make, recorded: Recorded) -> None:
    service = make_service()
    first = await service.lookup("httpx", "pypi")
    assert (first.name, first.latest_version, first.stale) == ("httpx", "0.28.1", False)
    assert first.fetched_at is not None and first.advisories_source == "osv"
    asked = len(recorded.requests)
    second = await service.lookup("HTTPX", "pypi")  # same package, PEP 503 normalised
    assert second.latest_version == "0.28.1" and second.fetched_at == first.fetched_at
    assert len(recorded.requests) == asked  # served from the cache, no request


async def test_stale_is_served_at_once_and_refreshed_in_the_background(
    make_service: Make, recorded: Recorded, clean_cache: Database
) -> None:
    service = make_service()
    fresh = await service.lookup("serde", "crates")
    await _age(clean_cache, 2)
    stale = await service.lookup("serde", "crates")
    assert stale.stale is True and stale.fetched_at is not None and fresh.fetched_at is not None
    assert stale.fetched_at < fresh.fetched_at
    assert any("refresh runs in the background" in n for n in stale.notes)
    with anyio.fail_after(10):
        while True:  # the refresh lands without anyone asking again
            again = await service.lookup("serde", "crates")
            if not again.stale:
                break
            await anyio.sleep(0.05)
    assert again.fetched_at is not None and again.fetched_at > stale.fetched_at
    assert again.latest_version == "1.0.228"


async def test_offline_serves_cached_as_stale_and_refuses_uncached_clearly(
    make_service: Make, recorded: Recorded, clean_cache: Database
) -> None:
    service = make_service()
    await service.lookup("jason", "hex")
    await _age(clean_cache, 2)
    recorded.offline = True
    cached = await service.lookup("jason", "hex")
    assert cached.stale is True and cached.latest_version == "1.4.4"
    with anyio.fail_after(10):  # never a hang
        with pytest.raises(Unavailable, match=r"Hex \(hex.pm\) could not be reached"):
            await service.lookup("phoenix", "hex")
    await anyio.sleep(0.5)  # the background refresh failed quietly: still stale, still served
    assert (await service.lookup("jason", "hex")).stale is True


async def test_bad_names_are_refused_without_a_request(make_service: Make, recorded: Recorded) -> None:
    service = make_service()
    for name, ecosystem in [("../../admin", "pypi"), ("a?b", "npm"), ("Jason", "hex"), ("x y", None)]:
        with pytest.raises(InvalidInput):
            await service.lookup(name, ecosystem)
    with pytest.raises(InvalidInput, match="not a version"):
        await service.lookup("httpx", "pypi", "1.0/../x")
    assert recorded.requests == []


async def test_not_found_is_remembered(make_service: Make, recorded: Recorded) -> None:
    service = make_service()
    with pytest.raises(NotFound, match="PyPI has no package named 'no-such-thing'"):
        await service.lookup("no-such-thing", "pypi")
    asked = len(recorded.requests)
    with pytest.raises(NotFound):
        await service.lookup("no-such-thing", "pypi")
    assert len(recorded.requests) == asked


async def test_ecosystem_detection_asks_every_registry(make_service: Make, recorded: Recorded) -> None:
    service = make_service()
    httpx = await service.lookup("httpx")
    assert httpx.ecosystem == "pypi"  # more releases than npm's httpx
    assert [(h.ecosystem, h.latest_version) for h in httpx.also_found_in] == [("npm", "3.0.1")]
    jason = await service.lookup("jason")
    assert jason.ecosystem == "hex" and [h.ecosystem for h in jason.also_found_in] == ["npm"]
    serde = await service.lookup("serde")
    assert serde.ecosystem == "crates" and serde.also_found_in == []
    with pytest.raises(NotFound, match="no package named 'zzz-nothing'"):
        await service.lookup("zzz-nothing")
    # `@scope/name` is only valid on npm: the other registries are not asked
    before = len(recorded.requests)
    with pytest.raises(NotFound):
        await service.lookup("@nobody/nothing")
    assert all(p.startswith(("/npm", "/osv")) for p in recorded.asked()[before:])


async def test_detection_offline_and_uncached_is_unavailable(make_service: Make, recorded: Recorded) -> None:
    recorded.offline = True
    with anyio.fail_after(10), pytest.raises(Unavailable, match="nothing is cached"):
        await make_service().lookup("requests")


async def test_a_specific_version(make_service: Make) -> None:
    service = make_service()
    old = await service.lookup("express", "npm", "4.17.1")
    assert (old.version, old.latest_version) == ("4.17.1", "5.3.0")
    assert [a.id for a in old.advisories] == ["GHSA-rv95-896h-c2vc"] and old.advisories[0].fixed_in[
        0
    ] == "4.19.2"
    assert {d.name: d.requirement for d in old.dependencies or []}["qs"] == "6.7.0"
    recorded_time = json.loads((RECORDED / "npm" / "express.json").read_text())["time"]["4.17.1"]
    assert old.released_at == datetime.fromisoformat(recorded_time)  # from the package document
    jinja = await service.lookup("jinja2", "pypi", "2.10")  # no per-version document recorded
    assert {a.id for a in jinja.advisories} == {"GHSA-462w-v97r-4m45", "GHSA-h5c8-rqwp-cp95"}
    assert jinja.dependencies is None and any("dependencies of 2.10 unknown" in n for n in jinja.notes)
    retired = await service.lookup("jason", "hex", "1.4.2")
    assert retired.deprecated == "retired (invalid): use 1.4.3"
    with pytest.raises(NotFound, match=r"no version '9\.9\.9'.*latest is 3\.1\.6"):
        await service.lookup("jinja2", "pypi", "9.9.9")


async def test_audit_of_the_fixture_project(make_service: Make, recorded: Recorded) -> None:
    result = await make_service().audit(FIXTURE_PROJECT)
    audit = result.audit
    assert audit is not None and len(audit.manifests) == 6
    by = {(d.ecosystem, d.name, d.kind): d for d in audit.dependencies}
    jinja = by[("pypi", "jinja2", "normal")]
    assert (jinja.wanted, jinja.latest, jinja.outdated) == ("2.10", "3.1.6", True)
    assert jinja.advisories[0].id == "GHSA-462w-v97r-4m45"
    dev_jinja = by[("pypi", "jinja2", "dev")]
    assert (dev_jinja.wanted, dev_jinja.outdated, dev_jinja.advisories) == ("3.1.6", False, [])
    httpx = by[("pypi", "httpx", "normal")]
    assert (httpx.wanted, httpx.outdated, httpx.license) == ("0.28.1", False, "BSD-3-Clause")
    express = by[("npm", "express", "normal")]
    assert (express.wanted, express.latest, express.outdated) == ("4.17.1", "5.3.0", True)
    assert [a.id for a in express.advisories] == ["GHSA-rv95-896h-c2vc"]
    assert by[("npm", "left-pad", "normal")].wanted == "1.3.0"
    serde = by[("crates", "serde", "normal")]
    assert (serde.wanted, serde.outdated) == ("1.0.228", False)
    jason = by[("hex", "jason", "normal")]
    assert (jason.wanted, jason.license) == ("1.4.4", "Apache-2.0")
    text = by[("go", "golang.org/x/text", "normal")]
    assert [a.id for a in text.advisories] == ["GO-2022-1059"] and text.wanted == "v0.3.7"
    missing = by[("pypi", "no-such-package-on-record", "extra:cli")]
    assert missing.error and "no package named" in missing.error
    assert audit.vulnerable == 3  # jinja2 2.10, express 4.17.1, golang.org/x/text v0.3.7
    assert audit.outdated == 2
    # jinja2 is declared twice and checked concurrently: the registry is asked once
    assert recorded.asked("/pypi/pypi/jinja2/") == ["/pypi/pypi/jinja2/json"]


async def test_search_by_meaning_over_cached_and_registry_packages(
    make_service: Make, recorded: Recorded
) -> None:
    service = make_service(embedder=True)
    for name, ecosystem in [("jason", "hex"), ("serde", "crates"), ("httpx", "pypi"), ("express", "npm")]:
        await service.lookup(name, ecosystem)  # type: ignore[arg-type]
    result = await service.search("JSON parser and generator for Elixir", top_k=5)
    results = result.results or []
    assert results[0].name == "jason" and results[0].source == "cache"
    assert all(r.similarity is not None for r in results)
    assert [r.similarity for r in results] == sorted((r.similarity or 0 for r in results), reverse=True)
    before = len(recorded.requests)
    http = await service.search("asynchronous HTTP client for Python", ecosystem="pypi", top_k=3)
    assert [r.name for r in http.results or []][:1] == ["httpx"]
    assert len(recorded.requests) == before  # PyPI has no search API: the cache alone answers
    filtered = await service.search("web framework", license="MIT", min_downloads=1_000_000, top_k=10)
    assert all(r.license and "MIT" in r.license for r in filtered.results or [])
    assert {r.name for r in filtered.results or []} >= {"express"}
    merged = await service.search("promise based http client", ecosystem="npm", top_k=5)
    assert {r.name: r.source for r in merged.results or []}["axios"] == "registry"


async def test_an_unreadable_document_is_a_clear_error(make_service: Make, recorded: Recorded) -> None:
    recorded.overrides["/pypi/pypi/broken/json"] = (
        200,
        {"Content-Type": "application/json"},
        b'{"releases": 5}',
    )
    with pytest.raises(
        Unavailable, match="registry sent a package document for 'broken' this version cannot read"
    ):
        await make_service().lookup("broken", "pypi")


async def test_pypi_own_record_stands_in_when_osv_is_down(
    make_service: Make, recorded: Recorded, tmp_path: Path
) -> None:
    """PyPI's per-version document carries OSV-sourced vulnerabilities; they answer while OSV is down."""
    version_doc = {
        "info": {
            "name": "httpx",
            "version": "0.27.0",
            "requires_dist": ["anyio", "sniffio"],
            "yanked": False,
        },
        "urls": [{"upload_time_iso_8601": "2024-02-21T13:07:52.000000Z"}],
        "vulnerabilities": [  # a made-up record, for this test only
            {
                "id": "TEST-ONLY-0001",
                "aliases": [],
                "summary": "example",
                "fixed_in": ["0.28.0"],
                "link": None,
            }
        ],
    }
    recorded.overrides["/pypi/pypi/httpx/0.27.0/json"] = (200, {}, json.dumps(version_doc).encode())
    recorded.overrides["/osv/v1/query"] = (503, {"Retry-After": "0"}, b"")
    (tmp_path / "requirements.txt").write_text("httpx==0.27.0\n")
    audit = (await make_service().audit(tmp_path)).audit  # the audit finds the record on its own
    assert audit is not None and audit.vulnerable == 1
    assert audit.dependencies[0].advisories_source == "pypi" and audit.dependencies[0].error is None
    result = await make_service().lookup("httpx", "pypi", "0.27.0")
    assert [a.id for a in result.advisories] == ["TEST-ONLY-0001"] and result.advisories_source == "pypi"
    assert {d.name for d in result.dependencies or []} == {"anyio", "sniffio"}
    assert any("advisories from PyPI's own record" in n for n in result.notes)


async def test_unreachable_services_are_named_once(make_service: Make, recorded: Recorded) -> None:
    recorded.down |= {"crates", "hex", "osv"}
    result = await make_service().lookup("httpx")
    assert result.ecosystem == "pypi"
    assert sorted(result.unreachable) == ["Hex (hex.pm)", "OSV (osv.dev)", "crates.io"]
    said = [n for n in result.notes if "could not be reached" in n or "not reachable" in n]
    assert len(said) == 1 and all(label in said[0] for label in result.unreachable)


async def test_audit_without_advisories_says_not_checked(
    make_service: Make, recorded: Recorded, tmp_path: Path
) -> None:
    from singularity_mcp.packages import summary

    recorded.down.add("osv")
    (tmp_path / "package.json").write_text('{"dependencies": {"express": "4.17.1", "left-pad": "^1.3.0"}}')
    result = await make_service().audit(tmp_path)
    assert result.audit is not None and result.audit.advisories_unchecked == 2
    text = summary(result)
    assert "advisories not checked" in text.splitlines()[0] and "0 with advisories" not in text
    assert text.count("OSV (osv.dev)") == 1  # the cause, once
