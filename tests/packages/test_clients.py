"""Registry and OSV clients on recorded responses through `httpx2.MockTransport`; the HTTP policy
(retries, Retry-After, size cap, timeouts) on scripted transports."""

from __future__ import annotations

import time

import httpx2
import pytest

from singularity_mcp.errors import NotFound, Unavailable
from singularity_mcp.packages._crates import CratesClient
from singularity_mcp.packages._hex import HexClient
from singularity_mcp.packages._http import JSONService
from singularity_mcp.packages._npm import NpmClient
from singularity_mcp.packages._osv import OSVClient
from singularity_mcp.packages._pypi import PyPIClient
from tests.packages._recorded import Recorded, settings_urls

pytestmark = pytest.mark.anyio
URLS = settings_urls("http://recorded.test")


async def test_pypi_package_facts(recorded: Recorded) -> None:
    client = PyPIClient(URLS["pypi_url"], transport=recorded.transport())
    facts = await client.package("httpx")
    assert (facts.name, facts.latest_version, facts.license) == ("httpx", "0.28.1", "BSD-3-Clause")
    assert facts.repository == "https://github.com/encode/httpx"
    assert facts.released_at is not None and facts.released_at.year == 2024
    assert "0.27.0" in facts.all_versions and len(facts.versions) == 10
    deps = {d.name: d for d in facts.dependencies or []}
    assert deps["httpcore"].requirement == "==1.*" and deps["httpcore"].kind == "normal"
    assert deps["h2"].kind == "extra:http2"
    assert facts.downloads is None  # PyPI's JSON API no longer publishes downloads
    with pytest.raises(NotFound, match="PyPI has no package named 'nope-nope'"):
        await client.package("nope-nope")
    await client.aclose()


def _not_found(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(404, json={"errors": [{"detail": "Not Found"}]})


def _unknown_everywhere(ecosystem: str) -> PyPIClient | NpmClient | CratesClient | HexClient:
    transport = httpx2.MockTransport(_not_found)
    if ecosystem == "npm":
        return NpmClient(URLS["npm_url"], URLS["npm_downloads_url"], transport=transport)
    kind = {"pypi": PyPIClient, "crates": CratesClient, "hex": HexClient}[ecosystem]
    return kind(URLS[f"{ecosystem}_url"], transport=transport)


@pytest.mark.parametrize(
    ("ecosystem", "message"),
    [
        ("pypi", "PyPI has no package named"),
        ("npm", "npm has no package named"),
        ("crates", "crates.io has no crate named"),
        ("hex", "Hex has no package named"),
    ],
)
async def test_every_registry_names_an_unknown_package_and_has_no_unknown_release(
    ecosystem: str, message: str
) -> None:
    client = _unknown_everywhere(ecosystem)
    with pytest.raises(NotFound, match=f"^{message} 'no-such-pkg'$"):
        await client.package("no-such-pkg")
    assert await client.release("no-such-pkg", "1.0.0") is None
    await client.aclose()


async def test_npm_package_facts_downloads_release_and_search(recorded: Recorded) -> None:
    client = NpmClient(URLS["npm_url"], URLS["npm_downloads_url"], transport=recorded.transport())
    facts = await client.package("express")
    assert facts.latest_version == "5.3.0" and facts.license == "MIT"
    assert facts.downloads == 52_000_000 and facts.downloads_period == "last week"
    assert facts.repository == "https://github.com/expressjs/express"
    assert any(d.name == "router" for d in facts.dependencies or [])
    release = await client.release("express", "4.17.1")
    assert (
        release is not None
        and {"body-parser": "1.19.0"}.items()
        <= {d.name: d.requirement for d in release.dependencies or []}.items()
    )
    left_pad = await client.package("left-pad")
    assert left_pad.downloads is None  # no recorded downloads: the facts still come back
    hits = await client.search("http client", 5)
    assert [h.name for h in hits] == ["axios", "got", "left-pad"] and hits[0].downloads == 60_000_000
    await client.aclose()


async def test_crates_package_facts_with_dependencies(recorded: Recorded) -> None:
    client = CratesClient(URLS["crates_url"], transport=recorded.transport())
    facts = await client.package("serde")
    assert (facts.latest_version, facts.license, facts.downloads) == (
        "1.0.228",
        "MIT OR Apache-2.0",
        95_000_000,
    )
    assert facts.yanked_versions == ["1.0.227"]
    assert {(d.name, d.kind) for d in facts.dependencies or []} == {
        ("serde_derive", "optional"),
        ("serde_core", "normal"),
        ("serde_derive", "dev"),
    }
    assert [h.name for h in await client.search("json", 5)] == ["serde_json", "toml"]
    await client.aclose()


async def test_hex_package_facts_retirement_and_search(recorded: Recorded) -> None:
    client = HexClient(URLS["hex_url"], transport=recorded.transport())
    facts = await client.package("jason")
    assert (facts.latest_version, facts.license, facts.downloads) == ("1.4.4", "Apache-2.0", 1_500_000)
    assert facts.yanked_versions == ["1.4.2"]
    assert {d.name for d in facts.dependencies or []} == {"decimal", "jason_native"}
    retired = await client.release("jason", "1.4.2")
    assert retired is not None and retired.deprecated == "retired (invalid): use 1.4.3"
    assert [h.name for h in await client.search("json", 5)] == ["poison", "jiffy"]
    await client.aclose()


async def test_osv_query_returns_advisories_with_fixes(recorded: Recorded) -> None:
    client = OSVClient(URLS["osv_url"], transport=recorded.transport())
    advisories = await client.query("PyPI", "jinja2", "2.10")
    assert [a.id for a in advisories] == ["GHSA-462w-v97r-4m45", "GHSA-h5c8-rqwp-cp95"]
    assert advisories[0].fixed_in == ["2.10.1"] and advisories[0].severity == "HIGH"
    assert "CVE-2019-10906" in advisories[0].aliases
    assert await client.query("PyPI", "jinja2", "3.1.6") == []
    await client.aclose()


def _scripted(responses: list[httpx2.Response | Exception], calls: list[float]) -> httpx2.MockTransport:
    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(time.monotonic())
        item = responses.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return httpx2.MockTransport(handler)


async def test_retry_after_is_honoured_then_success() -> None:
    calls: list[float] = []
    transport = _scripted(
        [
            httpx2.Response(429, headers={"Retry-After": "1"}),
            httpx2.Response(503),
            httpx2.Response(200, json={"ok": True}),
        ],
        calls,
    )
    service = JSONService("http://x.test", label="test", transport=transport, backoff_s=0.01)
    assert await service.get("/a") == {"ok": True}
    assert len(calls) == 3
    assert calls[1] - calls[0] >= 0.95  # waited as asked
    await service.aclose()


async def test_retry_after_too_long_fails_at_once_with_the_wait() -> None:
    calls: list[float] = []
    transport = _scripted([httpx2.Response(429, headers={"Retry-After": "3600"})], calls)
    service = JSONService("http://x.test", label="test registry", transport=transport)
    with pytest.raises(Unavailable, match="retry after 3600s"):
        await service.get("/a")
    with pytest.raises(Unavailable, match="not retrying for another"):
        await service.get("/b")  # Retry-After is honoured across calls too
    assert len(calls) == 1
    await service.aclose()


async def test_connection_errors_retry_then_say_unreachable() -> None:
    calls: list[float] = []
    errors: list[httpx2.Response | Exception] = [httpx2.ConnectError("refused")] * 3
    service = JSONService(
        "http://x.test", label="crates.io", transport=_scripted(errors, calls), backoff_s=0.01
    )
    with pytest.raises(Unavailable, match=r"crates\.io could not be reached"):
        await service.get("/a")
    assert len(calls) == 3
    started = time.monotonic()
    with pytest.raises(Unavailable, match=r"could not be reached .*not retrying for another 30s"):
        await service.get("/b")  # a dead service costs one round of retries, not one per call
    assert len(calls) == 3 and time.monotonic() - started < 0.1
    await service.aclose()


async def test_oversized_responses_are_cut_off() -> None:
    body = b'{"x": "' + b"a" * 5000 + b'"}'
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, content=body))
    service = JSONService("http://x.test", label="npm", transport=transport, max_bytes=1000)
    with pytest.raises(Unavailable, match="larger than"):
        await service.get("/big")
    await service.aclose()


async def test_a_read_timeout_is_unavailable_not_a_hang() -> None:
    calls: list[float] = []
    errors: list[httpx2.Response | Exception] = [httpx2.ReadTimeout("slow")] * 2
    service = JSONService(
        "http://x.test", label="OSV", transport=_scripted(errors, calls), retries=1, backoff_s=0.01
    )
    with pytest.raises(Unavailable, match="OSV could not be reached"):
        await service.get("/a")
    await service.aclose()
