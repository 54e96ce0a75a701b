"""`singularity-mcp kb`: validate the knowledge files, import them, export learned artifacts, write schemas."""

from __future__ import annotations

import argparse
from pathlib import Path

from singularity_mcp.cli._common import print_json, run_with_core
from singularity_mcp.config import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("kb", help="knowledge base: validate, import, export learned artifacts")
    kb = parser.add_subparsers(dest="kb_command", required=True, metavar="KB_COMMAND")

    validate = kb.add_parser(
        "validate", help="check every artifact file (errors name the file and the field)"
    )
    validate.add_argument(
        "folder",
        nargs="?",
        type=Path,
        help="knowledge base folder (default: SINGULARITY_KNOWLEDGE_DIR or the shipped one)",
    )
    validate.add_argument("--json", action="store_true", help="print the result as JSON")
    validate.set_defaults(func=run_validate)

    imp = kb.add_parser(
        "import", help="upsert changed artifact files into the database (re-embeds only changes)"
    )
    imp.add_argument(
        "folder",
        nargs="?",
        type=Path,
        help="knowledge base folder (default: SINGULARITY_KNOWLEDGE_DIR or the shipped one)",
    )
    imp.add_argument(
        "--keep-removed",
        action="store_true",
        help="keep artifacts whose files were deleted (default: remove)",
    )
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    imp.set_defaults(func=run_import)

    export = kb.add_parser(
        "export-learned", help="write learned artifacts that pass the thresholds to knowledge_base/learned/"
    )
    export.add_argument("--out", type=Path, help="target folder (default: knowledge_base/learned)")
    export.add_argument("--min-uses", type=int, default=3, help="minimum usage count (default 3)")
    export.add_argument(
        "--min-success-rate", type=float, default=0.6, help="minimum smoothed success rate (default 0.6)"
    )
    export.add_argument(
        "--all", action="store_true", help="export every learned artifact, ignoring thresholds"
    )
    export.add_argument("--json", action="store_true", help="print the report as JSON")
    export.set_defaults(func=run_export)

    schema = kb.add_parser("schema", help="write the artifacts' JSON Schemas (for editors) to a folder")
    schema.add_argument("--out", type=Path, help="target folder (default: knowledge_base/schema)")
    schema.set_defaults(func=run_schema)


def run_validate(args: argparse.Namespace, settings: Settings) -> int:
    from collections import Counter

    from singularity_mcp.knowledge import knowledge_folder, validate_folder

    files, problems = validate_folder(args.folder or knowledge_folder(settings))
    counts = Counter(f.artifact.artifact_type for f in files)
    if args.json:
        print_json({"valid": len(files), "by_type": dict(sorted(counts.items())), "problems": problems})
    else:
        from rich.console import Console

        console = Console(highlight=False)
        for problem in problems:
            console.print(f"[red]✗[/] {problem}", markup=True, soft_wrap=True)
        by_type = ", ".join(f"{t}: {n}" for t, n in sorted(counts.items()))
        colour = "red" if problems else "green"
        console.print(f"[{colour}]{len(files)} valid artifact(s), {len(problems)} problem(s)[/] ({by_type})")
    return 1 if problems else 0


def run_import(args: argparse.Namespace, settings: Settings) -> int:
    from singularity_mcp.knowledge import import_artifacts

    report = run_with_core(
        settings, lambda core: import_artifacts(core, args.folder, prune=not args.keep_removed)
    )
    if args.json:
        print_json(report)
    else:
        print(
            f"{report.artifacts} artifacts from {report.folder}: {report.inserted} new, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.removed} removed; {report.embedded} embedded "
            f"in {report.seconds:.2f}s"
        )
    return 0


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    from singularity_mcp.knowledge import export_learned

    report = run_with_core(
        settings,
        lambda core: export_learned(
            core,
            args.out,
            min_uses=args.min_uses,
            min_success_rate=args.min_success_rate,
            include_all=args.all,
        ),
    )
    if args.json:
        print_json(report)
    else:
        for path in report.written:
            print(path)
        print(f"{len(report.written)} written to {report.folder}, {report.skipped} below the thresholds")
    return 0


def run_schema(args: argparse.Namespace, settings: Settings) -> int:
    from singularity_mcp.knowledge import default_folder, export_schemas

    for path in export_schemas(args.out or default_folder() / "schema"):
        print(path)
    return 0
