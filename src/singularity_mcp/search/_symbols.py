"""Extract a file's symbols for the symbol index: definitions and the identifiers that reference names.

Definitions come from the analysis engine (`find_definitions`, the same tables `analyze_code` uses).
References come from one tags-style query per language: every identifier-like leaf node (`identifier`,
`type_identifier`, `field_identifier`, `property_identifier`, `constant`, ...) of the grammar, which is
code by construction (comments and strings are other node types). The identifier that names a definition
is its definition site, not a reference. Blocking (tree-sitter): run it in a worker thread.

tree-sitter-language-pack 0.13 ships grammars but no `tags.scm` files, and the grammars' own tags
queries capture only calls and type uses (a recall of references far below a grep); so the capture is
every identifier, classified afterwards (`call` when the parent is a call, `type`, else `name`).
"""

from __future__ import annotations

import bisect
import functools
import logging
import re
from dataclasses import dataclass, field

from tree_sitter import Node, Query, QueryCursor

from singularity_mcp.analysis.syntax import (
    COMMENT_TYPES,
    MAX_NESTING,
    RawDefinition,
    is_code_language,
    nesting_depth,
    node_kind_query,
    parse_definitions,
)

logger = logging.getLogger(__name__)

# Leaf node types whose text is a name, across grammars (types a grammar lacks are dropped).
# Compound names (`scoped_identifier`, Kotlin's dotted `identifier`) are skipped: their parts are leaves.
REFERENCE_TYPES = frozenset(
    {"identifier", "type_identifier", "field_identifier", "property_identifier",
     "shorthand_property_identifier", "shorthand_property_identifier_pattern", "private_property_identifier",
     "package_identifier", "namespace_identifier", "simple_identifier", "constant", "name", "alias",
     "shorthand_field_identifier", "instance_variable", "class_variable", "global_variable",
     "primitive_type"}
)  # fmt: skip
# Languages whose identifiers are too generic to index as references (shell words are arguments).
NO_REFERENCES = frozenset({"bash"})
_CALL_PARENT = re.compile(r"call|invocation")
_SPLIT = re.compile(r"[.:]+")  # Elixir `Foo.Bar` aliases hold several names
_SIGILS = "@$"
MAX_NAME = 200
MAX_SIGNATURE = 200
SIGNATURE_LINES = 4


@dataclass(frozen=True, slots=True)
class SymbolDefinition:
    name: str
    qualified_name: str
    kind: str
    start_line: int  # 1-based, inclusive
    end_line: int
    signature: str  # the definition's head (up to its body), whitespace collapsed


@dataclass(slots=True)
class SymbolReferences:
    """Every line of one file where `name` is referenced, with the enclosing definition of each."""

    name: str
    lines: list[int] = field(default_factory=list)  # 1-based, ascending, distinct
    enclosing: list[str] = field(default_factory=list)  # qualified name, "" at module level
    kinds: list[str] = field(default_factory=list)  # call | type | name


@dataclass(slots=True)
class FileSymbols:
    definitions: list[SymbolDefinition]
    references: list[SymbolReferences]


@functools.cache
def _reference_query(language: str) -> Query | None:
    if language in NO_REFERENCES:
        return None
    return node_kind_query(language, REFERENCE_TYPES, "ref")


def supports_symbols(language: str | None) -> bool:
    return is_code_language(language)


def _signature(node: Node, source: bytes) -> str:
    body = node.child_by_field_name("body")
    end = body.start_byte if body is not None and body.start_byte > node.start_byte else node.end_byte
    for child in node.children:  # a comment before the body (`def f():  # note`) is not the head
        if child.type in COMMENT_TYPES and node.start_byte < child.start_byte < end:
            end = child.start_byte
            break
    start = source.rfind(b"\n", 0, node.start_byte) + 1  # the whole line: `const f = (a) =>`, `type T struct`
    head = source[start:end].decode("utf-8", "replace")
    lines = head.split("\n")
    if len(lines) > SIGNATURE_LINES or body is None:
        head = lines[0]
    text = " ".join(head.split()).rstrip("{:= ").rstrip()
    return text[:MAX_SIGNATURE] + ("…" if len(text) > MAX_SIGNATURE else "")


def _names(node: Node) -> list[str]:
    text = (node.text or b"").decode("utf-8", "replace").lstrip(_SIGILS)
    if not text or len(text) > MAX_NAME:
        return []
    return [part for part in _SPLIT.split(text) if part] if node.type == "alias" else [text]


def _definition_sites(defs: list[RawDefinition], refs: list[Node]) -> set[int]:
    """Start bytes of the identifiers that name a definition: the first one with its name in the head (up
    to the body), else - `const f = () => …`, `obj.f = function () …` - just before it, in the
    assignment around it."""
    starts = [n.start_byte for n in refs]
    sites: set[int] = set()

    def first(name: str, start: int, end: int, last: bool = False) -> int | None:
        """Index of the first (or last) identifier `name` in [start, end)."""
        span = range(bisect.bisect_left(starts, start), bisect.bisect_left(starts, end))
        for k in reversed(span) if last else span:
            if (refs[k].text or b"").decode("utf-8", "replace").lstrip(_SIGILS) == name:
                return k
        return None

    for d in defs:
        if d.anonymous:
            continue
        body = d.node.child_by_field_name("body")
        head_end = body.start_byte if body is not None and body.start_byte > d.node.start_byte else d.end_byte
        k = first(d.name, d.node.start_byte, head_end)
        if k is None and d.node.parent is not None:
            outer = d.node.parent.parent or d.node.parent
            k = first(d.name, outer.start_byte, d.node.start_byte, last=True)
        if k is not None:
            sites.add(refs[k].start_byte)
    return sites


def extract_symbols(text: str, language: str) -> FileSymbols:
    """Definitions and references of `text` (a file in `language`, a key of the language table)."""
    if not supports_symbols(language):
        return FileSymbols([], [])
    parsed = parse_definitions(text, language)  # the chunker parsed this text just before: reused
    lang, source, tree = parsed.language, parsed.source, parsed.tree
    defs = [d for d in parsed.definitions if not d.anonymous]
    definitions = [
        SymbolDefinition(
            name=d.name[:MAX_NAME],
            qualified_name=(d.qualified_name or d.name)[:400],
            kind=d.kind,
            start_line=d.start_line + 1,
            end_line=d.end_line + 1,
            signature=_signature(d.node, source),
        )
        for d in defs
    ]
    query = _reference_query(language)
    if query is None:
        return FileSymbols(definitions, [])
    nodes = QueryCursor(query).captures(tree.root_node).get("ref", [])
    nodes = sorted((n for n in nodes if n.named_child_count == 0), key=lambda n: n.start_byte)
    sites = _definition_sites(defs, nodes)
    keywords = lang.spec.head_kinds  # Elixir's `def`, `defmodule`: syntax, not references
    by_name: dict[str, SymbolReferences] = {}
    open_defs: list[RawDefinition] = []  # the definitions around the current position, innermost last
    next_def = 0
    for node in nodes:
        offset = node.start_byte
        if offset in sites:
            continue
        while next_def < len(defs) and defs[next_def].start_byte <= offset:
            open_defs.append(defs[next_def])
            next_def += 1
        open_defs = [d for d in open_defs if d.end_byte > offset]
        line = node.start_point[0] + 1
        parent = node.parent
        kind = (
            "call"
            if parent is not None and _CALL_PARENT.search(parent.type)
            else "type"
            if "type" in node.type
            else "name"
        )
        for name in _names(node):
            if name in keywords:
                continue
            refs = by_name.get(name)
            if refs is None:
                refs = by_name[name] = SymbolReferences(name)
            if refs.lines and refs.lines[-1] == line:
                continue
            refs.lines.append(line)
            refs.enclosing.append(open_defs[-1].qualified_name if open_defs else "")
            refs.kinds.append(kind)
    return FileSymbols(definitions, list(by_name.values()))


def extract_file_symbols(text: str, language: str | None, rel_path: str) -> FileSymbols | None:
    """`extract_symbols` for the indexer: None for languages without symbols; a parser failure logs and
    leaves the file without symbols rather than failing the run."""
    if not supports_symbols(language):
        return None
    assert language is not None
    if nesting_depth(text.encode("utf-8", "surrogatepass")) > MAX_NESTING:
        # The bound the chunker applies: tree-sitter's queries on such text take minutes, holding the GIL.
        logger.info("no symbols for %s: nested deeper than %d brackets", rel_path, MAX_NESTING)
        return None
    try:
        return extract_symbols(text, language)
    except (ValueError, UnicodeError) as exc:  # pragma: no cover - the parser refused the text
        logger.debug("no symbols for %s: %s", rel_path, exc)
        return None
