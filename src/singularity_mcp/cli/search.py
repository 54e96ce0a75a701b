"""`singularity-mcp search QUERY [--path P] [--language L] [--kind K] [--scope S] [--top-k N] [--json]`."""

from __future__ import annotations

import argparse

from singularity_mcp.cli._common import print_json, run_with_core
from singularity_mcp.config import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("search", help="search indexed code (and the knowledge base)")
    parser.add_argument("query", help="what you are looking for, in words or identifiers")
    parser.add_argument("--path", help="limit code hits to this indexed folder or a sub-folder")
    parser.add_argument("--language", help="limit hits to one language")
    parser.add_argument("--kind", help="limit code hits to one kind (function, method, class, ...)")
    parser.add_argument("--scope", choices=["all", "code", "knowledge"], default="all")
    parser.add_argument("--top-k", type=int, default=10, help="number of hits (1-50)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from singularity_mcp.search import search_everything

    result = run_with_core(
        settings,
        lambda core: search_everything(
            core, args.query, args.scope, args.path, args.language, None, args.top_k, args.kind
        ),
    )
    if args.json:
        print_json(result)
        return 0
    from rich.console import Console
    from rich.markup import escape
    from rich.syntax import Syntax

    console = Console()
    for note in result.notes:
        console.print(f"[yellow]{escape(note)}[/]")
    code = [hit for hit in result.results if hit.kind == "code"]
    knowledge = [hit for hit in result.results if hit.kind == "knowledge"] + result.knowledge
    for hit in code:
        where = f"{hit.path}:{hit.start_line}-{hit.end_line}"
        console.print(f"[bold]{escape(where)}[/] {escape(hit.symbol or '')} [dim]score {hit.score:.4f}[/]")
        console.print(
            Syntax(hit.snippet, hit.language or "text", line_numbers=True, start_line=hit.start_line)
        )
    if knowledge:
        if code:
            console.rule("knowledge base (ranked on its own)")
        for item in knowledge:
            console.print(
                f"[bold]{escape(item.title)}[/] ({item.artifact_type}) {item.uri} "
                f"[dim]score {item.score:.3f}[/]"
            )
            console.print(escape(item.snippet))
    if not code and not knowledge:
        console.print("no results")
    summary = f"{len(code)} code hits" if args.scope != "knowledge" else f"{len(knowledge)} knowledge hits"
    if code and knowledge:
        summary += f", {len(knowledge)} knowledge hits"
    console.print(f"[dim]{summary} in {result.took_ms:.0f} ms[/]")
    return 0
