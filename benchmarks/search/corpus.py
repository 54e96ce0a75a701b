"""Build the CodeSearchNet-style evaluation corpus from package sources (PyPI sdists, npm tarballs, Debian
Go and Rust source packages).

Each language's files are copied with their documentation stripped (docstrings, JSDoc, Go and Rust doc
comments and other comments become blank lines, so line numbers do not move); the first sentence of each
documented function's doc becomes a query whose answer is that function's (path, line range).
Function-level units of the stripped copy are the corpus of the baselines.

The projects are split into a **dev** half (ranking is tuned on it) and a **test** half (only reported), by
project, fixed here before any tuning: each language has one or more dev projects and a different test
project.
"""

from __future__ import annotations

import ast
import random
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Source:
    """One project of the corpus."""

    language: str
    half: str  # "dev" (tuned on) or "test" (only reported)
    registry: str  # pypi | npm | deb (a Debian source package, installed with apt-get)
    spec: str  # pypi "name==version", npm "name@version", deb the package name
    inner: str  # folder inside the archive, or (deb) the absolute source folder
    pattern: str  # glob of the files taken
    every: int = 1  # every n-th file (sorted), to keep the corpus small
    name: str = ""  # project folder in the corpus (default: from spec)

    @property
    def project(self) -> str:
        return self.name or re.split(r"==|@(?=\d)", self.spec)[0]


GOCODE = "/usr/share/gocode/src/github.com"
CARGO = "/usr/share/cargo/registry"
# Fixed before tuning. spf13/cobra and clap stay out (an independent check uses them).
SOURCES = [
    Source("python", "dev", "pypi", "click==8.1.7", "click-8.1.7/src/click", "**/*.py"),
    Source("python", "dev", "pypi", "requests==2.32.3", "requests-2.32.3/src/requests", "**/*.py"),
    Source("python", "test", "pypi", "boltons==24.0.0", "boltons-24.0.0/boltons", "**/*.py", 2),
    Source("javascript", "dev", "npm", "lodash@4.17.21", "package", "*.js", 5),
    Source("javascript", "test", "npm", "axios@1.21.1", "package/lib", "**/*.js"),
    Source("typescript", "dev", "npm", "rxjs@7.8.1", "package/src/internal", "**/*.ts", 2),
    Source("typescript", "test", "npm", "@reduxjs/toolkit@2.15.0", "package/src", "**/*.ts",
           name="redux-toolkit"),
    Source("go", "dev", "deb", "golang-github-sirupsen-logrus-dev", f"{GOCODE}/sirupsen/logrus", "*.go",
           name="logrus"),
    Source("go", "dev", "deb", "golang-github-gorilla-mux-dev", f"{GOCODE}/gorilla/mux", "*.go", name="mux"),
    Source("go", "test", "deb", "golang-github-stretchr-testify-dev", f"{GOCODE}/stretchr/testify",
           "**/*.go", name="testify"),
    Source("rust", "dev", "deb", "librust-itertools-dev", f"{CARGO}/itertools-0.10.3/src", "**/*.rs",
           name="itertools"),
    Source("rust", "test", "deb", "librust-indexmap-dev", f"{CARGO}/indexmap-1.9.2/src", "**/*.rs",
           name="indexmap"),
]  # fmt: skip
# Added to the dev half later (2026-12-02), to diagnose the TypeScript keyword side on type-heavy code
# without looking at the test half: sampled with their own seed, so the queries of SOURCES (and the whole
# test half) stay exactly as they were.
EXTRA_DEV = [
    Source("typescript", "dev", "npm", "@trpc/server@11.25.2", "package/src", "**/*.ts", name="trpc-server"),
    Source("typescript", "dev", "npm", "@tanstack/query-core@5.108.4", "package/src", "**/*.ts",
           name="query-core"),
]  # fmt: skip
LANGUAGES = ("python", "javascript", "typescript", "go", "rust")
HALVES = ("dev", "test")
MAX_QUERIES = 80  # per language and half (a fixed-seed sample), so one full run stays within minutes
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
    half: str = ""


def download(spec: str, registry: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    name, version = re.split(r"==|@(?=\d)", spec)
    name = name.lstrip("@").replace("/", "-")  # npm pack names @scope/pkg as scope-pkg-<version>.tgz
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


def function_units(stripped: str, language: str, docs: dict[int, str]) -> list[Unit]:
    """The named functions and methods of a stripped file; `docs` maps a definition's first line to its
    doc text (the query comes from it)."""
    from singularity_mcp.analysis import analyze_source

    lines = stripped.split("\n")
    units = []
    for d in analyze_source(stripped, language).definitions:
        if d.kind not in ("function", "method") or d.qualified_name.endswith("(anonymous)"):
            continue
        doc = docs.get(d.start_line)
        units.append(
            Unit(
                language, "", d.qualified_name, d.start_line, d.end_line,
                "\n".join(lines[d.start_line - 1 : d.end_line]), first_sentence(doc) if doc else None,
            )
        )  # fmt: skip
    return units


def strip_js(text: str, language: str) -> tuple[str, list[Unit]]:
    docs: dict[int, str] = {}  # 1-based line after the block's end -> description
    for match in _BLOCK.finditer(text):
        if match.group().lstrip().startswith("/**"):
            end_line = text.count("\n", 0, match.end()) + 1
            docs[end_line + 1] = _jsdoc_description(match.group().strip())

    def blank(match: re.Match[str]) -> str:
        return re.sub(r"[^\n]", "", match.group())

    stripped = _LINE_COMMENT.sub(blank, _BLOCK.sub(blank, text))
    return stripped, function_units(stripped, language, docs)


# --- Go / Rust (line doc comments) ----------------------------------------------------------------------

_DOC_LINE = {"go": re.compile(r"^\s*//\s?(.*)$"), "rust": re.compile(r"^\s*///(?!/)\s?(.*)$")}
_COMMENT_LINE = re.compile(r"^\s*//")
_ATTRIBUTE = re.compile(r"^\s*#!?\[")


def strip_line_docs(text: str, language: str) -> tuple[str, list[Unit]]:
    """Go `//` and Rust `///` doc comments: the block right above a definition (Rust attributes may sit
    between) is its doc; every comment line is blanked, block comments too."""
    lines = text.split("\n")
    docs: dict[int, str] = {}  # 1-based line of the documented item -> doc text
    block: list[str] = []
    for number, line in enumerate(lines, start=1):
        match = _DOC_LINE[language].match(line)
        if match:
            block.append(match.group(1))
            continue
        if block and (_ATTRIBUTE.match(line) or _COMMENT_LINE.match(line)):
            continue  # attributes and plain comments between the doc and its item
        if block and line.strip():
            docs[number] = "\n".join(block)
        if not line.strip() and language == "rust":
            continue  # rustfmt never separates a doc from its item by a blank line, but be lenient
        block = []
    stripped_lines = ["" if _COMMENT_LINE.match(line) else line for line in lines]
    stripped = re.sub(r"/\*[\s\S]*?\*/", lambda m: re.sub(r"[^\n]", "", m.group()), "\n".join(stripped_lines))
    return stripped, function_units(stripped, language, docs)


def _strip(text: str, language: str) -> tuple[str, list[Unit]]:
    if language == "python":
        return strip_python(text)
    if language in _DOC_LINE:
        return strip_line_docs(text, language)
    return strip_js(text, language)


def source_folder(source: Source, work: Path) -> Path:
    """The folder holding the project's files: unpacked from the registry's archive, or the Debian
    package's installed sources (installed with apt-get when missing)."""
    if source.registry == "deb":
        base = Path(source.inner)
        if not base.exists():
            subprocess.run(["apt-get", "install", "-y", "-qq", source.spec], check=True, capture_output=True)
        return base
    archive = download(source.spec, source.registry, work / "downloads")
    extracted = work / "extracted" / archive.name.split(".t")[0]
    if not extracted.exists():
        with tarfile.open(archive) as tar:
            tar.extractall(extracted, filter="data")
    return extracted / source.inner


def _excluded(rel: str) -> bool:
    low = rel.lower()
    # vendored third-party code is skipped by the indexer too (a top-level vendor/ as well as a nested one)
    return (
        "test" in low.replace("testify", "") or "/vendor/" in f"/{low}" or "example" in low or "bench" in low
    )


def build_corpus(work: Path) -> tuple[Path, list[Unit]]:
    """Download, strip and copy the sources under `work/corpus`; return the root and every unit. Units
    with a query carry their half; at most MAX_QUERIES per language and half keep their query (fixed seed)."""
    root = work / "corpus"
    units: list[Unit] = []
    written: set[Path] = set()
    extra: list[Unit] = []
    for source in [*SOURCES, *EXTRA_DEV]:
        base = source_folder(source, work)
        files = sorted(
            p
            for p in base.glob(source.pattern)
            if p.is_file() and not _excluded(p.relative_to(base).as_posix())
        )
        for path in files[:: source.every]:
            text = path.read_text(encoding="utf-8", errors="replace")
            try:
                stripped, found = _strip(text, source.language)
            except (SyntaxError, ValueError):
                continue
            rel = f"{source.language}/{source.project}/{path.relative_to(base).as_posix()}"
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            written.add(target)
            if not target.exists() or target.read_text(encoding="utf-8") != stripped:
                target.write_text(stripped, encoding="utf-8")
            for unit in found:
                unit.path = rel
                unit.half = source.half
            (extra if source in EXTRA_DEV else units).extend(found)
    for stale in [p for p in root.rglob("*") if p.is_file() and p not in written]:
        stale.unlink()  # a project dropped from SOURCES since the last build
    rng = random.Random(12)
    for language in LANGUAGES:
        for half in HALVES:
            documented = [u for u in units if u.query and u.language == language and u.half == half]
            if len(documented) > MAX_QUERIES:
                keep = set(map(id, rng.sample(documented, MAX_QUERIES)))
                for unit in documented:
                    if id(unit) not in keep:
                        unit.query = None
    rng = random.Random(13)
    for language in LANGUAGES:
        documented = [u for u in extra if u.query and u.language == language]
        if len(documented) > MAX_QUERIES:
            keep = set(map(id, rng.sample(documented, MAX_QUERIES)))
            for unit in documented:
                if id(unit) not in keep:
                    unit.query = None
    return root, units + extra


if __name__ == "__main__":
    corpus_root, all_units = build_corpus(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/search-bench"))
    counts: dict[str, dict[str, int]] = {}
    for u in all_units:
        key = f"{u.language}/{u.path.split('/')[1]}"
        c = counts.setdefault(key, {"units": 0, "queries": 0})
        c["units"] += 1
        c["queries"] += u.query is not None
    print(corpus_root)
    for key, c in counts.items():
        print(f"  {key}: {c}")
