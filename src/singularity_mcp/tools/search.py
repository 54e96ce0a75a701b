"""MCP face of codebase indexing and search: index_codebase, index_status, semantic_search."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from singularity_mcp.errors import InvalidInput, Unavailable
from singularity_mcp.paths import allowed_roots, resolve_allowed
from singularity_mcp.search.models import MAX_QUERY_CHARS, IndexResult, IndexStatus, SearchResult
from singularity_mcp.tools._common import hints, tool_errors

if TYPE_CHECKING:
    from singularity_mcp.core import Core
    from singularity_mcp.search import IndexRun

MAX_WAIT_S = 600


def _root(core: Core, path: str) -> Path:
    root = resolve_allowed(path, core.settings)
    if not root.is_dir():
        raise InvalidInput(f"{root} is not a folder: pass the folder of the codebase to index")
    return root


def _fraction(run: IndexRun) -> float:
    """0..100: the lexical phase is the first half, the dense phase the second."""
    p = run.progress
    if p.phase in ("done", "failed"):
        return 100.0
    if p.phase == "dense":
        return 50.0 + 50.0 * (p.chunks_embedded / p.chunks_total if p.chunks_total else 1.0)
    if p.phase == "lexical" and p.files_total:
        return 50.0 * p.files_done / p.files_total
    return 0.0


def _progress_message(run: IndexRun) -> str:
    """What the run is doing, and how long it expects to take still."""
    from singularity_mcp.search import format_seconds

    eta = run.progress.eta_seconds
    return run.progress.message + (f"; about {format_seconds(eta)} left" if eta else "")


def _preflight_message(run: IndexRun) -> str:
    from singularity_mcp.search import describe_preflight

    return describe_preflight(run.preflight) if run.preflight else ""


async def start_or_join(core: Core, root: Path, force: bool) -> IndexRun:
    """Start indexing `root` in the background (or join the run in progress)."""
    from singularity_mcp.search import code_indexer

    indexer = await code_indexer(core)
    run, new = indexer.begin(root, force)
    if new:

        async def job() -> None:
            with contextlib.suppress(Exception):  # the failure is recorded on the run and the root
                await indexer.execute(run)

        core.start_background(job, name=f"index {root}")
    return run


def register(server: MCPServer, core: Core) -> None:
    @server.tool(annotations=hints("Index a codebase", read_only=False))
    @tool_errors
    async def index_codebase(
        path: Annotated[str, Field(description="Absolute path of the folder to index (a repository root).")],
        ctx: Context,
        force: Annotated[bool, Field(description="Re-parse every file even when unchanged.")] = False,
        wait_s: Annotated[
            float, Field(description="Seconds to wait before returning status 'running' (work goes on).")
        ] = 50,
    ) -> IndexResult:
        """Index (or refresh) a codebase so semantic_search can find code in it.

        Call once per folder before searching; calling again is cheap (only changed files are re-read)
        and keeps the index fresh. Respects .gitignore, skips vendored, generated, binary and >1 MB files.
        Keyword search works as soon as parsing ends; embeddings fill in after that. Past `wait_s` it
        returns status "running" and keeps indexing in the background: follow it with index_status.
        Progress notifications are sent when the client asks for them.
        """
        if not 0 <= wait_s <= MAX_WAIT_S:
            raise InvalidInput(f"wait_s must be between 0 and {MAX_WAIT_S} seconds")
        root = _root(core, path)
        run = await start_or_join(core, root, force)
        deadline = anyio.current_time() + wait_s
        reported = -1.0
        announced = False
        while not run.finished.is_set():
            if run.preflight is not None:  # nothing is sent before the pre-flight summary
                fraction = _fraction(run)
                if not announced:
                    announced = True
                    reported = max(reported, fraction)
                    await ctx.report_progress(reported, 100.0, _preflight_message(run))
                elif fraction > reported:
                    reported = fraction
                    await ctx.report_progress(fraction, 100.0, _progress_message(run))
            remaining = deadline - anyio.current_time()
            if remaining <= 0:
                return run.snapshot("running")
            await run.wait_change(min(remaining, 2.0))
        result = run.result or run.snapshot("failed")
        if result.status == "failed":
            raise Unavailable(f"indexing {root} failed: {result.error}")
        if not announced and run.preflight is not None and reported < 0:  # finished before the first look
            reported = 0.0
            await ctx.report_progress(reported, 100.0, _preflight_message(run))
        if reported < 100.0:
            await ctx.report_progress(100.0, 100.0, "index up to date")
        return result

    @server.tool(annotations=hints("Indexing status"))
    @tool_errors
    async def index_status(
        path: Annotated[
            str | None, Field(description="Absolute path of an indexed folder; omit to list every one.")
        ] = None,
    ) -> IndexStatus:
        """Report what is indexed: per folder its state, file/chunk counts, languages, and the progress
        of a run in progress (phase, files parsed, chunks embedded). Use after index_codebase returned
        status "running". To search, use semantic_search."""
        from singularity_mcp.search import code_indexer
        from singularity_mcp.search import index_status as status

        database = await core.database()
        indexer = await code_indexer(core)
        root = resolve_allowed(path, core.settings, must_exist=False) if path else None
        return await status(database.pool, indexer, root, allowed_roots(core.settings))

    @server.tool(annotations=hints("Search code and knowledge"))
    @tool_errors
    async def semantic_search(
        query: Annotated[
            str,
            Field(
                description="What you are looking for, in words or identifiers (e.g. 'parse config file'); "
                f"at most {MAX_QUERY_CHARS:,} characters.",
                max_length=MAX_QUERY_CHARS,
            ),
        ],
        scope: Annotated[
            Literal["all", "code", "knowledge"],
            Field(
                description="code: indexed codebases; knowledge: the curated knowledge base; all: code hits "
                "plus a few knowledge artifacts in a separate `knowledge` list (code only when path, "
                "language or kind is given)."
            ),
        ] = "all",
        path: Annotated[
            str | None, Field(description="Limit code hits to this indexed folder or a sub-folder of it.")
        ] = None,
        language: Annotated[
            str | None, Field(description="Limit hits to one language (python, go, ...).")
        ] = None,
        artifact_type: Annotated[
            str | None, Field(description="Limit knowledge hits to one artifact type.")
        ] = None,
        top_k: Annotated[int, Field(description="How many hits to return (1-50).")] = 10,
        kind: Annotated[
            str | None,
            Field(description="Limit code hits to one kind of chunk: function, method, class, module, ..."),
        ] = None,
    ) -> SearchResult:
        """Find code by meaning and by name across indexed codebases (and the knowledge base).

        Hybrid search: keyword matching on identifiers (camelCase/snake_case aware) fused with embedding
        similarity. Each code hit gives the file path, line range, enclosing symbol and a trimmed
        snippet; results are checked against the files on disk first, so they are never stale. Prefer
        this to reading many files or grepping. A folder must be indexed first (index_codebase). For
        complexity or the definitions of one file, use analyze_code instead.
        """
        from singularity_mcp.search import search_everything

        return await search_everything(core, query, scope, path, language, artifact_type, top_k, kind)
