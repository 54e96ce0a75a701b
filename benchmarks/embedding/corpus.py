"""Texts shared by the golden-vector script and the benchmark (imported by both venvs; stdlib only)."""

from __future__ import annotations

import sysconfig
from pathlib import Path

#: The single short query of the latency measurement.
QUERY = "how do I parse a date string?"

#: Fixed texts for the golden vectors: prose, queries, code in several languages, edge cases.
GOLDEN_TEXTS: list[str] = [
    "parse a date string",
    "How do I read a CSV file and compute the average of a column?",
    "The embedding cache keys vectors by model id and the sha256 of the text.",
    "A hierarchical task plan orders subtasks by their dependencies.",
    "connection refused when the server starts before the database is ready",
    'def parse_date(value: str) -> date:\n    """Parse an ISO date."""\n'
    '    return datetime.strptime(value, "%Y-%m-%d").date()',
    "@app.get('/users/{user_id}')\nasync def get_user(user_id: int):\n    return await db.fetch(user_id)",
    'fn main() {\n    let v: Vec<i32> = (1..10).map(|x| x * x).collect();\n    println!("{:?}", v);\n}',
    "export function debounce(fn, ms) {\n  let t;\n  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };\n}",
    "SELECT u.id, count(o.id) FROM users u LEFT JOIN orders o ON o.user_id = u.id GROUP BY u.id;",
    "func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {\n\tw.WriteHeader(http.StatusOK)\n}",
    'defmodule Greeter do\n  def hello(name), do: "Hello, #{name}!"\nend',
    "x",
    "",
    "   ",
    "ÜNÏCÖDÉ façade naïve café — 日本語のテキスト and emoji 🚀✨",
    "CamelCaseIdentifierWithManyParts snake_case_identifier_with_many_parts",
    "TODO: FIXME!!! ??? ... --- *** ///",
    # longer than max_tokens (256): the truncation must match the reference
    " ".join(f"token{i} alpha beta gamma" for i in range(120)),
    "\n".join(f"    result_{i} = compute(values[{i}], weights[{i}]) + bias_{i}" for i in range(40)),
]


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def code_chunks(count: int, target_chars: int = 660) -> list[str]:
    """`count` consecutive-line chunks of Python stdlib source, about 200 tokens each.

    Deterministic for a given Python version: both venvs share the same base interpreter, so the
    ONNX run and the sentence-transformers run see identical texts.
    """
    chunks: list[str] = []
    for path in sorted(stdlib_root().glob("*.py")):
        lines: list[str] = []
        size = 0
        for line in path.read_text("utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            lines.append(line)
            size += len(line) + 1
            if size >= target_chars:
                chunks.append("\n".join(lines))
                lines, size = [], 0
                if len(chunks) == count:
                    return chunks
    return chunks
