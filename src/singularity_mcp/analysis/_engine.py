"""Analyse one source text: definitions, complexity, metrics, findings."""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence

from tree_sitter import Node, QueryCursor, Tree

from singularity_mcp.analysis._definitions import (
    CLASS_KINDS,
    FUNCTION_KINDS,
    RawDefinition,
    find_definitions,
)
from singularity_mcp.analysis._languages import LOGICAL_TOKENS, NAME_TYPES, LanguageSpec
from singularity_mcp.analysis._queries import CompiledLanguage, compiled
from singularity_mcp.analysis.models import FileAnalysis, Finding, Metrics, Severity

MAX_COMPLEXITY = 15
MAX_FUNCTION_LINES = 80
MAX_NESTING = 4
MAX_PARAMETERS = 6
MAX_DEFINITIONS = 500
MAX_FINDINGS = 200
MAX_IMPORTS = 200
_TODO = re.compile(rb"\b(TODO|FIXME|XXX|HACK)\b[:\s]*(.{0,80})")
_PARAM_LISTS = frozenset(
    {"parameters", "formal_parameters", "parameter_list", "formal_parameter_list", "function_value_parameters",
     "method_parameters", "lambda_parameters", "ParamDeclList", "function_parameters", "parameter_clause",
     "class_parameters", "expr_args", "patterns"}
)  # fmt: skip
_SKIP_PARAMS = frozenset({"comment", "(", ")", ",", "line_comment", "block_comment"})


def parse(language: str, source: bytes) -> tuple[CompiledLanguage, Tree]:
    lang = compiled(language)
    return lang, lang.parser().parse(source)


class _Scopes:
    """Find the innermost function-like definition containing a byte offset."""

    def __init__(self, defs: Sequence[RawDefinition], indices: list[int]):
        self.defs = defs
        self.indices = indices
        self.starts = [defs[i].start_byte for i in indices]
        self.position = {d: n for n, d in enumerate(indices)}

    def owner(self, offset: int) -> int | None:
        n = bisect.bisect_right(self.starts, offset) - 1
        while n >= 0:
            index = self.indices[n]
            definition = self.defs[index]
            if definition.start_byte <= offset < definition.end_byte:
                return index
            parent = _function_parent(self.defs, index)
            n = self.position[parent] if parent is not None else -1
        return None


def _function_parent(defs: Sequence[RawDefinition], index: int) -> int | None:
    parent = defs[index].parent
    while parent is not None and not defs[parent].is_function:
        parent = defs[parent].parent
    return parent


def _parameters(spec: LanguageSpec, node: Node) -> list[str]:
    params: Node | None = None
    candidate: Node | None = node
    for _ in range(4):  # C: function_definition -> declarator -> function_declarator -> parameters
        if candidate is None:
            break
        for name in spec.parameter_fields:
            params = candidate.child_by_field_name(name)
            if params is not None:
                break
        if params is None:
            params = next((c for c in candidate.named_children if c.type in _PARAM_LISTS), None)
        if params is not None:
            break
        candidate = candidate.child_by_field_name("declarator") or candidate.child_by_field_name("signature")
    if params is None:
        return []
    names = []
    for child in params.named_children:
        if child.type in _SKIP_PARAMS:
            continue
        names.append(_parameter_name(child))
    return names[:50]


def _parameter_name(node: Node) -> str:
    if node.type in NAME_TYPES:
        return (node.text or b"").decode("utf-8", "replace")
    for name in ("name", "pattern", "declarator"):
        target = node.child_by_field_name(name)
        if target is not None:
            return _parameter_name(target)
    for child in node.named_children:
        if child.type in NAME_TYPES:
            return (child.text or b"").decode("utf-8", "replace")
    text = (node.text or b"").decode("utf-8", "replace")
    return " ".join(text.split())[:60]


def _complexity(
    captures: dict[str, list[Node]], defs: list[RawDefinition], scopes: _Scopes, source: bytes
) -> list[int]:
    """Cyclomatic complexity per definition index (lizard's counting), module-level extras last."""
    counts = [1] * (len(defs) + 1)
    module = len(defs)
    for capture, delta in (("cond", 1), ("arm", 1), ("arms", -1)):
        for node in captures.get(capture, ()):
            if not node.is_named and node.type == "?" and _skip_question(node, source):
                continue
            owner = scopes.owner(node.start_byte)
            counts[module if owner is None else owner] += delta
    return counts


def _skip_question(node: Node, source: bytes) -> bool:
    """lizard reads `?:` (TS optional `x?: T`, PHP `a ?: b`) as one token that is no condition;
    some grammars nest one `?` in another."""
    if node.child_count > 0 or source[node.end_byte : node.end_byte + 1] == b":":
        return True
    return _in_generic_arguments(source, node.start_byte, node.end_byte)


_GENERIC_INSIDE = re.compile(rb"[\w\s,.?]*")


def _in_generic_arguments(source: bytes, start: int, end: int) -> bool:
    """lizard reads `<?>`, `<? extends T>`, `<K, ?>` as one token: a `?` there is no condition."""
    left = source.rfind(b"<", max(0, start - 120), start)
    if left < 0 or not _GENERIC_INSIDE.fullmatch(source, left + 1, start):
        return False
    right = source.find(b">", end, end + 120)
    return right >= 0 and bool(_GENERIC_INSIDE.fullmatch(source, end, right))


def _cognitive(
    lang: CompiledLanguage,
    structure: dict[str, list[Node]],
    logical: list[Node],
    defs: list[RawDefinition],
    scopes: _Scopes,
) -> tuple[list[int], list[int]]:
    """SonarSource cognitive complexity and the deepest nesting, per definition index."""
    cognitive = [0] * (len(defs) + 1)
    depth = [0] * (len(defs) + 1)
    module = len(defs)
    else_nodes = structure.get("else", [])
    else_ids = {n.id for n in else_nodes}
    events: list[tuple[int, int, int, Node]] = []  # (start, -end, order, node)
    for node in structure.get("nest", []):
        events.append((node.start_byte, -node.end_byte, 1, node))
    nest_types = {n.type for n in structure.get("nest", [])}
    for node in else_nodes:
        named = node.named_children
        if len(named) == 1 and named[0].type in nest_types:
            continue  # `else if`: the inner `if` counts once, flat
        owner = scopes.owner(node.start_byte)
        cognitive[module if owner is None else owner] += 1
    events.sort(key=lambda e: (e[0], e[1]))
    stack: list[tuple[int, int | None, bool]] = []  # (end_byte, owner, counts_for_nesting)
    for start, neg_end, _, node in events:
        while stack and stack[-1][0] <= start:
            stack.pop()
        owner = scopes.owner(start)
        parent = node.parent
        else_if = parent is not None and parent.id in else_ids
        level = sum(1 for end, o, counts in stack if o == owner and counts)
        slot = module if owner is None else owner
        cognitive[slot] += 1 if else_if else 1 + level
        nesting = level + (0 if else_if else 1)
        depth[slot] = max(depth[slot], nesting)
        stack.append((-neg_end, owner, not else_if))
    for token in logical:
        parent = token.parent
        grand = parent.parent if parent is not None else None
        if grand is not None and any(c.type == token.type for c in grand.children if not c.is_named):
            continue  # same operator continues the sequence
        owner = scopes.owner(token.start_byte)
        cognitive[module if owner is None else owner] += 1
    return cognitive, depth


def _line_metrics(lines: list[bytes], comments: list[Node]) -> tuple[int, int]:
    """(blank lines, comment-only lines) of a file; a line with code and a comment counts as code."""
    blank = {i for i, line in enumerate(lines) if not line.strip()}
    comment_only: set[int] = set()
    for node in comments:
        first, last = node.start_point[0], node.end_point[0]
        if node.end_point[1] == 0 and last > first:
            last -= 1
        before = lines[first][: node.start_point[1]] if first < len(lines) else b""
        after = lines[last][node.end_point[1] :] if last < len(lines) and last == node.end_point[0] else b""
        for line in range(first, last + 1):
            if line in blank:
                continue
            if line == first and before.strip():
                continue
            if line == last and after.strip() and line == node.end_point[0]:
                continue
            comment_only.add(line)
    return len(blank), len(comment_only)


_TOKEN = re.compile(rb"[A-Za-z_$][\w$]*|\d[\w.]*|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'|[^\s\w\"'$]{1,3}")


def _halstead_volume(source: bytes, comments: list[Node], keywords: frozenset[bytes]) -> float:
    """Halstead volume from the token stream (comments removed): keywords and punctuation are
    operators; names and literals are operands."""
    if comments:
        parts, last = [], 0
        for node in sorted(comments, key=lambda n: n.start_byte):
            if node.start_byte >= last:
                parts.append(source[last : node.start_byte])
                last = node.end_byte
        parts.append(source[last:])
        source = b" ".join(parts)
    counts = Counter(_TOKEN.findall(source))
    n1 = n2 = total = 0
    for token, count in counts.items():
        total += count
        first = token[:1]
        if (first.isalnum() or first in b"_$\"'") and token not in keywords:
            n2 += 1
        else:
            n1 += 1
    vocabulary = n1 + n2
    return total * math.log2(vocabulary) if vocabulary > 1 else 0.0


def maintainability_index(volume: float, complexity: int, sloc: int, comment_lines: int) -> float:
    """radon's `mi_compute`: 0-100, with the comment term (comments as a percentage of SLOC)."""
    if volume <= 0 or sloc <= 0:
        return 100.0
    comments = comment_lines * 100.0 / sloc
    value = (
        171
        - 5.2 * math.log(volume)
        - 0.23 * complexity
        - 16.2 * math.log(sloc)
        + 50 * math.sin(math.sqrt(2.46 * math.radians(comments)))
    )
    return round(min(max(0.0, value * 100 / 171.0), 100.0), 2)


def _syntax_errors(root: Node) -> list[Finding]:
    findings: list[Finding] = []
    if not root.has_error:
        return findings
    cursor = root.walk()
    visited_children = False
    while len(findings) < 20:
        node = cursor.node
        if not visited_children and node is not None:
            if node.is_error or node.is_missing:
                line = node.start_point[0] + 1
                snippet = " ".join((node.text or b"").decode("utf-8", "replace").split())[:40]
                message = (
                    f"missing `{node.type}`" if node.is_missing else f"cannot parse `{snippet}`"
                ) + f" at line {line}"
                findings.append(Finding(rule="syntax-error", severity="error", line=line, message=message))
            elif node.has_error and cursor.goto_first_child():
                continue
        if cursor.goto_next_sibling():
            visited_children = False
        elif cursor.goto_parent():
            visited_children = True
        else:
            break
    return findings


def _has_doc(spec: LanguageSpec, definition: RawDefinition, source: bytes) -> bool:
    node = definition.node
    if spec.doc_style == "docstring":
        body = node.child_by_field_name("body")
        first = body.named_children[0] if body is not None and body.named_children else None
        if first is not None and first.type == "expression_statement" and first.named_children:
            first = first.named_children[0]
        return first is not None and first.type in ("string", "concatenated_string")
    if spec.doc_style == "comment_before":
        previous = node.prev_sibling
        while previous is not None and previous.type in ("attribute_item", "decorator", "annotation"):
            previous = previous.prev_sibling
        return (
            previous is not None
            and "comment" in previous.type
            and previous.end_point[0] >= definition.start_line - 1
        )
    return True


def _is_public(spec: LanguageSpec, definitions: list[RawDefinition], definition: RawDefinition) -> bool:
    parent = definitions[definition.parent] if definition.parent is not None else None
    if parent is not None and parent.is_function:
        return False
    rule = spec.public_rule
    name = definition.name
    node = definition.node
    if rule == "no_underscore":
        return not name.startswith("_") and (parent is None or not parent.name.startswith("_"))
    if rule == "capitalized":
        return name[:1].isupper()
    if rule == "pub":
        return any(c.type == "visibility_modifier" for c in node.children)
    if rule == "public":
        modifiers = next((c for c in node.children if c.type == "modifiers"), None)
        return modifiers is not None and b"public" in (modifiers.text or b"")
    return False


# (rule, severity, limit, message): checked against (cyclomatic, lines, nesting, parameters) in that order
_FUNCTION_LIMITS: tuple[tuple[str, Severity, int, str], ...] = (
    ("high-complexity", "warning", MAX_COMPLEXITY, "{label} has cyclomatic complexity {value} (> {limit})"),
    ("long-function", "warning", MAX_FUNCTION_LINES, "{label} spans {value} lines (> {limit})"),
    ("deep-nesting", "warning", MAX_NESTING, "{label} nests control flow {value} deep (> {limit})"),
    ("too-many-parameters", "info", MAX_PARAMETERS, "{label} takes {value} parameters (> {limit})"),
)


def _function_findings(
    spec: LanguageSpec,
    defs: list[RawDefinition],
    d: RawDefinition,
    source: bytes,
    values: tuple[int, int, int, int],
) -> Iterator[Finding]:
    line, label = d.start_line + 1, f"`{d.qualified_name}`"
    for (rule, severity, limit, template), value in zip(_FUNCTION_LIMITS, values, strict=True):
        if value > limit:
            message = template.format(label=label, value=value, limit=limit)
            yield Finding(rule=rule, severity=severity, line=line, message=message)
    if spec.doc_style and not d.anonymous and _is_public(spec, defs, d) and not _has_doc(spec, d, source):
        message = f"public {d.kind} {label} has no documentation"
        yield Finding(rule="missing-docstring", severity="info", line=line, message=message)


def _todo_findings(comments: list[Node]) -> Iterator[Finding]:
    for node in comments:
        text = node.text or b""
        for match in _TODO.finditer(text):
            line = node.start_point[0] + 1 + text[: match.start()].count(b"\n")
            tag, rest = match.group(1).decode(), match.group(2).decode("utf-8", "replace").strip()
            yield Finding(rule="todo", severity="info", line=line, message=f"{tag}: {rest}" if rest else tag)


def analyze_tree(lang: CompiledLanguage, tree: Tree, source: bytes, path: str | None = None) -> FileAnalysis:
    spec = lang.spec
    root = tree.root_node
    lines = source.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    defs = find_definitions(lang, root)
    function_indices = [i for i, d in enumerate(defs) if d.is_function]
    scopes = _Scopes(defs, function_indices)
    structure = QueryCursor(lang.analysis).captures(root) if lang.analysis is not None else {}
    conditions = structure
    cyclomatic = _complexity(conditions, defs, scopes, source)
    logical = [n for n in conditions.get("cond", []) if n.type in LOGICAL_TOKENS]
    cognitive, depth = _cognitive(lang, structure, logical, defs, scopes)
    function_set = set(function_indices)

    definitions: list[dict] = []  # validated in one go by FileAnalysis (pydantic-core is faster than
    # building each model in Python)
    findings: list[Finding] = _syntax_errors(root)
    for index, d in enumerate(defs):
        is_function = index in function_set
        loc = d.end_line - d.start_line + 1
        parameters = _parameters(spec, d.node) if is_function or d.kind in CLASS_KINDS else []
        definition = dict(
            name=d.name,
            qualified_name=d.qualified_name,
            kind=d.kind,
            start_line=d.start_line + 1,
            end_line=d.end_line + 1,
            parameters=parameters,
            parent=defs[d.parent].qualified_name if d.parent is not None else None,
            cyclomatic_complexity=cyclomatic[index] if is_function else None,
            cognitive_complexity=cognitive[index] if is_function else None,
            loc=loc,
            nesting_depth=depth[index],
        )
        definitions.append(definition)
        if is_function:
            values = (cyclomatic[index], loc, depth[index], len(parameters))
            findings.extend(_function_findings(spec, defs, d, source, values))

    comments = structure.get("comment", [])
    findings.extend(_todo_findings(comments))

    blank, comment_lines = _line_metrics(lines, comments)
    loc = len(lines)
    sloc = max(0, loc - blank - comment_lines)
    function_ccn = [cyclomatic[i] for i in function_indices]
    total_ccn = sum(function_ccn) + cyclomatic[len(defs)] - 1
    volume = 0.0 if spec.markup else _halstead_volume(source, comments, lang.keywords)
    metrics = Metrics(
        loc=loc,
        sloc=sloc,
        comment_lines=comment_lines,
        blank_lines=blank,
        functions=len(function_ccn),
        avg_complexity=round(sum(function_ccn) / len(function_ccn), 2) if function_ccn else 0.0,
        max_complexity=max(function_ccn, default=0),
        maintainability_index=maintainability_index(volume, total_ccn, sloc, comment_lines),
    )

    imports = _imports(structure.get("import", []))
    findings.sort(key=lambda f: (f.line, f.rule))
    notes = []
    if len(definitions) > MAX_DEFINITIONS:
        notes.append(f"{len(definitions)} definitions, first {MAX_DEFINITIONS} shown")
    if len(findings) > MAX_FINDINGS:
        notes.append(f"{len(findings)} findings, first {MAX_FINDINGS} shown")
    if len(imports) > MAX_IMPORTS:
        notes.append(f"{len(imports)} imports, first {MAX_IMPORTS} shown")
    return FileAnalysis.model_validate(
        {
            "path": path,
            "language": spec.name,
            "metrics": metrics,
            "definitions": definitions[:MAX_DEFINITIONS],
            "imports": imports[:MAX_IMPORTS],
            "findings": findings[:MAX_FINDINGS],
            "truncated": ("; ".join(notes) + " (analyse a smaller file or a snippet to see all)")
            if notes
            else None,
        }
    )


def _imports(nodes: list[Node]) -> list[str]:
    nodes = sorted(nodes, key=lambda n: (n.start_byte, -n.end_byte))
    result: list[str] = []
    last_end = -1
    for node in nodes:
        if node.start_byte < last_end:
            continue  # nested in the previous import
        last_end = node.end_byte
        text = " ".join((node.text or b"").decode("utf-8", "replace").split())
        result.append(text[:200])
    return result


__all__ = ["FUNCTION_KINDS", "analyze_tree", "maintainability_index", "parse"]
