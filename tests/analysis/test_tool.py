"""`analyze_code` through the real MCP client (in memory), and `singularity-mcp analyze` on the command line
(run in this process)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp.client.session import ClientSession

from singularity_mcp.analysis._folder import INLINE_BELOW
from singularity_mcp.config import Settings
from tests.analysis.test_folder import BRANCHY, make_tree
from tests.conftest import make_settings, mcp_client, run_cli, server_env

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def allowed_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("allowed")
    make_tree(root)
    many = root / "many"
    many.mkdir()
    for i in range(INLINE_BELOW + 8):  # enough files for the process pool inside the server
        (many / f"m{i}.py").write_text(f"def f{i}(x):\n    return x or {i}\n")
    return root


@pytest.fixture(scope="module")
async def session(settings: Settings, allowed_root: Path) -> AsyncIterator[ClientSession]:
    restricted = make_settings(settings.data_dir, allowed_roots=[allowed_root])
    async with mcp_client(restricted) as client:
        yield client


async def test_tool_is_listed_with_schemas(session: ClientSession) -> None:
    tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    tool = tools["analyze_code"]
    assert "semantic_search" in tool.description  # tells the model what to use instead
    assert set(tool.input_schema["properties"]) == {"path", "content", "language"}
    assert {"language", "metrics", "definitions", "hotspots"} <= set(tool.output_schema["properties"])


async def test_file(session: ClientSession, allowed_root: Path) -> None:
    result = await session.call_tool("analyze_code", {"path": str(allowed_root / "pkg" / "core.py")})
    assert not result.is_error
    data = result.structured_content
    assert data["kind"] == "file" and data["language"] == "python"
    (definition,) = data["definitions"]
    assert definition["qualified_name"] == "branchy"
    assert definition["cyclomatic_complexity"] == 41
    assert data["metrics"]["max_complexity"] == 41
    assert any(f["rule"] == "high-complexity" for f in data["findings"])
    assert "branchy" in result.content[0].text


async def test_snippet(session: ClientSession) -> None:
    code = "fn main() {\n    let x = if a && b { 1 } else { 2 };\n}\n"
    result = await session.call_tool("analyze_code", {"content": code, "language": "rust"})
    assert not result.is_error
    assert result.structured_content["definitions"][0]["cyclomatic_complexity"] == 3
    assert "snippet" in result.content[0].text


async def test_folder(session: ClientSession, allowed_root: Path) -> None:
    result = await session.call_tool("analyze_code", {"path": str(allowed_root)})
    assert not result.is_error
    data = result.structured_content
    assert data["kind"] == "folder"
    assert {t["language"] for t in data["languages"]} == {"python", "typescript", "go", "markdown"}
    assert data["hotspots"][0]["qualified_name"] == "branchy"


async def test_folder_in_parallel_inside_the_server(session: ClientSession, allowed_root: Path) -> None:
    result = await session.call_tool("analyze_code", {"path": str(allowed_root / "many")})
    assert not result.is_error
    data = result.structured_content
    assert data["files_analyzed"] == INLINE_BELOW + 8
    assert data["languages"][0]["functions"] == INLINE_BELOW + 8


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "either path"),
        ({"path": "/x.py", "content": "x"}, "either path"),
        ({"content": "x = 1"}, "needs language"),
        ({"content": "x", "language": "klingon"}, "unknown language"),
        ({"path": "{root}/missing.py"}, "does not exist"),
        ({"path": "{root}/image.png"}, "binary"),
        ({"path": "/etc/hostname"}, "outside the allowed roots"),
    ],
)
async def test_errors_are_tool_errors(
    session: ClientSession, allowed_root: Path, arguments: dict, message: str
) -> None:
    arguments = {k: v.format(root=allowed_root) for k, v in arguments.items()}
    result = await session.call_tool("analyze_code", arguments)
    assert result.is_error
    assert message in result.content[0].text


def test_cli_json_and_table(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "core.py"
    path.write_text(BRANCHY)
    env = server_env(settings)
    done = run_cli(env, "analyze", str(path), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["definitions"][0]["cyclomatic_complexity"] == 41
    done = run_cli(env, "analyze", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "branchy" in done.stdout
    done = run_cli(env, "analyze", str(tmp_path / "nope.py"))
    assert done.returncode == 1 and "does not exist" in done.stderr
