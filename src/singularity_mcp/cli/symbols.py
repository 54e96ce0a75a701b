"""`singularity-mcp symbols NAME`, `refs NAME`, `map PATH`: the symbol index on the command line."""

from __future__ import annotations

import argparse

from singularity_mcp.cli._common import print_json, run_with_core
from singularity_mcp.config import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    symbols = sub.add_parser("symbols", help="find where a name is defined (indexed code)")
    symbols.add_argument("name", help="identifier, plain ('parse') or qualified ('Parser.parse')")
    symbols.add_argument("--path", help="limit to this indexed folder or a sub-folder")
    symbols.add_argument("--kind", help="only this kind (function, method, class, ...)")
    symbols.add_argument("--json", action="store_true", help="print the result as JSON")
    symbols.set_defaults(func=run_symbols)

    refs = sub.add_parser("refs", help="list the lines in code that use a name, by file")
    refs.add_argument("name", help="identifier whose uses to list")
    refs.add_argument("--path", help="limit to this indexed folder or a sub-folder")
    refs.add_argument("--json", action="store_true", help="print the result as JSON")
    refs.set_defaults(func=run_refs)

    repo_map = sub.add_parser("map", help="a ranked map of an indexed folder's key definitions")
    repo_map.add_argument("path", help="indexed folder (or a sub-folder of one)")
    repo_map.add_argument("--focus", help="files, identifiers or a sentence to rank toward")
    repo_map.add_argument("--tokens", type=int, default=2000, help="token budget of the map (64-16000)")
    repo_map.add_argument("--json", action="store_true", help="print the result as JSON")
    repo_map.set_defaults(func=run_map)


def run_symbols(args: argparse.Namespace, settings: Settings) -> int:
    from singularity_mcp.search import find_symbol

    result = run_with_core(
        settings, lambda core: find_symbol(core, args.name, path=args.path, kind=args.kind)
    )
    if args.json:
        print_json(result)
        return 0
    for note in result.notes:
        print(f"# {note}")
    for s in result.symbols:
        print(f"{s.path}:{s.start_line}-{s.end_line}  {s.kind} {s.qualified_name}\n    {s.signature}")
    return 0 if result.symbols else 1


def run_refs(args: argparse.Namespace, settings: Settings) -> int:
    from singularity_mcp.search import find_references

    result = run_with_core(settings, lambda core: find_references(core, args.name, path=args.path))
    if args.json:
        print_json(result)
        return 0
    for note in result.notes:
        print(f"# {note}")
    for d in result.definitions:
        print(f"defined at {d.path}:{d.start_line}  {d.signature}")
    for f in result.files:
        print(f.path)
        for r in f.references:
            where = f"  [{r.enclosing}]" if r.enclosing else ""
            print(f"  {r.line:>5}: {r.text}{where}")
    print(f"{result.total} reference lines in {len(result.files)} files")
    return 0


def run_map(args: argparse.Namespace, settings: Settings) -> int:
    from singularity_mcp.search import repo_map

    result = run_with_core(
        settings, lambda core: repo_map(core, args.path, focus=args.focus, token_budget=args.tokens)
    )
    if args.json:
        print_json(result)
        return 0
    print(result.text)
    for note in result.notes:
        print(f"# {note}")
    return 0
