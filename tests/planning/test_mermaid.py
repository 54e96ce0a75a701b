"""The plan as a Mermaid flowchart: `plan://{id}/mermaid` through the in-memory MCP client, the same text
from `plan show ID --mermaid` (run in this process), and Mermaid's own parser accepting it (node + the npm `mermaid` package, with
jsdom for its sanitizer; installed once into the test cache, skipped when npm cannot fetch it)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from singularity_mcp.config import Settings
from singularity_mcp.planning._mermaid import STATUS_COLOURS, node_id
from singularity_mcp.server import build_server
from tests.conftest import run_cli, server_env, test_model_dir

pytestmark = pytest.mark.anyio
CHECKER = Path(__file__).parent / "mermaid"


@pytest.fixture(scope="session")
def mermaid_parser() -> Path:
    """A folder with node_modules holding mermaid and jsdom (pinned by package-lock.json)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not installed: Mermaid's parser cannot run")
    folder = test_model_dir().parent / "mermaid-parser"
    lock = (CHECKER / "package-lock.json").read_text()
    if (
        not (folder / "node_modules" / "mermaid").is_dir()
        or (folder / "package-lock.json").read_text() != lock
    ):
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json", "parse.mjs"):
            shutil.copy(CHECKER / name, folder / name)
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(folder)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            pytest.skip(f"npm could not install mermaid (offline?): {done.stderr.strip()[-300:]}")
    shutil.copy(CHECKER / "parse.mjs", folder / "parse.mjs")
    return folder


def mermaid_parse(folder: Path, *sources: str) -> list[dict[str, Any]]:
    """Mermaid's verdict on each source (one node process for all: starting one takes a second or two)."""
    done = subprocess.run(
        ["node", str(folder / "parse.mjs")],
        input=json.dumps(sources),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def _plan(client: Client, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool("plan_task", arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def test_mermaid_resource_and_cli(settings: Settings, database: Any, mermaid_parser: Path) -> None:
    async with Client(build_server(settings)) as client:
        plan = await _plan(
            client,
            goal='Ship the "v2" API <beta> #1',
            subtasks=[
                {"title": "Design", "key": "design", "acceptance_criteria": ["schema reviewed"]},
                {"title": "Build", "key": "build", "depends_on": ["design"]},
                {"title": "Release notes", "depends_on": ["build"]},
                {"title": 'Announce "v2"', "depends_on": ["design"]},
            ],
        )
        plan_id = plan["plan_id"]
        await _plan(
            client,
            action="decompose",
            plan_id=plan_id,
            task_id="2",
            subtasks=[{"title": "Server side"}, {"title": "Client <SDK>", "depends_on": [1]}],
        )
        await _plan(client, plan_id=plan_id, task_id="1", status="done")
        await _plan(client, plan_id=plan_id, task_id="2.1", status="in_progress")
        await _plan(client, plan_id=plan_id, task_id="4", status="failed")
        view = await _plan(client, action="get", plan_id=plan_id)
        read = await client.read_resource(f"plan://{plan_id}/mermaid")
        source = read.contents[0].text  # type: ignore[union-attr]
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert "plan://{plan_id}/mermaid" in templates

    # Structure: every task drawn once (a phase as a subgraph), every dependency an arrow, colours by status.
    lines = [line.strip() for line in source.splitlines()]
    assert lines[0] == "flowchart TD"
    for task in view["tasks"]:
        nid = node_id(task["id"])
        drawn = [x for x in lines if x.startswith((f"{nid}[", f"subgraph {nid} ["))]
        assert len(drawn) == 1, (task["id"], drawn)
        if task["has_subtasks"]:
            fill, _ = STATUS_COLOURS[task["status"]]
            assert f"style {nid} fill:{fill}" in source
        else:
            assert any(
                x.startswith("class ") and nid in x.split()[1].split(",") and x.endswith(task["status"])
                for x in lines
            ), task
        for dep in task["depends_on"]:
            assert f"{node_id(dep)} --> {nid}" in lines
    assert sum(x.count("-->") for x in lines) == sum(len(t["depends_on"]) for t in view["tasks"])
    assert lines.count("end") == sum(t["has_subtasks"] for t in view["tasks"])
    assert {f"classDef {s}" for s in STATUS_COLOURS} <= {" ".join(x.split()[:2]) for x in lines}
    drawing = "\n".join(x for x in lines if not x.startswith("%%"))
    assert '"' not in re.sub(r'\["[^"]*"\]', "", drawing)  # quotes only delimit labels
    assert "#quot;v2#quot;" in source and "#lt;SDK#gt;" in source
    assert f"style {node_id(view['next']['id'])} stroke-width:4px" in lines

    # The second source has a broken label: the parser does reject bad input.
    parsed, broken = mermaid_parse(mermaid_parser, source, source.replace('"]', "]", 1))
    assert parsed["ok"], parsed["error"] + source
    assert parsed["diagramType"].startswith("flowchart")
    assert not broken["ok"] and broken["error"]

    shown = await anyio.to_thread.run_sync(
        partial(run_cli, server_env(settings), "plan", "show", str(plan_id), "--mermaid")
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == source
