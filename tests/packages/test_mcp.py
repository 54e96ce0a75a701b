"""package_lookup through the real MCP client: a spawned server whose registry URLs point at the recorded
responses, served from 127.0.0.1 (the only fake is the far side of the HTTP connection). Also the CLI (run in
this process)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from mcp.client.session import ClientSession

from singularity_mcp.config import Settings
from singularity_mcp.db import Database
from tests.conftest import CliResult, mcp_client, run_cli, server_env, test_model_dir
from tests.packages._recorded import Recorded, serve_recorded, settings_env
from tests.packages.conftest import FIXTURE_PROJECT

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def registry() -> Iterator[tuple[str, Recorded]]:
    with serve_recorded() as served:
        yield served


@pytest.fixture(scope="module")
async def session(
    settings: Settings, database: Database, registry: tuple[str, Recorded]
) -> AsyncIterator[ClientSession]:
    async with database.pool.connection() as conn, conn.transaction():
        await conn.execute("DELETE FROM package_cache")
    env = {**settings_env(registry[0]), "SINGULARITY_MODEL_DIR": str(test_model_dir())}
    async with mcp_client(settings, env=env) as client:
        yield client


async def call(session: ClientSession, **arguments: Any) -> tuple[dict[str, Any], str, bool]:
    result = await session.call_tool("package_lookup", arguments)
    text = "\n".join(c.text for c in result.content if c.type == "text")
    return result.structured_content or {}, text, bool(result.is_error)


async def test_tool_is_listed_with_its_contract(session: ClientSession) -> None:
    tools = {t.name: t for t in (await session.list_tools()).tools}
    tool = tools["package_lookup"]
    assert set(tool.input_schema["properties"]) >= {"name", "query", "path", "ecosystem", "version", "top_k"}
    assert tool.output_schema is not None
    assert {"latest_version", "advisories", "fetched_at", "stale", "audit", "results"} <= set(
        tool.output_schema["properties"]
    )
    assert "before adding or upgrading a dependency" in (tool.description or "")


async def test_lookup_by_name(session: ClientSession) -> None:
    data, text, error = await call(session, name="express", ecosystem="npm")
    assert not error, text
    assert (data["ecosystem"], data["name"], data["latest_version"]) == ("npm", "express", "5.3.0")
    assert data["license"] == "MIT" and data["downloads"] == 52_000_000 and data["stale"] is False
    assert data["fetched_at"] and data["repository"] == "https://github.com/expressjs/express"
    assert any(d["name"] == "router" for d in data["dependencies"])
    assert len(data["versions"]) == 10 and "all_versions" not in data
    assert "npm express 5.3.0" in text and "licence: MIT" in text


async def test_lookup_of_an_old_version_shows_its_advisories(session: ClientSession) -> None:
    data, text, error = await call(session, name="express", ecosystem="npm", version="4.17.1")
    assert not error, text
    assert data["version"] == "4.17.1" and data["latest_version"] == "5.3.0"
    assert [a["id"] for a in data["advisories"]] == ["GHSA-rv95-896h-c2vc"]
    assert "1 advisories: GHSA-rv95-896h-c2vc" in text


async def test_ecosystem_detection(session: ClientSession) -> None:
    data, text, error = await call(session, name="jason")
    assert not error, text
    assert data["ecosystem"] == "hex" and [h["ecosystem"] for h in data["also_found_in"]] == ["npm"]
    assert any("pass ecosystem" in n for n in data["notes"])


async def test_bad_input_is_a_tool_error_and_asks_nothing(
    session: ClientSession, registry: tuple[str, Recorded]
) -> None:
    before = len(registry[1].requests)
    _, text, error = await call(session, name="../../etc/passwd", ecosystem="pypi")
    assert error and "not a valid pypi package name" in text
    _, text, error = await call(session, name="x", ecosystem="maven")
    assert error and "unknown ecosystem" in text
    _, text, error = await call(session, name="x", query="y")
    assert error and "exactly one of" in text
    assert len(registry[1].requests) == before


async def test_unknown_package_is_not_found(session: ClientSession) -> None:
    _, text, error = await call(session, name="no-such-package-xyz", ecosystem="crates")
    assert error and "crates.io has no package named 'no-such-package-xyz'" in text


async def test_audit_of_a_project(session: ClientSession) -> None:
    data, text, error = await call(session, path=str(FIXTURE_PROJECT))
    assert not error, text
    audit = data["audit"]
    assert audit["vulnerable"] == 3 and len(audit["manifests"]) == 6
    jinja = next(d for d in audit["dependencies"] if d["name"] == "jinja2" and d["kind"] == "normal")
    assert (jinja["wanted"], jinja["latest"], jinja["outdated"]) == ("2.10", "3.1.6", True)
    assert "GHSA-462w-v97r-4m45" in {a["id"] for a in jinja["advisories"]}
    assert "pypi jinja2 2.10: 2 advisories" in text


async def test_search_by_meaning(session: ClientSession) -> None:
    await call(session, name="serde", ecosystem="crates")
    await call(session, name="jason", ecosystem="hex")
    data, text, error = await call(session, query="JSON parser for Elixir", top_k=3)
    if error and "model" in text.lower():
        pytest.skip(f"embedding model unavailable: {text}")
    assert not error, text
    assert data["results"][0]["name"] == "jason" and data["results"][0]["similarity"] > 0.3


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_offline_server_serves_the_cache_as_stale(
    settings: Settings, session: ClientSession, database: Database
) -> None:
    data, _, _ = await call(session, name="httpx", ecosystem="pypi")  # cached by the online server
    assert data["stale"] is False
    env = {**settings_env(_closed_port()), "SINGULARITY_PACKAGE_TTL_S": "0"}
    async with mcp_client(settings, env=env) as offline:
        started = time.monotonic()
        data, text, error = await call(offline, name="httpx", ecosystem="pypi")
        assert not error, text
        assert data["stale"] is True and data["latest_version"] == "0.28.1" and "[stale]" in text
        _, text, error = await call(offline, name="requests", ecosystem="pypi")
        assert error and "PyPI could not be reached" in text
        assert time.monotonic() - started < 20  # a clear error, never a hang


def _cli(settings: Settings, base: str, *args: str) -> CliResult:
    return run_cli(server_env(settings, **settings_env(base)), "package", *args)


def test_cli_lookup_and_audit(settings: Settings, database: Database, registry: tuple[str, Recorded]) -> None:
    done = _cli(settings, registry[0], "serde", "--ecosystem", "crates", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["latest_version"] == "1.0.228"
    done = _cli(settings, registry[0], "audit", str(FIXTURE_PROJECT))
    assert done.returncode == 3, done.stderr  # vulnerable dependencies found
    assert "3 of the 9 checked with advisories (2 not checked)" in done.stdout  # 2 not on record
    assert "golang.org/x/text" in done.stdout
    done = _cli(settings, registry[0], "Bad Name!", "--ecosystem", "hex")
    assert done.returncode == 1 and "not a valid hex package name" in done.stderr
