"""MCP face of codebase indexing and search: index_codebase, index_status, semantic_search."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from singularity_mcp.errors import InvalidInput, Unavailable
from singularity_mcp.paths import resolve_allowed
from singularity_mcp.search.models import IndexResult, IndexStatus, KnowledgeResult, SearchResult
from singularity_mcp.tools._common import tool_errors

if TYPE_CHECKING:
    from singularity_mcp.core import Core
    from singularity_mcp.search import CodeIndexer, IndexRun

MAX_WAIT_S = 600


async def code_indexer(core: Core) -> CodeIndexer:
    """The per-process indexer (one run per root at a time)."""
    from singularity_mcp.search import CodeIndexer

    async def build(core: Core) -> CodeIndexer:
        database = await core.database()
        return CodeIndexer(database.pool, core.embedder)

    return await core.service("code_indexer", build)


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


async def start_or_join(core: Core, root: Path, force: bool) -> IndexRun:
    """Start indexing `root` in the background (or join the run in progress)."""
    indexer = await code_indexer(core)
    run, new = indexer.begin(root, force)
    if new:

        async def job() -> None:
            with contextlib.suppress(Exception):  # the failure is recorded on the run and the root
                await indexer.execute(run)

        core.start_background(job, name=f"index {root}")
    return run


async def search_all(
    core: Core,
    query: str,
    scope: str,
    path: str | None,
    language: str | None,
    artifact_type: str | None,
    top_k: int,
) -> SearchResult:
    """Code, knowledge or both, fused by rank."""
    from singularity_mcp.search import MAX_TOP_K, search_code
    from singularity_mcp.search._searcher import RRF_K

    if not 1 <= top_k <= MAX_TOP_K:
        raise InvalidInput(f"top_k must be between 1 and {MAX_TOP_K} (got {top_k})")
    started = anyio.current_time()
    code = None
    knowledge: list[KnowledgeResult] = []
    notes: list[str] = []
    if scope in ("code", "all"):
        database = await core.database()
        root = resolve_allowed(path, core.settings) if path else None
        try:
            code = await search_code(
                database.pool, core.embedder, query, path=root, language=language, top_k=top_k
            )
        except Exception as exc:
            if scope == "code" or path or not _is_not_indexed(exc):
                raise
            notes.append("no codebase is indexed yet (call index_codebase to search code too)")
    if scope in ("knowledge", "all"):
        try:
            from singularity_mcp.knowledge import search_knowledge
        except ImportError as exc:
            if scope == "knowledge":
                raise Unavailable("the knowledge base is not available in this installation") from exc
            notes.append("the knowledge base is not available in this installation")
        else:
            hits = await search_knowledge(
                core, query, artifact_type=artifact_type, language=language, top_k=top_k
            )
            knowledge = [KnowledgeResult.model_validate(h, from_attributes=True) for h in hits]
    if code is not None:
        notes = code.notes + notes
    code_hits = code.results if code is not None else []
    if scope == "all" and code_hits and knowledge:
        ranked: dict[int, float] = {}
        items = [*code_hits, *knowledge]
        for ranking in (code_hits, knowledge):
            for rank, hit in enumerate(ranking, start=1):
                ranked[id(hit)] = 1.0 / (RRF_K + rank)
        items.sort(key=lambda h: -ranked[id(h)])
        results = items[:top_k]
    else:
        results = [*code_hits, *knowledge][:top_k]
    return SearchResult(
        results=results,
        took_ms=round((anyio.current_time() - started) * 1000, 2),
        dense_coverage=code.dense_coverage if code is not None else None,
        notes=notes,
    )


def _is_not_indexed(exc: Exception) -> bool:
    from singularity_mcp.errors import NotIndexed

    return isinstance(exc, NotIndexed)


def register(server: MCPServer, core: Core) -> None:
    @server.tool()
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
            if not announced and run.preflight is not None:
                announced = True
                await ctx.report_progress(max(reported, 0.0), 100.0, run.progress.message)
            fraction = _fraction(run)
            if fraction > reported:
                reported = fraction
                await ctx.report_progress(fraction, 100.0, run.progress.message)
            remaining = deadline - anyio.current_time()
            if remaining <= 0:
                return run.snapshot("running")
            await run.wait_change(min(remaining, 2.0))
        result = run.result or run.snapshot("failed")
        if result.status == "failed":
            raise Unavailable(f"indexing {root} failed: {result.error}")
        await ctx.report_progress(100.0, 100.0, "index up to date")
        return result

    @server.tool()
    @tool_errors
    async def index_status(
        path: Annotated[
            str | None, Field(description="Absolute path of an indexed folder; omit to list every one.")
        ] = None,
    ) -> IndexStatus:
        """Report what is indexed: per folder its state, file/chunk counts, languages, and the progress
        of a run in progress (phase, files parsed, chunks embedded). Use after index_codebase returned
        status "running". To search, use semantic_search."""
        from singularity_mcp.search import index_status as status

        database = await core.database()
        indexer = await code_indexer(core)
        root = resolve_allowed(path, core.settings, must_exist=False) if path else None
        return await status(database.pool, indexer, root)

    @server.tool()
    @tool_errors
    async def semantic_search(
        query: Annotated[
            str,
            Field(
                description="What you are looking for, in words or identifiers (e.g. 'parse config file')."
            ),
        ],
        scope: Annotated[
            Literal["all", "code", "knowledge"],
            Field(description="code: indexed codebases; knowledge: the curated knowledge base; all: both."),
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
    ) -> SearchResult:
        """Find code by meaning and by name across indexed codebases (and the knowledge base).

        Hybrid search: keyword matching on identifiers (camelCase/snake_case aware) fused with embedding
        similarity. Each code hit gives the file path, line range, enclosing symbol and a trimmed
        snippet; results are checked against the files on disk first, so they are never stale. Prefer
        this to reading many files or grepping. A folder must be indexed first (index_codebase). For
        complexity or the definitions of one file, use analyze_code instead.
        """
        return await search_all(core, query, scope, path, language, artifact_type, top_k)
