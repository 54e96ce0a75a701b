"""Core-facing entry points: the per-process indexer, and search over code, knowledge or both."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from singularity_mcp.errors import NotIndexed, Unavailable
from singularity_mcp.paths import allowed_roots, resolve_allowed
from singularity_mcp.search._indexer import CodeIndexer
from singularity_mcp.search._searcher import check_query, check_top_k, search_code
from singularity_mcp.search.models import KnowledgeResult, SearchResult

if TYPE_CHECKING:
    from singularity_mcp.core import Core


async def code_indexer(core: Core) -> CodeIndexer:
    """The process's indexer (one run per root at a time), built on first use."""

    async def build(core: Core) -> CodeIndexer:
        database = await core.database()
        return CodeIndexer(database.pool, core.embedder, core.settings.data_dir / "index-rates.json")

    return await core.service("code_indexer", build)


KNOWLEDGE_BESIDE_CODE = 3
"""Knowledge artifacts listed beside code hits when scope is "all" (their own section, their own scale)."""


async def search_everything(
    core: Core,
    query: str,
    scope: str,
    path: str | None,
    language: str | None,
    artifact_type: str | None,
    top_k: int,
    kind: str | None = None,
) -> SearchResult:
    """Code, knowledge or both — never merged into one ranking. Code hits come only from inside the
    allowed roots.

    `results` holds one kind: code hits (scope "code" or "all") or knowledge hits (scope "knowledge").
    With scope "all", up to `KNOWLEDGE_BESIDE_CODE` knowledge hits come separately in `knowledge`, unless
    `path`, `language` or `kind` narrows the search to code (then the search is about code only).
    """
    query = check_query(query)
    check_top_k(top_k)
    started = anyio.current_time()
    code = None
    knowledge: list[KnowledgeResult] = []
    notes: list[str] = []
    narrowed_to_code = bool(path or language or kind)
    if scope in ("code", "all"):
        database = await core.database()
        root = resolve_allowed(path, core.settings) if path else None
        try:
            code = await search_code(
                database.pool, core.embedder, query, path=root, language=language, kind=kind, top_k=top_k,
                allowed=allowed_roots(core.settings),
            )  # fmt: skip
        except Exception as exc:
            if scope == "code" or path or not isinstance(exc, NotIndexed):
                raise
            notes.append(
                "no codebase is indexed yet: index one to search code too "
                "(index_codebase, or `singularity-mcp index FOLDER`)"
            )
    if scope == "knowledge" or (scope == "all" and not narrowed_to_code):
        try:
            from singularity_mcp.knowledge import search_knowledge
        except ImportError as exc:
            if scope == "knowledge":
                raise Unavailable("the knowledge base is not available in this installation") from exc
            notes.append("the knowledge base is not available in this installation")
        else:
            wanted = top_k if scope == "knowledge" else min(top_k, KNOWLEDGE_BESIDE_CODE)
            hits = await search_knowledge(
                core, query, artifact_type=artifact_type, language=language, top_k=wanted
            )
            knowledge = [KnowledgeResult.model_validate(h, from_attributes=True) for h in hits]
    if code is not None:
        notes = code.notes + notes
    return SearchResult(
        results=knowledge if scope == "knowledge" else (code.results if code is not None else []),
        knowledge=knowledge if scope == "all" else [],
        took_ms=round((anyio.current_time() - started) * 1000, 2),
        dense_coverage=code.dense_coverage if code is not None else None,
        notes=notes,
    )
