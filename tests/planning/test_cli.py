"""`singularity-mcp plan` as a user runs it (in this process): create, next, done, show, list, and a clear
error."""

from __future__ import annotations

import json
from functools import partial

import anyio
import pytest

from singularity_mcp.config import Settings
from singularity_mcp.db import Database
from tests.conftest import CliResult, run_cli, server_env

pytestmark = pytest.mark.anyio


def _run(settings: Settings, *args: str) -> CliResult:
    return run_cli(server_env(settings), "plan", *args)


async def test_plan_commands(settings: Settings, database: Database) -> None:
    """The session's database is up, so each command joins it instead of starting its own."""

    async def _plan(settings: Settings, *args: str) -> CliResult:
        return await anyio.to_thread.run_sync(partial(_run, settings, *args))

    created = await _plan(settings, "Upgrade", "Django", "to", "5.1", "--json")
    assert created.returncode == 0, created.stderr
    plan = json.loads(created.stdout)
    assert plan["goal"] == "Upgrade Django to 5.1"
    assert plan["source"] == "template:dependency-upgrade"
    plan_id = str(plan["plan_id"])

    nxt = json.loads((await _plan(settings, "next", plan_id, "--json")).stdout)
    first = nxt["next"]["id"]
    done = json.loads(
        (await _plan(settings, "done", plan_id, first, "--json", "--note", "read the notes")).stdout
    )
    task = next(t for t in done["tasks"] if t["id"] == first)
    assert task["status"] == "done" and task["note"] == "read the notes"
    assert first not in done["ready"]

    shown = await _plan(settings, "show", plan_id)
    assert shown.returncode == 0 and "Upgrade Django to 5.1" in shown.stdout and "Next:" in shown.stdout
    markdown = (await _plan(settings, "show", plan_id, "--markdown")).stdout
    assert markdown.startswith(f"# Plan {plan_id}: Upgrade Django to 5.1")
    listing = json.loads((await _plan(settings, "list", "--json")).stdout)
    assert any(str(p["plan_id"]) == plan_id for p in listing["plans"])

    missing = await _plan(settings, "done", plan_id, "42")
    assert missing.returncode == 1
    assert "no task '42'" in missing.stderr and "Traceback" not in missing.stderr


async def test_cli_speaks_cli(settings: Settings, database: Database) -> None:
    """Unknown verbs are errors, errors name commands (not MCP tools), prerequisites are enforced with a
    --force way out, `next` says "Next:" once, and criteria are not ticked before their task is done."""

    async def _plan(*args: str) -> CliResult:
        return await anyio.to_thread.run_sync(partial(_run, settings, *args))

    unknown = await _plan("update", "1", "2")
    assert unknown.returncode == 1 and "unknown plan command 'update'" in unknown.stderr
    assert 'singularity-mcp plan "update 1 2"' in unknown.stderr
    usage = await _plan("show")
    assert usage.returncode == 1 and "usage: singularity-mcp plan show ID" in usage.stderr

    missing = await _plan("show", "987654")
    assert missing.returncode == 1 and "singularity-mcp plan list" in missing.stderr
    assert "plan_task" not in missing.stderr and "plan://" not in missing.stderr

    created = json.loads((await _plan("Fix the crash when saving an empty file", "--json")).stdout)
    plan_id = str(created["plan_id"])
    third = next(t for t in created["tasks"] if t["id"] == "3")
    assert third["depends_on"] and third["acceptance_criteria"]

    refused = await _plan("done", plan_id, "3")
    assert refused.returncode == 1
    assert f"task 3 waits for {third['depends_on'][0]} (pending)" in refused.stderr
    assert "--force" in refused.stderr and "force=true" not in refused.stderr
    forced = json.loads((await _plan("done", plan_id, "3", "--force", "--json")).stdout)
    assert next(t for t in forced["tasks"] if t["id"] == "3")["status"] == "done"
    assert "(forced)" in forced["message"]
    wrong_task = await _plan("done", plan_id, "42")
    assert (
        f"singularity-mcp plan show {plan_id}" in wrong_task.stderr and "plan_task" not in wrong_task.stderr
    )

    nxt = await _plan("next", plan_id)
    assert nxt.returncode == 0 and nxt.stdout.count("Next:") == 1, nxt.stdout
    assert "Done when:" in nxt.stdout and "✓" not in nxt.stdout
    markdown = (await _plan("show", plan_id, "--markdown")).stdout
    task_lines = [line for line in markdown.splitlines() if line.startswith("- [")]
    assert task_lines[0].startswith("- [ ] **1**") and "  - [ ] " in markdown  # open task, open criteria
    assert "  - [x] " in markdown  # task 3 is done, so are its criteria
    assert "✓" not in markdown
