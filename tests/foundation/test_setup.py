"""`singularity-mcp setup CLIENT` with a fake HOME (run in this process): the entry it writes, merging,
backups, refusals — and that the written entry starts a working server (a spawned process) with no PATH to
lean on."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from singularity_mcp.client_setup import config_path
from tests.conftest import CliResult, run_cli


def _setup(home: Path, *args: str, path: str | None = None) -> CliResult:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SINGULARITY_", "XDG_", "APPDATA"))}
    env["HOME"] = str(home)
    if path is not None:
        env["PATH"] = path
    return run_cli(env, "setup", *args)


def _script() -> Path:
    """This test run's `singularity-mcp`: the one the entry must name."""
    return Path(sys.executable).absolute().parent / "singularity-mcp"


@pytest.mark.parametrize(
    ("client", "system", "expected"),
    [
        ("claude-desktop", "Darwin", "H/Library/Application Support/Claude/claude_desktop_config.json"),
        ("claude-desktop", "Windows", "APPDATA/Claude/claude_desktop_config.json"),
        ("claude-desktop", "Linux", "H/.config/Claude/claude_desktop_config.json"),
        ("cursor", "Darwin", "H/.cursor/mcp.json"),
        ("cursor", "Windows", "H/.cursor/mcp.json"),
        ("cursor", "Linux", "H/.cursor/mcp.json"),
        ("vscode", "Darwin", "H/Library/Application Support/Code/User/mcp.json"),
        ("vscode", "Windows", "APPDATA/Code/User/mcp.json"),
        ("vscode", "Linux", "H/.config/Code/User/mcp.json"),
    ],
)
def test_config_locations_per_platform(client: str, system: str, expected: str) -> None:
    found = config_path(client, system=system, home=Path("H"), environ={"APPDATA": "APPDATA"})  # type: ignore[arg-type]
    assert found == Path(expected)


def test_project_locations() -> None:
    project = Path("P")
    assert config_path("cursor", project=project) == Path("P/.cursor/mcp.json")
    assert config_path("claude-code", project=project) == Path("P/.mcp.json")
    assert config_path("vscode", project=project) == Path("P/.vscode/mcp.json")
    assert config_path("claude-code") is None  # user scope goes through `claude mcp add`


def test_merges_into_an_existing_file_with_a_backup(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = home / ".config" / "Claude" / "claude_desktop_config.json"
    config.parent.mkdir(parents=True)
    original = json.dumps({"globalShortcut": "Ctrl+Space", "mcpServers": {"other": {"command": "/bin/x"}}})
    config.write_text(original)
    data = tmp_path / "my data"

    first = _setup(home, "claude-desktop", "--data-dir", str(data))
    assert first.returncode == 0, first.stderr
    written = json.loads(config.read_text())
    assert written["globalShortcut"] == "Ctrl+Space"
    assert written["mcpServers"]["other"] == {"command": "/bin/x"}
    entry = written["mcpServers"]["singularity"]
    assert entry == {
        "command": str(_script()),
        "args": ["serve"],
        "env": {"SINGULARITY_DATA_DIR": str(data.resolve())},
    }
    backups = list(config.parent.glob("claude_desktop_config.json.*.bak"))
    assert len(backups) == 1 and backups[0].read_text() == original
    assert "kept 1 other server" in first.stdout

    again = _setup(home, "claude-desktop", "--data-dir", str(data))
    assert again.returncode == 0 and "nothing to do" in again.stdout
    assert len(list(config.parent.glob("*.bak"))) == 1  # an unchanged file is not rewritten


def test_refuses_an_unparsable_file_and_leaves_it_alone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = home / ".cursor" / "mcp.json"
    config.parent.mkdir(parents=True)
    broken = '{\n  // my servers\n  "mcpServers": {}\n}\n'
    config.write_text(broken)
    result = _setup(home, "cursor")
    assert result.returncode == 1
    assert f"{config} is not valid JSON (line 2" in result.stderr and "nothing was changed" in result.stderr
    assert "Traceback" not in result.stderr
    assert config.read_text() == broken
    assert list(config.parent.iterdir()) == [config]  # no backup, no temporary file


def test_print_and_vscode_project(tmp_path: Path) -> None:
    home = tmp_path / "home"
    printed = _setup(home, "vscode", "--print", "--data-dir", str(tmp_path / "d"))
    assert printed.returncode == 0, printed.stderr
    entry = json.loads(printed.stdout)["servers"]["singularity"]
    assert entry["type"] == "stdio" and entry["command"] == str(_script())
    assert not (home / ".config").exists()  # --print writes nothing

    project = tmp_path / "proj"
    project.mkdir()
    done = _setup(home, "vscode", "--project", str(project), "--name", "sing")
    assert done.returncode == 0, done.stderr
    written = json.loads((project / ".vscode" / "mcp.json").read_text())
    assert written["servers"]["sing"]["args"] == ["serve"]
    refused = _setup(home, "claude-desktop", "--project", str(project))
    assert refused.returncode == 1 and "no per-project configuration" in refused.stderr


def test_claude_code_runs_claude_mcp_add(tmp_path: Path) -> None:
    """A stand-in `claude` on PATH records what it was asked to do."""
    home = tmp_path / "home"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "claude.log"
    fake = bin_dir / "claude"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    result = _setup(home, "claude-code", "--data-dir", str(tmp_path / "d"), path=f"{bin_dir}:/usr/bin:/bin")
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == "mcp remove --scope user singularity"
    assert calls[1] == (
        f"mcp add --scope user singularity -e SINGULARITY_DATA_DIR={(tmp_path / 'd').resolve()} "
        f"-- {_script()} serve"
    )

    without = _setup(home, "claude-code", path="/usr/bin:/bin")
    assert without.returncode == 1 and "`claude` is not on PATH" in without.stderr
    assert without.stdout.startswith("claude mcp add --scope user singularity -e SINGULARITY_DATA_DIR=")
    project = tmp_path / "proj"
    project.mkdir()
    assert _setup(home, "claude-code", "--project", str(project), path="/usr/bin:/bin").returncode == 0
    assert "singularity" in json.loads((project / ".mcp.json").read_text())["mcpServers"]


@pytest.mark.anyio
async def test_written_entry_starts_a_server_without_path(tmp_path: Path, settings) -> None:
    """What a client does with the entry: spawn it with its own environment, no virtualenv on PATH."""
    home = tmp_path / "home"
    project = tmp_path / "proj"
    project.mkdir()
    assert (
        _setup(home, "cursor", "--project", str(project), "--data-dir", str(settings.data_dir)).returncode
        == 0
    )
    entry = json.loads((project / ".cursor" / "mcp.json").read_text())["mcpServers"]["singularity"]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), **entry["env"], "SINGULARITY_LOG_LEVEL": "WARNING"}
    params = StdioServerParameters(command=entry["command"], args=entry["args"], env=env, cwd=str(tmp_path))
    with open(os.devnull, "w") as devnull:  # noqa: ASYNC230
        async with (
            stdio_client(params, errlog=devnull) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            tools = {t.name for t in (await session.list_tools()).tools}
    assert {"semantic_search", "plan_task", "index_codebase"} <= tools
