"""`doctor` and friends as a user runs them: in this process, and once through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys

from singularity_mcp.config import Settings
from tests.conftest import REPO_ROOT, CliResult, run_cli, server_env


def _cli(settings: Settings, *args: str, **env: str) -> CliResult:
    return run_cli(server_env(settings, **env), *args)


def _spawned_cli(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`python -m singularity_mcp ARGS` in a process of its own: the entry point and its exit status."""
    return subprocess.run(
        [sys.executable, "-m", "singularity_mcp", *args],
        env=server_env(settings, **env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_doctor_healthy_setup_exits_zero(settings: Settings) -> None:
    result = _cli(settings, "doctor", "--json", ANTHROPIC_API_KEY="sk-ant-do-not-print")
    report = json.loads(result.stdout)
    assert result.returncode == 0, report["problems"]
    assert report["database"]["mode"] == "embedded"
    assert report["database"]["pgvector"].startswith("0.8")
    assert report["anthropic_api_key"] == "yes"
    assert "sk-ant-do-not-print" not in result.stdout + result.stderr


def test_doctor_broken_database_url_exits_nonzero(settings: Settings) -> None:
    result = _cli(settings, "doctor", "--json", SINGULARITY_DATABASE_URL="postgresql://u:pw@127.0.0.1:1/db")
    assert result.returncode != 0
    report = json.loads(result.stdout)
    assert any(problem.startswith("database:") for problem in report["problems"])
    assert "pw@" not in result.stdout


def test_bad_setting_fails_at_start_naming_the_variable(settings: Settings) -> None:
    result = _spawned_cli(settings, "doctor", SINGULARITY_LOG_LEVEL="LOUD")
    assert result.returncode == 2
    assert "SINGULARITY_LOG_LEVEL" in result.stderr


def test_doctor_prints_a_table_not_dicts(settings: Settings) -> None:
    result = _cli(settings, "doctor", COLUMNS="120")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    database = next(line for line in lines if "│ database" in line)
    assert "│ ok" in database and "PostgreSQL" in database and "pgvector 0.8" in database
    assert any("│ model " in line and "│ ok" in line for line in lines)
    assert "{'" not in result.stdout and "checksum_ok" not in result.stdout and "True" not in result.stdout
    assert "all checks passed" in result.stdout
