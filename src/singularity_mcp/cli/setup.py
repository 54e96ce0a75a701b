"""`singularity-mcp setup CLIENT [--project DIR] [--data-dir DIR] [--name NAME] [--print]`: connect a client.

Writes this installation's server entry (absolute executable path, data dir) into the client's MCP
configuration, keeping the other servers there and backing the file up first.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from singularity_mcp.client_setup import (
    CLIENT_NAMES,
    CLIENTS,
    DEFAULT_NAME,
    claude_code_command,
    config_path,
    merge_entry,
    server_entry,
    servers_key,
    snippet,
)
from singularity_mcp.config import Settings
from singularity_mcp.errors import InvalidInput, Unavailable

_RELOAD = {
    "claude-desktop": "quit and restart Claude Desktop",
    "cursor": "Cursor picks it up in Settings > MCP (toggle it on if needed)",
    "claude-code": "start `claude` in the project and approve the server",
    "vscode": "VS Code lists it under MCP: List Servers; start it there",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "setup",
        help="connect a client (claude-desktop, cursor, claude-code, vscode) to this installation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("client", choices=CLIENTS, help="the client to configure")
    parser.add_argument(
        "--project",
        metavar="DIR",
        help="configure one project (.cursor/mcp.json, .mcp.json, .vscode/mcp.json) instead of the user",
    )
    parser.add_argument(
        "--data-dir", metavar="DIR", help="the data dir the server uses (default: this shell's setting)"
    )
    parser.add_argument("--name", default=DEFAULT_NAME, help=f"the server's name (default {DEFAULT_NAME})")
    parser.add_argument(
        "--print", dest="print_only", action="store_true", help="print the entry instead of writing it"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    name = args.name.strip()
    if not name or any(c.isspace() for c in name):
        raise InvalidInput(f"--name {args.name!r}: pass a name without spaces, e.g. {DEFAULT_NAME}")
    data_dir = Path(args.data_dir or settings.data_dir).expanduser().resolve()
    project = Path(args.project).expanduser().resolve() if args.project else None
    if project is not None and not project.is_dir():
        raise InvalidInput(f"--project {project}: no such folder")
    entry = server_entry(args.client, data_dir)
    path = config_path(args.client, project=project)
    label = CLIENT_NAMES[args.client]

    if path is None:  # Claude Code, user scope: its own command edits its own file
        command = claude_code_command(name, entry)
        if args.print_only or shutil.which("claude") is None:
            if not args.print_only:
                print(
                    "`claude` is not on PATH: run this where it is, or add --project DIR for a .mcp.json",
                    file=sys.stderr,
                )
            print(shlex.join(command))
            return 0 if args.print_only else 1
        subprocess.run(["claude", "mcp", "remove", "--scope", "user", name], capture_output=True, check=False)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise Unavailable(f"`{shlex.join(command)}` failed: {(done.stderr or done.stdout).strip()[:300]}")
        print(f"added {name} to Claude Code (user scope): {entry['command']} {' '.join(entry['args'])}")
        return 0

    if args.print_only:
        print(f"# {label}: merge into {path}", file=sys.stderr)
        sys.stdout.write(snippet(args.client, name, entry))
        return 0
    outcome = merge_entry(path, servers_key(args.client), name, entry)
    kept = f"; kept {outcome.others} other server(s)" if outcome.others else ""
    backup = f"; backup: {outcome.backup}" if outcome.backup else ""
    if outcome.action == "unchanged":
        print(f"{path} already has this {name} entry; nothing to do")
    else:
        print(f"{outcome.action} {name} in {path}{kept}{backup}")
        print(f"  command: {entry['command']} {' '.join(entry['args'])}")
        print(f"  data dir: {data_dir}")
        print(f"next: {_RELOAD[args.client]}")
    return 0
