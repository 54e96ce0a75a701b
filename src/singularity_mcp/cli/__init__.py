"""Command line: `singularity-mcp <command>`. Each group lives in its own module and calls one core function."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from singularity_mcp import __version__
from singularity_mcp.cli import analyze, ask, doctor, index, kb, model, package, plan, search, serve, symbols
from singularity_mcp.config import load_settings
from singularity_mcp.errors import ConfigError, SingularityError
from singularity_mcp.logs import configure_logging

# Each module has `add_parser(subparsers)`; it sets `func(args, settings) -> int` on its parsers.
GROUPS = [serve, doctor, model, analyze, plan, index, search, symbols, kb, package, ask]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="singularity-mcp",
        description="Local MCP server: code search, analysis, planning, agent router, package facts.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level (to stderr)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"singularity-mcp: {exc}", file=sys.stderr)
        return 2
    configure_logging("DEBUG" if args.verbose else settings.log_level)
    try:
        return int(args.func(args, settings) or 0)
    except SingularityError as exc:
        print(f"singularity-mcp: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
