"""Command line: `singularity-mcp <command>`. Each group lives in its own module and calls one core function."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from singularity_mcp import __version__
from singularity_mcp.cli import (
    analyze,
    ask,
    doctor,
    index,
    kb,
    model,
    package,
    plan,
    search,
    serve,
    setup,
    symbols,
)
from singularity_mcp.cli._common import quiet_shutdown
from singularity_mcp.config import Settings, load_settings
from singularity_mcp.errors import ConfigError, SingularityError
from singularity_mcp.logs import configure_logging

# Each module has `add_parser(subparsers)`; it sets `func(args, settings) -> int` on its parsers.
GROUPS = [serve, setup, doctor, model, analyze, plan, index, search, symbols, kb, package, ask]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="singularity-mcp",
        description="Local MCP server: code search, analysis, planning, agent router, package facts.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log progress details to stderr (-v: INFO, -vv: DEBUG); commands other than serve log only "
        "warnings by default",
    )
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
    configure_logging(log_level(args.command, args.verbose, settings))
    try:
        return int(args.func(args, settings) or 0)
    except SingularityError as exc:
        print(f"singularity-mcp: {exc.for_cli()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        quiet_shutdown()
        print("interrupted", file=sys.stderr)
        return 130


def log_level(command: str, verbose: int, settings: Settings) -> str:
    """`serve` logs at SINGULARITY_LOG_LEVEL; a one-shot command shows warnings only, unless -v (INFO),
    -vv (DEBUG) or an explicit SINGULARITY_LOG_LEVEL asks for more."""
    if verbose:
        return "DEBUG" if verbose > 1 else "INFO"
    if command == "serve" or "log_level" in settings.model_fields_set:
        return settings.log_level
    return "WARNING"
