"""Compile a `LanguageSpec` into tree-sitter queries, once per process and language."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from tree_sitter import Language, Parser, Query
from tree_sitter_language_pack import get_language

from singularity_mcp.analysis._languages import (
    BY_NAME,
    COMMENT_TYPES,
    ELSE_TYPES,
    IMPORT_TYPES,
    NESTING_TYPES,
    LanguageSpec,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CompiledLanguage:
    spec: LanguageSpec
    language: Language
    definitions: Query | None  # @def (+ @name, @head for raw definition queries)
    analysis: Query | None  # conditions (@cond, @arm, @arms) and structure (@nest, @else, @comment, @import)
    keywords: frozenset[bytes]  # the grammar's keyword tokens (Halstead operators)

    def parser(self) -> Parser:
        """A fresh parser (parsers are not shared across threads)."""
        return Parser(self.language)


def _has(language: Language, kind: str, named: bool) -> bool:
    return bool(language.id_for_node_kind(kind, named))


def _quote(token: str) -> str:
    return '"' + token.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _alternation(language: Language, kinds: frozenset[str] | set[str], capture: str) -> str:
    present = sorted(k for k in kinds if _has(language, k, True))
    return f"[{' '.join(f'({k})' for k in present)}] @{capture}" if present else ""


def _query(language: Language, parts: list[str], spec: LanguageSpec, what: str) -> Query | None:
    source = "\n".join(p for p in parts if p)
    if not source.strip():
        return None
    try:
        return Query(language, source)
    except Exception:  # a table entry the grammar rejects is a bug in the table: say which
        logger.exception("bad %s query for %s:\n%s", what, spec.name, source)
        raise


@functools.cache
def node_kind_query(name: str, kinds: frozenset[str] | set[str], capture: str) -> Query | None:
    """A query capturing every node of `kinds` (those the grammar of language `name` has) as `@capture`;
    None when the grammar has none of them."""
    language = compiled(name).language
    source = _alternation(language, kinds, capture)
    return Query(language, source) if source else None


def compiled(name: str) -> CompiledLanguage:
    """The compiled queries for language `name` (a key of `BY_NAME`)."""
    spec = BY_NAME[name]
    language = get_language(spec.grammar)
    definitions = None
    parts: list[str] = []
    if not spec.markup:
        def_kinds = set(spec.definitions) | set(spec.anonymous)
        definitions = _query(
            language, [_alternation(language, def_kinds, "def"), spec.definition_query], spec, "definitions"
        )
        tokens = sorted(t for t in spec.conditions if _has(language, t, False))
        parts.append(f"[{' '.join(_quote(t) for t in tokens)}] @cond" if tokens else "")
        for container, arm in spec.arms:
            if _has(language, container, True) and _has(language, arm, True):
                parts += [f"({container} ({arm}) @arm)", f"({container}) @arms"]
        parts.append(spec.extra)
        parts.append(_alternation(language, NESTING_TYPES, "nest"))
        parts.append(_alternation(language, ELSE_TYPES, "else"))
        parts.append(_alternation(language, IMPORT_TYPES, "import"))
    parts += [_alternation(language, COMMENT_TYPES, "comment"), spec.comment_query]
    # one query, so one pass over the tree: conditions and structure together
    analysis = _query(language, parts, spec, "analysis")
    keywords = frozenset(
        kind.encode()
        for i in range(language.node_kind_count)
        if not language.node_kind_is_named(i) and (kind := language.node_kind_for_id(i) or "").isidentifier()
    )
    return CompiledLanguage(spec, language, definitions, analysis, keywords)
