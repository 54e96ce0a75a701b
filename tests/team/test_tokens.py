"""Several callers on one HTTP server, each token with its own roots, over real HTTP.

The token table comes from the TOML config file (`[[http_tokens]]`: name, token_sha256, roots). No token or
a wrong one gets 401; a call naming a path outside the caller's roots gets 403; index, search, analyse and
audit honour the caller's roots, and search never returns a chunk of a root only another token may read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from singularity_mcp.config import Settings
from singularity_mcp.embedding import Embedder
from tests.conftest import server_env
from tests.foundation.test_server import _HEADERS as PROTOCOL_HEADERS
from tests.foundation.test_server import _INIT
from tests.search.conftest import write_repo
from tests.team._cluster import free_port, start_http_server, stop_processes
from tests.team._load import call, http_session

pytestmark = pytest.mark.anyio

TOKENS = {"alice": "alice-token-5f0c2a9e1d7b", "bob": "bob-token-9a41c6e0b3f8"}


@dataclass
class TeamServer:
    url: str
    roots: dict[str, Path]
    log: Path


@pytest.fixture(scope="module")
def team_server(
    team_settings: Settings, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TeamServer]:
    base = tmp_path_factory.mktemp("tokens")
    roots = {name: write_repo(base / f"{name}-repo") for name in TOKENS}
    (roots["alice"] / "billing" / "alice_only.py").write_text(
        "def reconcile_alice_ledger_entries(ledger):\n    return sorted(ledger)\n"
    )
    (roots["alice"] / "requirements.txt").write_text("requests>=2.0\n")
    config = base / "config.toml"
    entries = [
        f'[[http_tokens]]\nname = "{name}"\ntoken_sha256 = "{hashlib.sha256(token.encode()).hexdigest()}"\n'
        f'roots = ["{roots[name]}"]\n'
        for name, token in TOKENS.items()
    ]
    config.write_text("\n".join(entries))
    dead = "http://127.0.0.1:9"  # registries unreachable: the audit answers from what it has, at once
    env = server_env(
        team_settings, SINGULARITY_CONFIG=str(config), SINGULARITY_PYPI_URL=dead, SINGULARITY_OSV_URL=dead
    )
    env["SINGULARITY_LOG_LEVEL"] = "INFO"
    port = free_port()
    log = base / "server.log"
    process = start_http_server(env, port, log)
    try:
        yield TeamServer(f"http://127.0.0.1:{port}/mcp", roots, log)
    finally:
        stop_processes([process])


def _post(
    url: str, body: dict[str, Any], token: str | None, session_id: str | None = None
) -> httpx2.Response:
    headers = dict(PROTOCOL_HEADERS)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if session_id:
        headers["Mcp-Session-Id"] = session_id
        headers["Mcp-Protocol-Version"] = "2025-06-18"
    with httpx2.Client(timeout=60) as client:
        return client.post(url, json=body, headers=headers)


def _session(url: str, token: str) -> str:
    answer = _post(url, _INIT, token)
    assert answer.status_code == 200, answer.text
    session_id = answer.headers["mcp-session-id"]
    _post(url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, token, session_id)
    return session_id


def _tool_status(server: TeamServer, token: str, tool: str, **arguments: Any) -> tuple[int, str]:
    session_id = _session(server.url, token)
    body = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }
    answer = _post(server.url, body, token, session_id)
    return answer.status_code, answer.text


def test_no_token_or_a_wrong_one_is_401(team_server: TeamServer) -> None:
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    assert _post(team_server.url, init, None).status_code == 401
    assert _post(team_server.url, init, "alice-token-5f0c2a9e1d7").status_code == 401  # one character short
    assert _post(team_server.url, init, TOKENS["alice"] + "x").status_code == 401
    answer = _post(team_server.url, init, "Basic " + TOKENS["alice"])
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    assert _session(team_server.url, TOKENS["bob"])  # a right one opens a session


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("index_codebase", {"wait_s": 0}),
        ("semantic_search", {"query": "shipping cost"}),
        ("analyze_code", {}),
        ("package_lookup", {}),
    ],
)
def test_a_path_outside_the_callers_roots_is_403(
    team_server: TeamServer, tool: str, arguments: dict[str, Any]
) -> None:
    alice_root = team_server.roots["alice"]
    path = alice_root / "billing" / "shipping.py" if tool == "analyze_code" else alice_root
    status, text = _tool_status(team_server, TOKENS["bob"], tool, path=str(path), **arguments)
    assert status == 403, text
    assert "bob" in text and str(team_server.roots["bob"]) in text
    status, _ = _tool_status(team_server, TOKENS["bob"], tool, path=str(alice_root / ".." / "x"), **arguments)
    assert status == 403  # resolved before the check
    status, text = _tool_status(team_server, TOKENS["alice"], tool, path=str(path), **arguments)
    assert status == 200 and '"isError":true' not in text.replace(" ", ""), text[:500]


def test_a_prompt_on_a_file_outside_the_callers_roots_is_403(team_server: TeamServer) -> None:
    target = team_server.roots["alice"] / "billing" / "shipping.py"
    for token, expected in ((TOKENS["bob"], 403), (TOKENS["alice"], 200)):
        session_id = _session(team_server.url, token)
        body = {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "prompts/get",
            "params": {"name": "code_review", "arguments": {"path": str(target)}},
        }
        answer = _post(team_server.url, body, token, session_id)
        assert answer.status_code == expected, answer.text[:300]
        if expected == 200:
            assert "compute_shipping_cost" in answer.text  # alice's prompt quotes her file


async def test_each_caller_searches_only_its_own_roots(team_server: TeamServer) -> None:
    alice, bob = TOKENS["alice"], TOKENS["bob"]
    async with http_session(team_server.url, alice) as session:
        done = await call(session, "index_codebase", path=str(team_server.roots["alice"]), wait_s=120)
        assert done["status"] == "done"
        hits = (await call(session, "semantic_search", query="reconcile alice ledger entries", scope="code"))[
            "results"
        ]
        assert hits and hits[0]["path"].endswith("alice_only.py")
    async with http_session(team_server.url, bob) as session:
        done = await call(session, "index_codebase", path=str(team_server.roots["bob"]), wait_s=120)
        assert done["status"] == "done"
        for query in ("reconcile alice ledger entries", "compute shipping cost"):
            hits = (await call(session, "semantic_search", query=query, scope="code", top_k=50))["results"]
            assert hits  # bob's own copy of the shared files matches
            assert all(Path(h["path"]).is_relative_to(team_server.roots["bob"]) for h in hits), hits
        listed = await call(session, "index_status")
        assert [r["repo"] for r in listed["roots"]] == [str(team_server.roots["bob"])]


def test_logs_name_the_caller_and_never_the_token(team_server: TeamServer) -> None:
    _tool_status(team_server, TOKENS["bob"], "index_status", path=str(team_server.roots["alice"]))
    _post(team_server.url, {"jsonrpc": "2.0", "id": 1, "method": "initialize"}, "not-a-token-at-all")
    log = team_server.log.read_text()
    assert "token bob: refused a path outside its roots" in log
    assert "missing or unknown bearer token" in log
    for secret in (*TOKENS.values(), "not-a-token-at-all"):
        assert secret not in log
