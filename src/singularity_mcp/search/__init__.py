"""Codebase indexing and hybrid (lexical + dense) code search."""

from singularity_mcp.search._combined import code_indexer, search_everything
from singularity_mcp.search._indexer import CodeIndexer, IndexRun, index_repository
from singularity_mcp.search._searcher import (
    MAX_QUERY_CHARS,
    MAX_TOP_K,
    Scope,
    resolve_scope,
    scope_sql,
    search_code,
)
from singularity_mcp.search._status import index_status, remove_root
from singularity_mcp.search.models import CodeHit, IndexResult, IndexStatus, SearchResult

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_TOP_K",
    "CodeHit",
    "CodeIndexer",
    "IndexResult",
    "IndexRun",
    "IndexStatus",
    "Scope",
    "SearchResult",
    "code_indexer",
    "index_repository",
    "index_status",
    "remove_root",
    "resolve_scope",
    "scope_sql",
    "search_code",
    "search_everything",
]
