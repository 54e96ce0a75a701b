"""The chunker: every non-blank line in exactly one chunk, definitions as chunks, sized for the embedder."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from singularity_mcp.analysis import Chunk, chunk_source, estimate_tokens
from tests.analysis.cases import CASES, MARKUP


def assert_covers(text: str, chunks: list[Chunk]) -> None:
    """Ranges are ordered, disjoint, cover each non-blank line once, and carry the lines' text."""
    lines = text.split("\n")
    seen: set[int] = set()
    previous_end = 0
    for chunk in chunks:
        assert previous_end < chunk.start_line <= chunk.end_line
        previous_end = chunk.end_line
        assert chunk.text == "\n".join(lines[chunk.start_line - 1 : chunk.end_line])
        assert chunk.text.strip()
        seen.update(range(chunk.start_line, chunk.end_line + 1))
    non_blank = {i for i, line in enumerate(lines, 1) if line.strip()}
    assert non_blank <= seen
    assert all(lines[i - 1].strip() or min(non_blank) < i < max(non_blank) for i in seen)


@pytest.mark.parametrize("max_tokens", [16, 64, 256])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.language)
def test_fixtures_are_covered(case, max_tokens: int) -> None:
    assert_covers(case.source, chunk_source(case.source, case.language, case.filename, max_tokens))


@pytest.mark.parametrize(("language", "filename", "source", "_loc", "_comments"), MARKUP)
def test_markup_and_unknown_fall_back_to_windows(language, filename, source, _loc, _comments) -> None:
    for lang in (language, None):
        chunks = chunk_source(source, lang, filename, 16)
        assert_covers(source, chunks)
        if lang != "markdown":
            assert all(c.symbol is None and c.kind == "text" for c in chunks)


def test_one_chunk_per_definition_with_symbols() -> None:
    body = "".join(f"    total += item.value_{i} * factor\n" for i in range(12))
    source = (
        "import os\n\nCONSTANT = 3\n\n\n"
        f"def first(items, factor):\n    total = 0\n{body}    return total\n\n\n"
        "class Shape:\n"
        f"    def area(self, item, factor):\n        total = 0\n{textwrap.indent(body, '    ')}"
        "        return total\n\n"
        f"    def perimeter(self, item, factor):\n        total = 0\n{textwrap.indent(body, '    ')}"
        "        return total\n"
    )
    chunks = chunk_source(source, "python", "shapes.py", max_tokens=160)
    assert_covers(source, chunks)
    symbols = [c.symbol for c in chunks]
    assert "first" in symbols
    assert "Shape.area" in symbols and "Shape.perimeter" in symbols  # the class was split at its methods
    area = next(c for c in chunks if c.symbol == "Shape.area")
    assert area.kind == "method" and area.language == "python" and area.path == "shapes.py"
    assert source.splitlines()[area.start_line - 1].strip().startswith("def area")
    for chunk in chunks:
        assert estimate_tokens(chunk.text) <= 160 + 16  # a piece stays within the window (line granularity)


def test_small_definitions_stay_apart_and_module_code_joins_them() -> None:
    source = "import os\n\nLIMIT = 3\n\n\n" + "".join(
        f"def f{i}(x):\n    return x + {i}\n\n" for i in range(20)
    )
    chunks = chunk_source(source, "python", "small.py", max_tokens=256)
    assert_covers(source, chunks)
    assert [c.symbol for c in chunks] == [f"f{i}" for i in range(20)]
    assert chunks[0].start_line == 1  # the imports travel with the first definition
    assert chunks[0].embed_text == "def f0(x):\n    return x + 0"  # ... but its vector is of f0 alone
    assert all(c.embed_text is None for c in chunks[1:])  # nothing merged: the text itself is embedded


def test_module_code_around_a_definition_is_not_embedded() -> None:
    source = (
        "var baseFor = require('./_baseFor'),\n    keys = require('./keys');\n\n"
        "function forOwn(object, iteratee) {\n  return object && baseFor(object, iteratee, keys);\n}\n\n"
        "module.exports = forOwn;\n"
    )
    (chunk,) = chunk_source(source, "javascript", "forOwn.js", max_tokens=256)
    assert (chunk.symbol, chunk.start_line, chunk.end_line) == ("forOwn", 1, 8)
    assert chunk.embed_text == "\n".join(source.split("\n")[3:6])


def test_huge_function_is_split_into_windows() -> None:
    source = (
        "def big():\n"
        + "".join(f"    x_{i} = compute({i}, {i + 1})\n" for i in range(400))
        + "    return 0\n"
    )
    chunks = chunk_source(source, "python", "big.py", max_tokens=128)
    assert_covers(source, chunks)
    assert len(chunks) > 5
    assert {c.symbol for c in chunks} == {"big"}


def test_empty_and_blank_text() -> None:
    assert chunk_source("", "python", "e.py") == []
    assert chunk_source("\n\n   \n", "python", "e.py") == []


_LINES = st.sampled_from(
    [
        "def f(a, b):",
        "    return a",
        "    if a and b:",
        "        pass",
        "class C:",
        "    def m(self):",
        "        x = [i for i in range(10)]",
        "# a comment",
        "",
        "   ",
        "x = 1",
        "    y = 'a long string literal that takes up quite a few characters of the window ' * 3",
        "def broken(:",
        "}",
        "function g(x) { return x ? 1 : 2; }",
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(_LINES, max_size=80),
    language=st.sampled_from(["python", "javascript", "go", None, "markdown"]),
    max_tokens=st.sampled_from([16, 48, 256]),
)
def test_chunks_cover_every_non_blank_line_once(lines: list[str], language, max_tokens: int) -> None:
    text = "\n".join(lines) + "\n"
    assert_covers(text, chunk_source(text, language, "generated", max_tokens))


def test_markdown_is_cut_at_headings() -> None:
    intro = "Some words about the project that take up a bit of room.\n" * 3
    body = "".join(f"Paragraph {i} explains one more detail of the installation.\n\n" for i in range(12))
    source = f"{intro}\n# Install\n\n{body}## Usage\n\n```\n# not a heading\n```\n\n{body}"
    chunks = chunk_source(source, "markdown", "README.md", max_tokens=64)
    assert_covers(source, chunks)
    symbols = {c.symbol for c in chunks}
    assert {"Install", "Usage"} <= symbols
    assert "not a heading" not in symbols
    assert all(c.kind == "section" for c in chunks)
    usage = next(c for c in chunks if c.symbol == "Usage")
    assert usage.text.startswith("## Usage")


def test_chunks_name_every_definition_they_contain() -> None:
    source = (
        "import os\n\nLIMIT = 3\n\n\n"
        "def Gt(a, b):\n    return a > b\n\n\n"
        "def Lt(a, b):\n    return a < b\n\n\n"
        "class Box:\n    def open(self):\n        return 1\n\n    def close(self):\n        return 0\n"
    )
    chunks = chunk_source(source, "python", "cmp.py", max_tokens=256)
    assert_covers(source, chunks)
    assert [(c.symbol, c.names) for c in chunks] == [
        ("Gt", ("Gt",)),
        ("Lt", ("Lt",)),
        ("Box", ("Box", "open", "close")),  # a class that fits stays whole and names its methods
    ]


def test_overloads_and_their_implementation_are_one_chunk() -> None:
    """TypeScript overload signatures with their implementation, Python @overload stubs with the real
    function, a property's getter and setter: one chunk each, from the first signature (where the
    documentation usually sits) to the implementation's end; a different name starts a new chunk."""
    ts = (
        "export function timer(due: number): Observable<0>;\n\n"
        "export function timer(due: number, period: number): Observable<number>;\n"
        "export function timer(a: any, b?: any): Observable<number> {\n  return make(a, b);\n}\n\n"
        "export function other() {\n  return 1;\n}\n"
    )
    assert [(c.start_line, c.end_line, c.symbol) for c in chunk_source(ts, "typescript", "t.ts")] == [
        (1, 6, "timer"),
        (8, 10, "other"),
    ]
    py = "@overload\ndef f(x: int) -> int: ...\n@overload\ndef f(x: str) -> str: ...\ndef f(x):\n    return x\n"
    assert [(c.start_line, c.end_line, c.symbol) for c in chunk_source(py, "python", "t.py")] == [(1, 6, "f")]
    cls = (  # split at its methods (small max_tokens): the getter and the setter stay together
        "class A:\n    def first(self):\n        return [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]\n\n"
        "    @property\n    def v(self):\n        return 1\n\n    @v.setter\n    def v(self, value):\n"
        "        self._v = value\n"
    )
    chunks = chunk_source(cls, "python", "t.py", max_tokens=48)
    assert (2, 3, "A.first") in [(c.start_line, c.end_line, c.symbol) for c in chunks]
    assert [(c.start_line, c.end_line) for c in chunks if c.symbol == "A.v"] == [(6, 11)]
