"""`singularity-mcp doctor`: what is configured, what works, what is broken (non-zero exit if needed)."""

from __future__ import annotations

import argparse
import importlib.metadata
from typing import Any

from singularity_mcp.cli._common import print_json, run_with_core
from singularity_mcp.config import Settings
from singularity_mcp.core import Core


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("doctor", help="check the installation and report what works")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)


async def collect_report(core: Core) -> tuple[dict[str, Any], list[str]]:
    """Gather the report; return it and the list of problems that make the setup unusable."""
    from singularity_mcp.db import redact_url

    settings = core.settings
    problems: list[str] = []
    report: dict[str, Any] = {"data_dir": str(settings.data_dir)}

    try:
        database = await core.database()
        versions = await database.versions()
        report["database"] = {
            "mode": "embedded" if database.embedded else "external",
            "url": redact_url(database.url),
            **versions,
        }
        if versions["pgvector"] == "missing":
            problems.append("database: the vector extension is not installed")
    except Exception as exc:
        report["database"] = {"error": str(exc)}
        problems.append(f"database: {exc}")

    try:
        from singularity_mcp.embedding import model_status

        report["model"] = model_status(settings)
        problems.extend(f"model: {p}" for p in report["model"]["problems"])
    except Exception as exc:
        report["model"] = {"error": str(exc)}
        problems.append(f"model: {exc}")

    try:
        from singularity_mcp.analysis import supported_languages

        report["tree_sitter_languages"] = len(supported_languages())
    except Exception as exc:
        report["tree_sitter_languages"] = {"error": str(exc)}
        problems.append(f"tree-sitter: {exc}")

    installed = {d.metadata["Name"].lower() for d in importlib.metadata.distributions()}
    if {"onnxruntime", "onnxruntime-gpu"} <= installed:
        problems.append(
            "onnxruntime and onnxruntime-gpu are both installed and overwrite each other: "
            "pip uninstall -y onnxruntime onnxruntime-gpu, then install only one"
        )
    report["anthropic_api_key"] = "yes" if settings.anthropic_api_key else "no"
    report["allowed_roots"] = [str(p) for p in settings.resolved_allowed_roots] or "any"
    return report, problems


def run(args: argparse.Namespace, settings: Settings) -> int:
    report, problems = run_with_core(settings, collect_report)
    report["problems"] = problems
    if args.json:
        print_json(report)
    else:
        _print_human(report)
    return 1 if problems else 0


def _print_human(report: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console()
    for key, value in report.items():
        if key == "problems":
            continue
        if isinstance(value, dict):
            console.print(f"[bold]{key}[/]")
            for k, v in value.items():
                console.print(f"  {k}: {v}")
        else:
            console.print(f"[bold]{key}[/]: {value}")
    if report["problems"]:
        console.print("[bold red]problems[/]")
        for problem in report["problems"]:
            console.print(f"  - {problem}")
    else:
        console.print("[bold green]all checks passed[/]")
