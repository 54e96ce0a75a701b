"""`singularity-mcp index PATH [--force] [--watch] [--remove] [--json]`: build, refresh or drop an index."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import anyio

from singularity_mcp.cli._common import print_json, run_with_core
from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.errors import InvalidInput
from singularity_mcp.paths import resolve_allowed

logger = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("index", help="index a codebase for semantic search (incremental)")
    parser.add_argument("path", help="the folder to index")
    parser.add_argument("--force", action="store_true", help="re-parse every file, changed or not")
    parser.add_argument("--watch", action="store_true", help="keep the index fresh as files change")
    parser.add_argument("--remove", action="store_true", help="drop this folder from the index")
    parser.add_argument("--json", action="store_true", help="print the result as JSON (no progress bar)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.remove and (args.watch or args.force):
        raise InvalidInput("--remove cannot be combined with --watch or --force")
    return run_with_core(settings, lambda core: _main(core, args))


async def _main(core: Core, args: argparse.Namespace) -> int:
    from singularity_mcp.search import code_indexer, remove_root

    if args.remove:
        root = resolve_allowed(args.path, core.settings, must_exist=False)
        database = await core.database()
        files = await remove_root(database.pool, root)
        if args.json:
            print_json({"removed": str(root), "files": files})
        else:
            print(f"removed {root} from the index ({files} files)")
        return 0
    root = resolve_allowed(args.path, core.settings)
    if not root.is_dir():
        raise InvalidInput(f"{root} is not a folder: pass the folder of the codebase to index")
    indexer = await code_indexer(core)
    await _index_once(indexer, root, args.force, args.json)
    if args.watch:
        await _watch(indexer, root, args.json)
    return 0


async def _index_once(indexer, root: Path, force: bool, as_json: bool) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from singularity_mcp.search import format_seconds

    run, new = indexer.begin(root, force)
    if as_json:
        result = await indexer.execute(run) if new else await indexer.index(root, force)
        print_json(result)
        return
    # The bars and the log lines share one console on stderr (stdout keeps only the summary), and Rich
    # prints log records above the live bars instead of through them.
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("[dim]{task.fields[eta]}"),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        parse = progress.add_task("parse", total=None, eta="")
        embed = progress.add_task("embed", total=None, visible=False, eta="")
        async with anyio.create_task_group() as tg:
            if new:
                tg.start_soon(indexer.execute, run)
            announced = False
            seen, seen_at = None, anyio.current_time()
            while not run.finished.is_set():
                p = run.progress
                if p is not seen:
                    seen, seen_at = p, anyio.current_time()
                eta = ""
                if p.eta_seconds is not None:  # counted down between updates
                    left = max(0.0, p.eta_seconds - (anyio.current_time() - seen_at))
                    eta = f"about {format_seconds(left)} left"
                if run.preflight is not None and not announced:
                    announced = True
                    progress.console.print(escape(p.message))
                dense = p.phase == "dense"
                progress.update(
                    parse, total=p.files_total or None, completed=p.files_done, eta="" if dense else eta
                )
                if dense:
                    if not progress.tasks[embed].visible:
                        progress.reset(embed)  # its clock starts with the embedding, not the run
                    progress.update(
                        embed,
                        visible=True,
                        total=p.chunks_total or None,
                        completed=p.chunks_embedded,
                        eta=eta,
                    )
                await run.wait_change(0.5)
        p = run.progress
        progress.update(parse, total=p.files_total, completed=p.files_total, eta="")
        progress.update(embed, visible=True, total=p.chunks_total, completed=p.chunks_embedded, eta="")
    result = run.result
    estimate = f" (estimated {format_seconds(run.preflight.estimated_seconds)})" if run.preflight else ""
    print(
        f"{result.repo}: {result.files_indexed} indexed, {result.files_unchanged} unchanged, "
        f"{result.files_removed} removed, {result.files_skipped} skipped; {result.chunks} chunks "
        f"in {format_seconds(result.seconds)}{estimate}"
    )


async def _watch(indexer, root: Path, as_json: bool) -> None:
    """Re-index (incrementally) after each burst of changes until interrupted."""
    from watchfiles import awatch

    if not as_json:
        print(f"watching {root} (Ctrl-C to stop)", file=sys.stderr)
    async for changes in awatch(root, debounce=500, step=100):
        logger.info("%d change(s) under %s", len(changes), root)
        await _index_once(indexer, root, False, as_json)
