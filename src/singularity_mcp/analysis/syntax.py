"""The tree-sitter layer under `analysis`, for packages that build their own view of code (the symbol index
in `search`): a text's raw definitions, queries on node kinds, the node kinds that are comments, and the
nesting bound every tree-sitter pass keeps (deeper code is refused, see `analyze_source`)."""

from __future__ import annotations

from singularity_mcp.analysis._definitions import RawDefinition, parse_definitions
from singularity_mcp.analysis._languages import BY_NAME, COMMENT_TYPES
from singularity_mcp.analysis._limits import MAX_NESTING, nesting_depth
from singularity_mcp.analysis._queries import node_kind_query

__all__ = [
    "COMMENT_TYPES",
    "MAX_NESTING",
    "RawDefinition",
    "is_code_language",
    "nesting_depth",
    "node_kind_query",
    "parse_definitions",
]


def is_code_language(language: str | None) -> bool:
    """Whether `language` (a name from `supported_languages()`) is code with definitions, not markup."""
    spec = BY_NAME.get(language) if language else None
    return spec is not None and not spec.markup
