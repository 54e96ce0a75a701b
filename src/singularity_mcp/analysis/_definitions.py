"""Find definitions in a parsed tree: names, kinds, nesting, qualified names."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from tree_sitter import Node, QueryCursor, Tree

from singularity_mcp.analysis._languages import ASSIGNMENT_NAME_FIELDS, NAME_TYPES, LanguageSpec
from singularity_mcp.analysis._queries import CompiledLanguage, compiled

FUNCTION_KINDS = frozenset({"function", "method", "constructor"})
CONTAINER_KINDS = frozenset(
    {"class", "struct", "interface", "trait", "impl", "object", "record", "enum", "protocol", "extension",
     "instance", "module", "namespace", "package"}
)  # fmt: skip
CLASS_KINDS = CONTAINER_KINDS - {"module", "namespace", "package"}
ANONYMOUS = "(anonymous)"
_SEPARATOR = re.compile(r"::|\.|:")
_DOTTED = re.compile(rb"[\w$]+(?:(?:\.|::|:)[\w$]+)+\Z")  # `M.clamp`, `Foo::bar` name as a whole


@dataclass(slots=True)
class RawDefinition:
    node: Node
    name: str
    kind: str
    start_byte: int
    end_byte: int
    start_line: int  # 0-based
    end_line: int  # 0-based, inclusive
    anonymous: bool = False
    parent: int | None = None  # index into the list
    qualified_name: str = ""
    children: list[int] = field(default_factory=list)
    scope: str = ""  # the qualifier written in the name itself (`Foo::bar`, `M.clamp`) as "Foo", "M"

    @property
    def is_function(self) -> bool:
        return self.kind in FUNCTION_KINDS


def _text(node: Node) -> str:
    return node.text.decode("utf-8", "replace") if node.text is not None else ""


def _step(node: Node, step: str) -> Node | None:
    if step.startswith("@"):
        kind = step[1:]
        return next((c for c in node.named_children if c.type == kind), None)
    return node.child_by_field_name(step)


def _follow(node: Node, path: str) -> Node | None:
    current: Node | None = node
    for step in path.split("/"):
        if current is None:
            return None
        if step.endswith("*"):
            nxt = _step(current, step[:-1])
            if nxt is None:
                return None
            while nxt is not None:
                current, nxt = nxt, _step(nxt, step[:-1])
        else:
            current = _step(current, step)
    return current


def _name_from(node: Node | None) -> str | None:
    """The text of a name node; for compound nodes (calls, patterns), the first name inside."""
    if node is None:
        return None
    if node.type in NAME_TYPES or node.child_count == 0 or _DOTTED.match(node.text or b""):
        text = _text(node).strip()
        return text.split("\n", 1)[0][:200] or None
    for child in node.named_children:
        if child.type in NAME_TYPES:
            return _text(child).strip()[:200] or None
    for child in node.named_children:
        found = _name_from(child)
        if found:
            return found
    return None


def _assignment_name(node: Node) -> str | None:
    parent = node.parent
    hops = 0
    while parent is not None and hops < 3:
        fields = ASSIGNMENT_NAME_FIELDS.get(parent.type)
        if fields:
            for name_field in fields:
                target = parent.child_by_field_name(name_field)
                if target is not None and target.id != node.id:
                    return _name_from(target)
            return None
        if parent.type not in ("parenthesized_expression", "expression_list", "expression", "value"):
            return None
        parent, hops = parent.parent, hops + 1
    return None


def definition_name(spec: LanguageSpec, node: Node) -> str | None:
    for path in spec.name_paths:
        target = _follow(node, path)
        if target is not None:
            name = _name_from(target)
            if name:
                return name
    return None


def _end(spec: LanguageSpec, node: Node) -> Node:
    body_type = spec.body_sibling.get(node.type)
    if body_type:
        for candidate in (node, node.parent):
            if candidate is None:
                continue
            sibling = candidate.next_named_sibling
            if sibling is not None and sibling.type == body_type:
                return sibling
    return node


def _receiver_type(spec: LanguageSpec, node: Node) -> str | None:
    """The type a Go method is declared on (`func (s *Server) Start` -> `Server`)."""
    if not spec.receiver:
        return None
    receiver = node.child_by_field_name(spec.receiver)
    pending = [receiver] if receiver is not None else []
    while pending:  # breadth-first: the outermost type identifier, not a type argument
        current = pending.pop(0)
        if current.type == "type_identifier":
            return _text(current)
        pending.extend(current.named_children)
    return None


def _merge_clauses(defs: list[RawDefinition]) -> list[RawDefinition]:
    """Adjacent same-name definitions (Erlang/Haskell clauses) become one spanning all clauses."""
    merged: list[RawDefinition] = []
    for definition in defs:
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.name == definition.name
            and last.kind == definition.kind
            and last.end_byte <= definition.start_byte
            and last.node.parent == definition.node.parent
        ):
            last.end_byte, last.end_line = definition.end_byte, definition.end_line
            continue
        merged.append(definition)
    return merged


def _drop_nested_functions(defs: list[RawDefinition]) -> list[RawDefinition]:
    kept: list[RawDefinition] = []
    function_ends: list[int] = []  # end bytes of the enclosing kept functions
    for definition in defs:
        while function_ends and function_ends[-1] <= definition.start_byte:
            function_ends.pop()
        if function_ends:
            continue  # inside a function: a misparse, its tokens belong to the enclosing function
        kept.append(definition)
        if definition.is_function:
            function_ends.append(definition.end_byte)
    return kept


def _kind_and_name(spec: LanguageSpec, node: Node, captures: dict[str, list[Node]]) -> tuple[str, str] | None:
    """(kind, name) of a captured definition, or None when the node is not one after all."""
    if "head" in captures:  # keyword-call form: `def name`, `(defn name …)`
        kind = spec.head_kinds.get(_text(captures["head"][0]), "function")
        name = _name_from(captures["name"][0]) if "name" in captures else None
        return kind, name or ANONYMOUS
    required = spec.requires.get(node.type)
    if required and node.child_by_field_name(required) is None:
        return None
    required_child = spec.requires_child.get(node.type)
    if required_child and not any(c.type == required_child for c in node.named_children):
        return None
    anonymous = node.type in spec.anonymous and node.type not in spec.definitions
    name = (None if anonymous else definition_name(spec, node)) or _assignment_name(node)
    return spec.definitions.get(node.type, "function"), name or ANONYMOUS


def _link(spec: LanguageSpec, defs: list[RawDefinition]) -> None:
    """Fill in parents, children, qualified names; a function inside a class becomes a method."""
    stack: list[int] = []
    for index, definition in enumerate(defs):
        while stack and defs[stack[-1]].end_byte <= definition.start_byte:
            stack.pop()
        if stack:
            parent = defs[stack[-1]]
            definition.parent = stack[-1]
            parent.children.append(index)
            if definition.kind == "function" and parent.kind in CLASS_KINDS:
                definition.kind = "method"
            definition.qualified_name = f"{parent.qualified_name}.{definition.scope}{definition.name}"
        else:
            owner = _receiver_type(spec, definition.node)
            definition.qualified_name = (
                f"{owner}.{definition.name}" if owner else definition.scope + definition.name
            )
        stack.append(index)


def find_definitions(compiled: CompiledLanguage, root: Node) -> list[RawDefinition]:
    """All definitions, sorted by position, with parents and qualified names filled in."""
    spec = compiled.spec
    if compiled.definitions is None:
        return []
    cursor = QueryCursor(compiled.definitions)
    if spec.definition_query:  # the keyword-call form needs each match's @head and @name together
        matches = [captures for _, captures in cursor.matches(root)]
    else:  # plain node types: captures are cheaper than matches
        matches = [{"def": [node]} for node in cursor.captures(root).get("def", [])]
    found: dict[int, RawDefinition] = {}
    for captures in matches:
        node = captures["def"][0]
        if node.id in found or node.type == "ERROR":
            continue
        kind_and_name = _kind_and_name(spec, node, captures)
        if kind_and_name is None:
            continue
        kind, name = kind_and_name
        end = _end(spec, node)
        found[node.id] = RawDefinition(
            node=node,
            name=name,
            kind=kind,
            start_byte=node.start_byte,
            end_byte=end.end_byte,
            start_line=node.start_point[0],
            end_line=end.end_point[0] - (1 if end.end_point[1] == 0 and end.end_point[0] > 0 else 0),
            anonymous=name == ANONYMOUS,
        )
    defs = sorted(found.values(), key=lambda d: (d.start_byte, -d.end_byte))
    for definition in defs:  # `Foo::bar` -> name "bar" qualified "Foo.bar"
        if not definition.anonymous and _DOTTED.match(definition.name.encode()):
            *scope, definition.name = _SEPARATOR.split(definition.name)
            definition.scope = "".join(f"{part}." for part in scope if part)
    if spec.merge_clauses:
        defs = _merge_clauses(defs)
    if not spec.nested_functions:
        defs = _drop_nested_functions(defs)
    _link(spec, defs)
    return defs


@dataclass(frozen=True)
class ParsedSource:
    language: CompiledLanguage
    source: bytes
    tree: Tree
    definitions: list[RawDefinition]


_LAST_PARSE = threading.local()  # per thread: tree-sitter trees are not shared across threads


def parse_definitions(text: str, language: str) -> ParsedSource:
    """Parse `text` and find its definitions. The indexer asks twice per file (chunks, then symbols) in
    the same worker thread: the last answer of each thread is kept, so the file is parsed once."""
    key = (language, text)
    last = getattr(_LAST_PARSE, "entry", None)
    if last is not None and last[0] == key:
        parsed: ParsedSource = last[1]
        return parsed
    lang = compiled(language)
    source = text.encode("utf-8", "surrogatepass")
    tree = lang.parser().parse(source)
    parsed = ParsedSource(lang, source, tree, find_definitions(lang, tree.root_node))
    _LAST_PARSE.entry = (key, parsed)
    return parsed
