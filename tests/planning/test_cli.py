"""`singularity-mcp plan` as a user runs it: create, next, done, show, list, and a clear error."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import partial

import anyio
import pytest

from singularity_mcp.config import Settings
from singularity_mcp.db import Database
from tests.conftest import REPO_ROOT, server_env

pytestmark = pytest.mark.anyio


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "singularity_mcp", "plan", *args],
        env=server_env(settings),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


async def test_plan_commands(settings: Settings, database: Database) -> None:
    """The session's database is up, so each command joins it instead of starting its own."""

    async def _plan(settings: Settings, *args: str) -> subprocess.CompletedProcess:
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
