"""The analysis engine on plain text and files: definitions, complexity, metrics, findings, detection."""

from __future__ import annotations

import textwrap
from pathlib import Path

import lizard
import pytest
from lizard_ext.version import version as lizard_version
from packaging.version import Version

from singularity_mcp.analysis import analyze_source, detect_language, supported_languages
from singularity_mcp.errors import InvalidInput
from tests.analysis.cases import CASES, MARKUP, Case

# Languages lizard reads; for the rest (Elixir, Haskell, OCaml, …) we count in lizard's spirit.
LIZARD_LANGUAGES = {
    "python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp", "csharp", "ruby", "php",
    "kotlin", "swift", "scala", "lua", "bash", "zig", "dart", "r", "perl", "objc",
}  # fmt: skip


def test_at_least_thirty_languages_with_definitions() -> None:
    assert len({case.language for case in CASES}) >= 30
    assert {case.language for case in CASES} <= set(supported_languages())


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.language)
def test_definitions_and_complexity(case: Case) -> None:
    result = analyze_source(case.source, case.language, case.filename)
    got = {d.qualified_name: (d.kind, d.cyclomatic_complexity) for d in result.definitions}
    assert got == case.expected
    assert len(result.imports) == case.imports, result.imports
    assert not [f for f in result.findings if f.rule == "syntax-error"]
    assert detect_language(Path(case.filename)) == case.language
    functions = [d for d in result.definitions if d.cyclomatic_complexity is not None]
    assert result.metrics.functions == len(functions)
    assert result.metrics.max_complexity == max(d.cyclomatic_complexity for d in functions)
    for d in result.definitions:
        assert 1 <= d.start_line <= d.end_line <= result.metrics.loc
        assert d.loc == d.end_line - d.start_line + 1


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.language in LIZARD_LANGUAGES], ids=lambda c: c.language
)
@pytest.mark.skipif(
    Version(lizard_version) < Version("1.24"), reason="counts as lizard 1.24 does (Rust arms, Python case)"
)
def test_lizard_agreement(case: Case, tmp_path: Path) -> None:
    """Every function lizard finds, we find at the same line with the same cyclomatic complexity."""
    path = tmp_path / case.filename
    path.write_text(case.source)
    ours = {
        d.start_line: d.cyclomatic_complexity
        for d in analyze_source(case.source, case.language).definitions
        if d.cyclomatic_complexity is not None
    }
    theirs = {f.start_line: f.cyclomatic_complexity for f in lizard.analyze_file(str(path)).function_list}
    assert theirs, "lizard found no function: the fixture is not exercising anything"
    assert {line: ours.get(line) for line in theirs} == theirs


def test_parameters_and_qualified_names() -> None:
    source = textwrap.dedent(
        """\
        class Outer:
            class Inner:
                def method(self, a, b=1, *args, c: int = 2, **kwargs):
                    def local(x):
                        return x
                    return local
        """
    )
    defs = {d.qualified_name: d for d in analyze_source(source, "python").definitions}
    method = defs["Outer.Inner.method"]
    assert method.kind == "method"
    assert method.parent == "Outer.Inner"
    assert method.parameters == ["self", "a", "b", "args", "c", "kwargs"]
    assert defs["Outer.Inner.method.local"].kind == "function"
    assert defs["Outer.Inner.method.local"].parameters == ["x"]


def test_cognitive_complexity_and_nesting() -> None:
    source = textwrap.dedent(
        """\
        def f(a, b, y, z):
            if a:                      # +1
                for x in b:            # +2 (nesting 1)
                    if x and y or z:   # +3 (nesting 2), +1 and, +1 or
                        pass
            elif b:                    # +1
                pass
            else:                      # +1
                pass
        """
    )
    (f,) = analyze_source(source, "python").definitions
    assert f.cognitive_complexity == 10
    assert f.nesting_depth == 3
    assert f.cyclomatic_complexity == 7  # if, for, if, and, or, elif


def test_else_if_chain_is_flat_in_cognitive_complexity() -> None:
    source = "int f(int a) {\n  if (a > 1) return 1;\n  else if (a > 0) return 2;\n  else return 3;\n}\n"
    (f,) = analyze_source(source, "c").definitions
    assert f.cognitive_complexity == 3  # if +1, else if +1, else +1
    assert f.cyclomatic_complexity == 3


def test_line_metrics_and_maintainability() -> None:
    source = textwrap.dedent(
        """\
        # a comment

        import os  # trailing comment counts as code


        def f(x):
            # inside
            return x
        """
    )
    m = analyze_source(source, "python").metrics
    assert (m.loc, m.blank_lines, m.comment_lines, m.sloc) == (8, 3, 2, 3)
    assert 0 < m.maintainability_index <= 100
    messy = "def g(a):\n" + "".join(f"    if a == {i} or a > {i * 2}:\n        a += {i}\n" for i in range(40))
    assert analyze_source(messy, "python").metrics.maintainability_index < m.maintainability_index


@pytest.mark.parametrize(("language", "filename", "source", "loc", "comments"), MARKUP)
def test_markup_metrics_only(language: str, filename: str, source: str, loc: int, comments: int) -> None:
    assert detect_language(Path(filename)) == language
    result = analyze_source(source, language)
    assert result.definitions == []
    assert (result.metrics.loc, result.metrics.comment_lines) == (loc, comments)
    assert result.metrics.blank_lines == source.count("\n\n")


def test_syntax_error_reports_line_and_keeps_the_rest() -> None:
    source = textwrap.dedent(
        """\
        def good(a):
            if a:
                return 1
            return 2

        def broken(:
            return

        def after(b):
            return b or 0
        """
    )
    result = analyze_source(source, "python")
    errors = [f for f in result.findings if f.rule == "syntax-error"]
    assert errors and errors[0].line == 6 and errors[0].severity == "error"
    names = {d.name: d.cyclomatic_complexity for d in result.definitions}
    assert names["good"] == 2
    assert names["after"] == 2


def test_findings() -> None:
    nested = "".join("    " * (i + 1) + f"if a > {i}:\n" for i in range(6)) + "    " * 7 + "pass\n"
    branches = "".join(f"    if a == {i}:\n        a += 1\n" for i in range(16))
    long_body = "".join(f"    a += {i}\n" for i in range(85))
    source = (
        "def deep(a):\n" + nested + "\n"
        "def branchy(a):\n" + branches + "\n"
        "def long(a):\n" + long_body + "\n"
        "def many(a, b, c, d, e, f, g):\n    '''Documented.'''\n    return a  # TODO: simplify this\n\n"
        "def _private(a):\n    return a\n"
    )
    findings = analyze_source(source, "python").findings
    by_rule: dict[str, list[int]] = {}
    for f in findings:
        by_rule.setdefault(f.rule, []).append(f.line)
    many_line = source.splitlines().index("def many(a, b, c, d, e, f, g):") + 1
    assert by_rule["deep-nesting"] == [1]
    assert by_rule["high-complexity"] == [source.splitlines().index("def branchy(a):") + 1]
    assert by_rule["long-function"] == [source.splitlines().index("def long(a):") + 1]
    assert by_rule["too-many-parameters"] == [many_line]
    assert by_rule["todo"] == [many_line + 2]
    # public and undocumented: deep, branchy, long; `many` has a docstring, `_private` is private
    assert len(by_rule["missing-docstring"]) == 3
    assert all(f.message and f.severity in ("info", "warning", "error") for f in findings)


def test_go_and_rust_doc_conventions() -> None:
    go = "package p\n\n// Documented does things.\nfunc Documented() {}\n\nfunc Bare() {}\n\nfunc private() {}\n"
    missing = [f.line for f in analyze_source(go, "go").findings if f.rule == "missing-docstring"]
    assert missing == [6]
    rust = "/// Adds.\n#[inline]\npub fn add() {}\n\npub fn bare() {}\n\nfn private() {}\n"
    missing = [f.line for f in analyze_source(rust, "rust").findings if f.rule == "missing-docstring"]
    assert missing == [5]


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("script", b"#!/usr/bin/env python3\nprint(1)\n", "python"),
        ("run", b"#!/bin/bash\necho hi\n", "bash"),
        ("tool", b"#!/usr/bin/env -S node --no-warnings\n", "javascript"),
        ("Makefile", None, "make"),
        ("Dockerfile", None, "dockerfile"),
        ("Gemfile", None, "ruby"),
        ("x.PY", None, "python"),
        ("analysis.R", None, "r"),
        ("notes.unknownext", None, None),
        ("data", b"\x00\x01binary", None),
    ],
)
def test_detect_language(name: str, head: bytes | None, expected: str | None) -> None:
    assert detect_language(Path(name), head) == expected


def test_unknown_language_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unknown language 'brainfuck'"):
        analyze_source("+++", "brainfuck")


def test_language_aliases() -> None:
    assert analyze_source("x = 1\n", "py").language == "python"
    assert analyze_source("int x;\n", "C#").language == "csharp"
