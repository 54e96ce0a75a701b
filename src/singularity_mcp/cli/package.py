"""`singularity-mcp package NAME [--ecosystem E] [--version V] [--json]`, `package audit PATH`,
`package search QUERY`: package facts, project audits and search by meaning."""

from __future__ import annotations

import argparse
from pathlib import Path

from singularity_mcp.cli._common import print_json, run_with_core
from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.errors import InvalidInput
from singularity_mcp.packages.models import PackageLookupResult


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "package",
        help="package facts (PyPI, npm, crates.io, Hex), `package audit PATH`, `package search QUERY`",
        description=(
            "package NAME: latest version, licence, downloads, dependencies, advisories. "
            "package audit PATH: check every dependency a project's manifests declare. "
            "package search QUERY: packages ranked by meaning."
        ),
    )
    parser.add_argument("words", nargs="+", metavar="NAME | audit PATH | search QUERY")
    parser.add_argument("--ecosystem", "-e", help="pypi, npm, crates or hex (default: ask every registry)")
    parser.add_argument("--version", dest="package_version", help="a specific version (default: latest)")
    parser.add_argument("--top-k", type=int, default=10, help="search results to show (default 10)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from singularity_mcp.packages import package_service, parse_ecosystem

    words: list[str] = args.words
    ecosystem = parse_ecosystem(args.ecosystem)

    async def work(core: Core) -> PackageLookupResult:
        service = await package_service(core)
        if words[0] == "audit" and len(words) == 2:
            from singularity_mcp.paths import allowed_roots, resolve_allowed

            return await service.audit(resolve_allowed(Path(words[1]), settings), allowed_roots(settings))
        if words[0] == "search" and len(words) > 1:
            return await service.search(" ".join(words[1:]), ecosystem=ecosystem, top_k=args.top_k)
        if len(words) != 1:
            raise InvalidInput("usage: package NAME | package audit PATH | package search QUERY")
        return await service.lookup(words[0], ecosystem, args.package_version)

    result = run_with_core(settings, work)
    if args.json:
        print_json(result)
    else:
        from rich.console import Console

        from singularity_mcp.packages import summary

        Console().print(summary(result), markup=False, highlight=False)
    if result.mode == "audit" and result.audit and result.audit.vulnerable:
        return 3  # vulnerable dependencies: a non-zero exit for scripts and CI
    return 0
