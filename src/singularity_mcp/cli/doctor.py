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


def _size(value: object) -> str:
    return f"{value / 1e6:.0f} MB" if isinstance(value, int | float) else "?"


def _rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(check, status, details) for the table: one line per thing a user can act on."""
    rows = [("data dir", "", str(report.get("data_dir", "?")))]
    database = report.get("database") or {}
    if "error" in database:
        rows.append(("database", "FAIL", str(database["error"])))
    else:
        rows.append(
            (
                "database",
                "ok",
                f"{database.get('mode', '?')} PostgreSQL {database.get('postgresql', '?')}, "
                f"pgvector {database.get('pgvector', '?')} ({database.get('url', '?')})",
            )
        )
    model = report.get("model") or {}
    if "error" in model:
        rows.append(("model", "FAIL", str(model["error"])))
    else:
        built = model.get("built")
        verdicts: dict[bool | None, str] = {True: "checksum ok", False: "CHECKSUM MISMATCH"}
        checksum = verdicts.get(model.get("checksum_ok"), "")
        state = "ok" if built and model.get("checksum_ok") is not False else "FAIL" if built else "not built"
        details = f"{model.get('model', '?')} {model.get('variant', '')}".strip()
        details += f", {'built' if built else 'built on first use'}"
        details += f", {checksum}" if checksum else ""
        if model.get("path"):
            details += f" ({model['path']})"
        rows.append(("model", state, details))
        variants = model.get("variants_built") or {}
        if isinstance(variants, dict) and variants:
            listed = ", ".join(f"{name} {_size((info or {}).get('size'))}" for name, info in variants.items())
            rows.append(("model builds", "", listed))
        providers = model.get("providers") or []
        device = f"{model.get('device', '?')}, {model.get('threads', '?')} threads"
        device += f" via {', '.join(providers)}" if providers else ""
        rows.append(("embedding runtime", "", device))
        if model.get("reason"):
            rows.append(("", "", str(model["reason"])))
        for note in model.get("notes") or []:
            rows.append(("", "note", str(note)))
    languages = report.get("tree_sitter_languages")
    if isinstance(languages, dict):
        rows.append(("tree-sitter", "FAIL", str(languages.get("error"))))
    else:
        rows.append(("tree-sitter", "ok", f"{languages} languages"))
    key = report.get("anthropic_api_key")
    rows.append(("Anthropic API key", key or "?", "LLM tier of ask and plan (optional)"))
    roots = report.get("allowed_roots")
    rows.append(("allowed roots", "", ", ".join(roots) if isinstance(roots, list) else str(roots)))
    return rows


_STATUS_STYLE = {"ok": "green", "yes": "green", "FAIL": "bold red", "not built": "yellow", "note": "yellow"}


def _print_human(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    table = Table("check", "status", "details", show_lines=False)
    for check, status, details in _rows(report):
        style = _STATUS_STYLE.get(status)
        table.add_row(check, f"[{style}]{status}[/]" if style else status, escape(details))
    console.print(table)
    if report["problems"]:
        console.print("[bold red]problems[/]")
        for problem in report["problems"]:
            console.print(f"  - {escape(problem)}")
    else:
        console.print("[bold green]all checks passed[/]")
