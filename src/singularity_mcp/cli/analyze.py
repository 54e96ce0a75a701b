"""`singularity-mcp analyze PATH [--json]`: analyse a file or a folder."""

from __future__ import annotations

import argparse

import anyio

from singularity_mcp.analysis import analyze_path
from singularity_mcp.analysis.models import FileAnalysis, FolderAnalysis
from singularity_mcp.cli._common import print_json
from singularity_mcp.config import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "analyze",
        help="definitions, complexity and findings for a file; totals and hotspots for a folder",
    )
    parser.add_argument("path", help="a source file or a folder")
    parser.add_argument("--language", help="override language detection for a file (e.g. python)")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    result = anyio.run(lambda: analyze_path(args.path, settings, language=args.language))
    if args.json:
        print_json(result)
    elif isinstance(result, FolderAnalysis):
        _print_folder(result)
    else:
        _print_file(result)
    return 0


def _print_file(result: FileAnalysis) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    m = result.metrics
    console.print(
        f"[bold]{result.path}[/bold] [{result.language}]  {m.loc} lines, {m.sloc} code, "
        f"{m.comment_lines} comment, {m.blank_lines} blank; {m.functions} functions, "
        f"complexity avg {m.avg_complexity} max {m.max_complexity}; maintainability {m.maintainability_index}"
    )
    table = Table("lines", "kind", "name", "cyclomatic", "cognitive", "nesting", "params")
    for d in result.definitions:
        table.add_row(
            f"{d.start_line}-{d.end_line}",
            d.kind,
            d.qualified_name,
            "" if d.cyclomatic_complexity is None else str(d.cyclomatic_complexity),
            "" if d.cognitive_complexity is None else str(d.cognitive_complexity),
            str(d.nesting_depth),
            str(len(d.parameters)),
        )
    console.print(table)
    for f in result.findings:
        console.print(f"{f.line:>6}  {f.severity:<7} {f.rule:<20} {f.message}", markup=False)
    if result.truncated:
        console.print(f"[yellow]{result.truncated}[/yellow]")


def _print_folder(result: FolderAnalysis) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"[bold]{result.path}[/bold]: {result.files_analyzed} files analysed, "
        f"{result.files_skipped} skipped, {result.seconds:.2f}s"
    )
    langs = Table("language", "files", "sloc", "comments", "functions", "avg ccn", "max ccn")
    for t in result.languages:
        langs.add_row(
            t.language,
            str(t.files),
            str(t.sloc),
            str(t.comment_lines),
            str(t.functions),
            str(t.avg_complexity),
            str(t.max_complexity),
        )
    console.print(langs)
    hot = Table("cyclomatic", "cognitive", "function", "where")
    for h in result.hotspots:
        hot.add_row(
            str(h.cyclomatic_complexity),
            str(h.cognitive_complexity),
            h.qualified_name,
            f"{h.path}:{h.start_line}",
        )
    console.print(hot)
    if result.findings_by_rule:
        console.print(", ".join(f"{rule}: {n}" for rule, n in result.findings_by_rule.items()))
    for error in result.errors:
        console.print(f"[red]{error}[/red]")
    if result.truncated:
        console.print(f"[yellow]{result.truncated}[/yellow]")
