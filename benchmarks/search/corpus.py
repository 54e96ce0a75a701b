"""Build the CodeSearchNet-style evaluation corpus from package sources (PyPI sdists, npm tarballs).

Each language's files are copied with their documentation stripped (docstrings, JSDoc and comments become
blank lines, so line numbers do not move); the first sentence of each documented function's doc becomes a
query whose answer is that function's (path, line range). Function-level units of the stripped copy are
the corpus of the baselines.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

# (language, registry, package spec, folder inside the archive, glob, every n-th file)
SOURCES = [
    ("python", "pypi", "click==8.1.7", "click-8.1.7/src/click", "**/*.py", 1),
    ("python", "pypi", "requests==2.32.3", "requests-2.32.3/src/requests", "**/*.py", 1),
    ("javascript", "npm", "lodash@4.17.21", "package", "*.js", 5),
    ("typescript", "npm", "rxjs@7.8.1", "package/src/internal", "**/*.ts", 2),
]
MIN_QUERY_WORDS = 4


@dataclass
class Unit:
    """A function of the stripped corpus: the baselines' retrieval unit and, when documented, a target."""

    language: str
    path: str  # relative to the corpus root
    name: str
    start_line: int
    end_line: int
    text: str
    query: str | None = None


def download(spec: str, registry: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    name, version = re.split(r"==|@(?=\d)", spec)
    existing = list(dest.glob(f"{name}-{version}.t*gz"))
    if existing:
        return existing[0]
    if registry == "pypi":
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            spec,
            "-d",
            str(dest),
        ]
    else:
        cmd = ["npm", "pack", spec, "--silent", "--pack-destination", str(dest)]
    subprocess.run(cmd, check=True, capture_output=True)
    return next(iter(dest.glob(f"{name}-{version}.t*gz")))


def first_sentence(doc: str) -> str | None:
    paragraph = doc.strip().split("\n\n")[0]
    text = " ".join(line.strip() for line in paragraph.splitlines()).strip()
    text = re.split(r"(?<=[.!?])\s", text)[0].rstrip(".")
    text = re.sub(r"[`*]", "", text)
    return text if len(text.split()) >= MIN_QUERY_WORDS else None


# --- Python --------------------------------------------------------------------------------------------


def strip_python(text: str) -> tuple[str, list[Unit]]:
    tree = ast.parse(text)
    lines = text.split("\n")
    units: list[Unit] = []
    blank: set[int] = set()  # 0-based lines to blank
    for node in ast.walk(tree):
        if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        doc = ast.get_docstring(node, clean=True)
        body = node.body
        if doc is not None and isinstance(body[0], ast.Expr):
            first, last = body[0].lineno - 1, body[0].end_lineno - 1
            if len(body) == 1:  # keep the block valid
                indent = re.match(r"\s*", lines[first]).group()
                lines[first] = indent + "pass"
                blank.update(range(first + 1, last + 1))
            else:
                blank.update(range(first, last + 1))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            units.append(
                Unit(
                    "python",
                    "",
                    node.name,
                    node.lineno,
                    node.end_lineno,
                    "",
                    first_sentence(doc) if doc else None,
                )
            )
    for i, line in enumerate(lines):
        if i in blank or line.lstrip().startswith("#"):
            lines[i] = ""
    stripped = "\n".join(lines)
    for unit in units:
        unit.text = "\n".join(stripped.split("\n")[unit.start_line - 1 : unit.end_line])
    return stripped, units


# --- JavaScript / TypeScript ---------------------------------------------------------------------------

_BLOCK = re.compile(r"^[ \t]*/\*[\s\S]*?\*/[ \t]*$", re.M)
_LINE_COMMENT = re.compile(r"^[ \t]*//.*$", re.M)


def _jsdoc_description(block: str) -> str:
    out = []
    for line in block.strip("/*").splitlines():
        line = line.strip().lstrip("*").strip()
        if line.startswith("@"):
            break
        out.append(line)
    return "\n".join(out)


def strip_js(text: str, language: str) -> tuple[str, list[Unit]]:
    from singularity_mcp.analysis import analyze_source

    docs: dict[int, str] = {}  # 1-based line after the block's end -> description
    for match in _BLOCK.finditer(text):
        if match.group().lstrip().startswith("/**"):
            end_line = text.count("\n", 0, match.end()) + 1
            docs[end_line + 1] = _jsdoc_description(match.group().strip())

    def blank(match: re.Match[str]) -> str:
        return re.sub(r"[^\n]", "", match.group())

    stripped = _LINE_COMMENT.sub(blank, _BLOCK.sub(blank, text))
    analysis = analyze_source(stripped, language)
    lines = stripped.split("\n")
    units = []
    for d in analysis.definitions:
        if d.kind not in ("function", "method") or d.qualified_name.endswith("(anonymous)"):
            continue
        doc = docs.get(d.start_line)
        units.append(
            Unit(
                language, "", d.qualified_name, d.start_line, d.end_line,
                "\n".join(lines[d.start_line - 1 : d.end_line]), first_sentence(doc) if doc else None,
            )
        )  # fmt: skip
    return stripped, units


def build_corpus(work: Path) -> tuple[Path, list[Unit]]:
    """Download, strip and copy the sources under `work/corpus`; return the root and every unit."""
    root = work / "corpus"
    units: list[Unit] = []
    for language, registry, spec, inner, pattern, every in SOURCES:
        archive = download(spec, registry, work / "downloads")
        extracted = work / "extracted" / archive.name.split(".t")[0]
        if not extracted.exists():
            with tarfile.open(archive) as tar:
                tar.extractall(extracted, filter="data")
        base = extracted / inner
        files = sorted(p for p in base.glob(pattern) if "test" not in p.as_posix().lower())
        for path in files[::every]:
            text = path.read_text(encoding="utf-8")
            try:
                stripped, found = strip_python(text) if language == "python" else strip_js(text, language)
            except (SyntaxError, ValueError):
                continue
            name = spec.split("==")[0].split("@")[0]
            rel = f"{language}/{name}/{path.relative_to(base).as_posix()}"
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(stripped, encoding="utf-8")
            for unit in found:
                unit.path = rel
            units += found
    return root, units


if __name__ == "__main__":
    corpus_root, all_units = build_corpus(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/search-bench"))
    by_language: dict[str, list[int]] = {}
    for u in all_units:
        by_language.setdefault(u.language, [0, 0])
        by_language[u.language][0] += 1
        by_language[u.language][1] += u.query is not None
    print(corpus_root, {k: {"units": v[0], "queries": v[1]} for k, v in by_language.items()})
