"""Codebase indexing, hybrid (lexical + dense) code search, and the symbol index (definitions, references,
repository map)."""

from singularity_mcp.search._combined import code_indexer, search_everything
from singularity_mcp.search._indexer import (
    CodeIndexer,
    IndexRun,
    describe_preflight,
    format_seconds,
    index_repository,
)
from singularity_mcp.search._repo_map import repo_map
from singularity_mcp.search._searcher import (
    MAX_QUERY_CHARS,
    MAX_TOP_K,
    Scope,
    resolve_scope,
    scope_sql,
    search_code,
)
from singularity_mcp.search._status import index_status, remove_root
from singularity_mcp.search._symbol_search import find_references, find_symbol
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
    "describe_preflight",
    "find_references",
    "find_symbol",
    "format_seconds",
    "index_repository",
    "index_status",
    "remove_root",
    "repo_map",
    "resolve_scope",
    "scope_sql",
    "search_code",
    "search_everything",
]
