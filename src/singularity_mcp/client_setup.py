"""Client configuration: the MCP server entry for Claude Desktop, Cursor, Claude Code and VS Code, and merging
it into the client's JSON file without losing what else is there.

Editors do not inherit a virtualenv's PATH, so the entry names this install's executable by absolute path,
and the data directory explicitly (the client's environment may differ from the shell's).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from singularity_mcp.errors import InvalidInput

Client = Literal["claude-desktop", "cursor", "claude-code", "vscode"]
CLIENTS: tuple[Client, ...] = ("claude-desktop", "cursor", "claude-code", "vscode")
CLIENT_NAMES: dict[Client, str] = {
    "claude-desktop": "Claude Desktop",
    "cursor": "Cursor",
    "claude-code": "Claude Code",
    "vscode": "VS Code",
}
DEFAULT_NAME = "singularity"


def server_command() -> tuple[str, list[str]]:
    """The absolute command that starts this installation's server: its `singularity-mcp` script, or
    this interpreter with `-m singularity_mcp` when the script is not where the interpreter's scripts go."""
    names = ("singularity-mcp.exe", "singularity-mcp") if os.name == "nt" else ("singularity-mcp",)
    # Not resolved: a virtualenv's python is a symlink, and resolving it would leave the virtualenv.
    interpreter = Path(sys.executable).absolute()
    for folder in (Path(sysconfig.get_path("scripts")), interpreter.parent):
        for name in names:
            candidate = folder / name
            if candidate.is_file():
                return str(candidate.absolute()), ["serve"]
    return str(interpreter), ["-m", "singularity_mcp", "serve"]


def server_entry(
    client: Client, data_dir: Path, command: tuple[str, list[str]] | None = None
) -> dict[str, Any]:
    """The `mcpServers` (VS Code: `servers`) entry for `client`."""
    program, args = command or server_command()
    entry: dict[str, Any] = {"command": program, "args": args, "env": {"SINGULARITY_DATA_DIR": str(data_dir)}}
    if client == "vscode":
        entry = {"type": "stdio", **entry}
    return entry


def servers_key(client: Client) -> str:
    return "servers" if client == "vscode" else "mcpServers"


def _user_config_dir(system: str, home: Path, environ: Mapping[str, str]) -> Path:
    """Where desktop apps keep their settings: Application Support, %APPDATA%, or XDG_CONFIG_HOME."""
    if system == "Darwin":
        return home / "Library" / "Application Support"
    if system == "Windows":
        return Path(environ["APPDATA"]) if environ.get("APPDATA") else home / "AppData" / "Roaming"
    return Path(environ["XDG_CONFIG_HOME"]) if environ.get("XDG_CONFIG_HOME") else home / ".config"


def config_path(
    client: Client,
    *,
    project: Path | None = None,
    system: str | None = None,
    home: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Path | None:
    """The JSON file that holds `client`'s MCP servers: the user-wide one, or the project's with `project`.

    None for Claude Code without a project: its user-wide list is changed with `claude mcp add`.
    """
    system = system or platform.system()
    home = home or Path.home()
    environ = os.environ if environ is None else environ
    if project is not None:
        if client == "claude-desktop":
            raise InvalidInput("Claude Desktop has no per-project configuration: drop --project")
        relative = {"cursor": ".cursor/mcp.json", "claude-code": ".mcp.json", "vscode": ".vscode/mcp.json"}
        return project / relative[client]
    if client == "claude-desktop":
        return _user_config_dir(system, home, environ) / "Claude" / "claude_desktop_config.json"
    if client == "cursor":
        return home / ".cursor" / "mcp.json"
    if client == "vscode":
        return _user_config_dir(system, home, environ) / "Code" / "User" / "mcp.json"
    return None


def claude_code_command(name: str, entry: Mapping[str, Any]) -> list[str]:
    """`claude mcp add` for the user scope (the name comes before `-e`, whose values are variadic)."""
    env = [f"{key}={value}" for key, value in entry.get("env", {}).items()]
    env_args = [arg for pair in env for arg in ("-e", pair)]
    return [
        "claude",
        "mcp",
        "add",
        "--scope",
        "user",
        name,
        *env_args,
        "--",
        entry["command"],
        *entry["args"],
    ]


def snippet(client: Client, name: str, entry: Mapping[str, Any]) -> str:
    """The JSON to paste into the client's file."""
    return json.dumps({servers_key(client): {name: entry}}, indent=2) + "\n"


@dataclass(frozen=True)
class MergeOutcome:
    path: Path
    action: Literal["created", "added", "replaced", "unchanged"]
    backup: Path | None = None
    others: int = 0
    """Servers already in the file that were kept as they were."""


def merge_entry(path: Path, key: str, name: str, entry: Mapping[str, Any]) -> MergeOutcome:
    """Put `entry` under `key`/`name` in the JSON file at `path`, keeping everything else.

    The file is backed up before it changes and replaced atomically; one that cannot be parsed (or has
    an unexpected shape) is refused and left exactly as it was.
    """
    existed = path.is_file()
    document: dict[str, Any] = {}
    original = ""
    if existed:
        try:
            original = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"cannot read {path} ({exc}); nothing was changed") from exc
        if original.strip():
            try:
                parsed = json.loads(original)
            except json.JSONDecodeError as exc:
                raise InvalidInput(
                    f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); nothing was "
                    "changed. Fix the file (comments and trailing commas are not JSON) or move it aside, then "
                    "run setup again, or use --print and paste the entry yourself"
                ) from None
            if not isinstance(parsed, dict):
                raise InvalidInput(
                    f"{path} holds a JSON {type(parsed).__name__}, not an object; nothing was changed"
                )
            document = parsed
    servers = document.setdefault(key, {})
    if not isinstance(servers, dict):
        raise InvalidInput(f'"{key}" in {path} is not an object; nothing was changed')
    others = len([k for k in servers if k != name])
    if servers.get(name) == entry:
        return MergeOutcome(path, "unchanged", others=others)
    action: Literal["created", "added", "replaced"] = (
        "replaced" if name in servers else "added" if existed else "created"
    )
    servers[name] = dict(entry)
    backup = None
    if existed:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        backup = path.with_name(f"{path.name}.{stamp}.bak")
        shutil.copy2(path, backup)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if existed:
        shutil.copymode(path, temporary)
    os.replace(temporary, path)
    return MergeOutcome(path, action, backup, others)
