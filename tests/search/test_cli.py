"""`singularity-mcp index` and `singularity-mcp search` on the command line (run in this process)."""

from __future__ import annotations

import json
from pathlib import Path

from singularity_mcp.config import Settings
from tests.conftest import CliResult, run_cli, server_env
from tests.search.conftest import write_repo


def cli(settings: Settings, env: dict[str, str], *args: str) -> CliResult:
    return run_cli(server_env(settings, **env), *args)


def test_index_search_remove(settings: Settings, search_env: dict[str, str], tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo")
    indexed = cli(settings, search_env, "index", str(root), "--json")
    assert indexed.returncode == 0, indexed.stderr
    result = json.loads(indexed.stdout)
    assert result["status"] == "done" and result["files_indexed"] == 5

    found = cli(
        settings,
        search_env,
        "search",
        "sales tax on invoice lines",
        "--path",
        str(root),
        "--scope",
        "code",
        "--json",
    )
    assert found.returncode == 0, found.stderr
    top = json.loads(found.stdout)["results"][0]
    assert top["path"] == str(root / "billing/invoice.py")

    human = cli(
        settings,
        search_env,
        "search",
        "liveness probe",
        "--path",
        str(root),
        "--scope",
        "code",
        "--top-k",
        "1",
    )
    assert human.returncode == 0 and "server/health.go" in human.stdout

    # The default scope with a path is about code: no knowledge section; without one, its own section.
    narrowed = cli(settings, search_env, "search", "retry with exponential backoff", "--path", str(root))
    assert narrowed.returncode == 0 and "knowledge base" not in narrowed.stdout
    assert "knowledge://" not in narrowed.stdout and "server/health.go" in narrowed.stdout
    wide = cli(settings, search_env, "search", "retry with exponential backoff", "--top-k", "3")
    assert wide.returncode == 0, wide.stderr
    code_part, _, knowledge_part = wide.stdout.partition("knowledge base (ranked on its own)")
    assert knowledge_part and "knowledge://" in knowledge_part and "knowledge://" not in code_part

    removed = cli(settings, search_env, "index", "--remove", str(root), "--json")
    assert removed.returncode == 0 and json.loads(removed.stdout)["files"] == 5
    gone = cli(settings, search_env, "search", "invoice", "--path", str(root), "--scope", "code")
    assert gone.returncode == 1 and "run `singularity-mcp index " in gone.stderr
    assert "index_codebase" not in gone.stderr
