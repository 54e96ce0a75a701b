"""Symbol extraction per language: definitions with signatures, references in code only (no comments or
strings), the definition site not counted as a reference, and the enclosing definition of each use."""

from __future__ import annotations

import textwrap

import pytest

from singularity_mcp.search._repo_map import Focus, pagerank, parse_focus, rank_definitions, words
from singularity_mcp.search._symbol_search import fuzzy_names
from singularity_mcp.search._symbol_store import DefinitionRow
from singularity_mcp.search._symbols import extract_symbols

# language -> (source, definition of `compute_total` (name, kind, signature start), line of the use inside
# `run_report`). Every sample also names compute_total in a comment and in a string, which must not count.
SAMPLES: dict[str, tuple[str, str, str, int]] = {
    "python": (
        """
        def compute_total(items):
            return sum(items)

        # compute_total in a comment
        def run_report(rows):
            label = "compute_total in a string"
            return compute_total(rows)
        """,
        "function",
        "def compute_total(items)",
        7,
    ),
    "javascript": (
        """
        function compute_total(items) {
          return items.length;
        }
        // compute_total in a comment
        function run_report(rows) {
          const label = "compute_total in a string";
          return compute_total(rows);
        }
        """,
        "function",
        "function compute_total(items)",
        7,
    ),
    "typescript": (
        """
        export function compute_total(items: number[]): number {
          return items.length;
        }
        // compute_total in a comment
        export function run_report(rows: number[]): number {
          const label = "compute_total in a string";
          return compute_total(rows);
        }
        """,
        "function",
        "export function compute_total(items: number[]): number",
        7,
    ),
    "go": (
        """
        package report

        func compute_total(items []int) int {
            return len(items)
        }

        // compute_total in a comment
        func run_report(rows []int) int {
            label := "compute_total in a string"
            _ = label
            return compute_total(rows)
        }
        """,
        "function",
        "func compute_total(items []int) int",
        11,
    ),
    "rust": (
        """
        fn compute_total(items: &[i32]) -> i32 {
            items.len() as i32
        }
        // compute_total in a comment
        fn run_report(rows: &[i32]) -> i32 {
            let label = "compute_total in a string";
            compute_total(rows)
        }
        """,
        "function",
        "fn compute_total(items: &[i32]) -> i32",
        7,
    ),
    "java": (
        """
        class Report {
            static int compute_total(int[] items) {
                return items.length;
            }
            // compute_total in a comment
            static int run_report(int[] rows) {
                String label = "compute_total in a string";
                return compute_total(rows);
            }
        }
        """,
        "method",
        "static int compute_total(int[] items)",
        8,
    ),
    "c": (
        """
        int compute_total(int *items, int n) {
            return n;
        }
        /* compute_total in a comment */
        int run_report(int *rows, int n) {
            const char *label = "compute_total in a string";
            return compute_total(rows, n);
        }
        """,
        "function",
        "int compute_total(int *items, int n)",
        7,
    ),
    "cpp": (
        """
        int compute_total(const std::vector<int>& items) {
            return items.size();
        }
        // compute_total in a comment
        int run_report(const std::vector<int>& rows) {
            auto label = "compute_total in a string";
            return compute_total(rows);
        }
        """,
        "function",
        "int compute_total(const std::vector<int>& items)",
        7,
    ),
    "csharp": (
        """
        class Report {
            static int compute_total(int[] items) {
                return items.Length;
            }
            // compute_total in a comment
            static int run_report(int[] rows) {
                var label = "compute_total in a string";
                return compute_total(rows);
            }
        }
        """,
        "method",
        "static int compute_total(int[] items)",
        8,
    ),
    "ruby": (
        """
        def compute_total(items)
          items.sum
        end
        # compute_total in a comment
        def run_report(rows)
          label = "compute_total in a string"
          compute_total(rows)
        end
        """,
        "function",
        "def compute_total(items)",
        7,
    ),
    "php": (
        """
        <?php
        function compute_total($items) {
            return count($items);
        }
        // compute_total in a comment
        function run_report($rows) {
            $label = "compute_total in a string";
            return compute_total($rows);
        }
        """,
        "function",
        "function compute_total($items)",
        8,
    ),
    "kotlin": (
        """
        fun compute_total(items: List<Int>): Int {
            return items.size
        }
        // compute_total in a comment
        fun run_report(rows: List<Int>): Int {
            val label = "compute_total in a string"
            return compute_total(rows)
        }
        """,
        "function",
        "fun compute_total(items: List<Int>): Int",
        7,
    ),
    "swift": (
        """
        func compute_total(items: [Int]) -> Int {
            return items.count
        }
        // compute_total in a comment
        func run_report(rows: [Int]) -> Int {
            let label = "compute_total in a string"
            return compute_total(items: rows)
        }
        """,
        "function",
        "func compute_total(items: [Int]) -> Int",
        7,
    ),
    "elixir": (
        """
        defmodule Report do
          def compute_total(items), do: Enum.sum(items)
          # compute_total in a comment
          def run_report(rows) do
            label = "compute_total in a string"
            compute_total(rows)
          end
        end
        """,
        "function",
        "def compute_total(items), do: Enum.sum(items)",
        6,
    ),
}


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_definitions_and_references_in_code_only(language: str) -> None:
    source, kind, signature, use_line = SAMPLES[language]
    symbols = extract_symbols(textwrap.dedent(source).lstrip("\n"), language)
    (definition,) = [d for d in symbols.definitions if d.name == "compute_total"]
    assert definition.kind == kind
    assert definition.signature.startswith(signature), definition.signature
    assert definition.start_line < definition.end_line or language == "elixir"
    (refs,) = [r for r in symbols.references if r.name == "compute_total"]
    # exactly the use: not the definition's own name, not the comment, not the string
    assert refs.lines == [use_line], (language, refs.lines)
    assert refs.enclosing[0].endswith("run_report")
    assert refs.kinds == ["call"] or language in ("swift", "ruby", "kotlin"), refs.kinds


def test_qualified_names_and_arrow_functions() -> None:
    source = textwrap.dedent(
        """
        export const parseQuery = (s) => s.split("&");
        class Router {
          route(req) { return parseQuery(req.url); }
        }
        """
    ).lstrip("\n")
    symbols = extract_symbols(source, "javascript")
    by_name = {d.name: d for d in symbols.definitions}
    assert by_name["route"].qualified_name == "Router.route" and by_name["route"].kind == "method"
    assert by_name["parseQuery"].signature.startswith("export const parseQuery = (s) =>")
    (refs,) = [r for r in symbols.references if r.name == "parseQuery"]
    assert refs.lines == [3] and refs.enclosing == ["Router.route"]  # the declaration is not a use


def test_go_method_receiver_qualifies_the_name() -> None:
    source = (
        "package s\n\ntype Server struct{ cfg int }\n\nfunc (s *Server) Start() int {\n\treturn s.cfg\n}\n"
    )
    symbols = extract_symbols(source, "go")
    start = next(d for d in symbols.definitions if d.name == "Start")
    assert start.qualified_name == "Server.Start" and start.signature == "func (s *Server) Start() int"
    (server_refs,) = [r for r in symbols.references if r.name == "Server"]
    assert server_refs.lines == [5] and server_refs.kinds == ["type"]


def test_fuzzy_names_prefer_containing_then_similar() -> None:
    names = ["compute_shipping_cost", "ComputeShipping", "invoice_total", "compute_tax", "unrelated"]
    assert fuzzy_names("shipping_cost", names)[0] == "compute_shipping_cost"
    assert "compute_tax" in fuzzy_names("compute_taxes", names)
    assert fuzzy_names("zzzz", names) == []


def test_words_split_identifiers_and_prose() -> None:
    assert words("parseHTTPHeader_v2") == ["pars", "http", "header"]
    assert sorted(words("Returns the tokens of a file")) == sorted(words("file token"))
    assert words("parsed") == words("parsing") == words("parses") == words("parse")
    assert words("formatted") == words("format") and words("class") == ["class"]


def test_pagerank_follows_edges_and_personalisation() -> None:
    # 0 -> 2, 1 -> 2: node 2 collects the rank; personalising on 0 lifts 0 above 1.
    rank = pagerank(3, [0, 1], [2, 2], [1.0, 1.0], [1, 1, 1])
    assert rank[2] > rank[0] == pytest.approx(rank[1])
    assert abs(sum(rank) - 1.0) < 1e-6
    personal = pagerank(3, [0, 1], [2, 2], [1.0, 1.0], [10, 1, 1])
    assert personal[0] > personal[1]


def _row(path: str, name: str, line: int = 1, kind: str = "function") -> DefinitionRow:
    return DefinitionRow(1, path, "python", name, name, kind, line, line + 2, f"def {name}()", 0, 0)


def test_ranking_prefers_referenced_and_focused_definitions() -> None:
    defs = [_row("core.py", "load_settings"), _row("util.py", "format_bytes"), _row("cli.py", "main")]
    refs = [("cli.py", "load_settings", 3), ("web.py", "load_settings", 2), ("cli.py", "format_bytes", 1)]
    ranked = rank_definitions(defs, refs, Focus(set(), set(), []))
    assert defs[ranked[0][1]].name == "load_settings"
    focused = rank_definitions(
        defs, refs, parse_focus("how bytes are formatted", ["core.py", "util.py"], set())
    )
    assert defs[focused[0][1]].name == "format_bytes"
    by_file = parse_focus("look at util.py and main", ["core.py", "util.py", "cli.py"], {"main"})
    assert by_file.files == {"util.py"} and by_file.identifiers == {"main"}


def test_deeply_nested_files_get_no_symbols_instead_of_stalling() -> None:
    """The indexer's symbol pass keeps the chunker's bound on bracket nesting (tree-sitter's queries on
    such text take minutes and hold the GIL)."""
    import time

    from singularity_mcp.analysis import MAX_NESTING
    from singularity_mcp.search._symbols import extract_file_symbols

    nested = "x = " + "(" * (MAX_NESTING + 50) + "1" + ")" * (MAX_NESTING + 50) + "\n"
    started = time.perf_counter()
    assert extract_file_symbols(nested, "python", "deep.py") is None
    assert time.perf_counter() - started < 1.0
    assert extract_file_symbols("def f():\n    return 1\n", "python", "ok.py") is not None
