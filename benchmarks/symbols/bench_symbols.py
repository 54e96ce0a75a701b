"""Symbol index benchmark: recall of find_references against a whole-word grep of code, latency of
find_symbol / find_references through MCP, and how often repo_map's focus finds a definition's file.

    python benchmarks/symbols/bench_symbols.py --work /tmp/symbols-bench [--out results.json]

Corpora (package sources through the registries' own clients and Debian packages):
  Python  click 8.1.7, requests 2.32.3 (pip download --no-binary :all:)
  JS/TS   express 4.19.2, commander 12.0.0, rxjs 7.8.1 src/internal (npm pack)
  Go      gorilla/mux, gopkg.in/yaml.v3, Sirupsen/logrus (Debian golang-*-dev, /usr/share/gocode)
  Rust    regex 1.7.1, semver 1.0.14, itertools 0.10.3 (Debian librust-*-dev, /usr/share/cargo/registry)

Each corpus is one indexed root in a fresh data directory (lexical phase only: symbols do not need
vectors). Names are split into a dev half and a test half by a hash of the name (of file + name for the
repo-map targets) before anything is measured; both halves are reported.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import statistics
import sys
import tarfile
import time
from collections import defaultdict
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks" / "search"))
from corpus import download, first_sentence  # noqa: E402  (the search benchmark's registry helper)

from singularity_mcp.config import Settings  # noqa: E402
from singularity_mcp.core import Core  # noqa: E402

# (corpus name, language, source: ("pypi"|"npm", spec, folder in archive) or ("dir", path), file glob)
CORPORA: list[tuple[str, str, tuple[str, ...], str]] = [
    ("click", "python", ("pypi", "click==8.1.7", "click-8.1.7/src/click"), "**/*.py"),
    ("requests", "python", ("pypi", "requests==2.32.3", "requests-2.32.3/src/requests"), "**/*.py"),
    ("express", "javascript", ("npm", "express@4.19.2", "package/lib"), "**/*.js"),
    ("commander", "javascript", ("npm", "commander@12.0.0", "package/lib"), "**/*.js"),
    ("rxjs", "typescript", ("npm", "rxjs@7.8.1", "package/src/internal/operators"), "**/*.ts"),
    ("mux", "go", ("dir", "/usr/share/gocode/src/github.com/gorilla/mux"), "*.go"),
    ("yaml.v3", "go", ("dir", "/usr/share/gocode/src/gopkg.in/yaml.v3"), "*.go"),
    ("logrus", "go", ("dir", "/usr/share/gocode/src/github.com/Sirupsen/logrus"), "*.go"),
    ("regex", "rust", ("dir", "/usr/share/cargo/registry/regex-1.7.1/src"), "**/*.rs"),
    ("semver", "rust", ("dir", "/usr/share/cargo/registry/semver-1.0.14/src"), "**/*.rs"),
    ("itertools", "rust", ("dir", "/usr/share/cargo/registry/itertools-0.10.3/src"), "**/*.rs"),
]
NAMES_PER_CORPUS = 120
MIN_NAME = 3
BUDGETS = (1000, 2000)


def half(key: str) -> str:
    return "dev" if hashlib.sha1(key.encode()).digest()[0] % 2 == 0 else "test"


def build_corpora(work: Path) -> dict[str, tuple[str, Path]]:
    out = {}
    for name, language, source, pattern in CORPORA:
        dest = work / "corpus" / name
        if not dest.exists():
            if source[0] == "dir":
                origin = Path(source[1])
            else:
                archive = download(source[1], source[0], work / "downloads")
                unpack = work / "unpacked" / name
                if not unpack.exists():
                    with tarfile.open(archive) as tar:
                        tar.extractall(unpack, filter="data")
                origin = unpack / source[2]
            for path in sorted(origin.glob(pattern)):
                target = dest / path.relative_to(origin)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        out[name] = (language, dest)
    return out


# --- the baseline: whole-word grep over code with comments and strings blanked (Pygments) ---------------


def code_lines(path: Path, language: str) -> list[str]:
    """The file's lines with every comment and string token blanked (same line numbers)."""
    from pygments.lexers import get_lexer_by_name
    from pygments.token import Comment, String

    lexer = get_lexer_by_name(language, stripnl=False, ensurenl=False)
    text = path.read_text(encoding="utf-8", errors="replace")
    out = []
    for ttype, value in lexer.get_tokens(text):
        if ttype in Comment or ttype in String:
            out.append("".join("\n" if ch == "\n" else " " for ch in value))
        else:
            out.append(value)
    return "".join(out).split("\n")


def grep(lines_by_file: dict[str, list[str]], name: str) -> set[tuple[str, int]]:
    pattern = re.compile(rf"(?<![\w$]){re.escape(name)}(?![\w$])")
    return {
        (f, i + 1)
        for f, lines in lines_by_file.items()
        for i, line in enumerate(lines)
        if pattern.search(line)
    }


# --- the run ---------------------------------------------------------------------------------------------


async def index_lexical(core: Core, root: Path) -> dict[str, Any]:
    """The indexer's lexical phase (parse, chunk, extract symbols, store) for one root."""
    from singularity_mcp.search import _store
    from singularity_mcp.search._indexer import IndexRun, _lexical_phase

    database = await core.database()
    row = await _store.ensure_root(database.pool, str(root))
    run = IndexRun(root=root)
    started = time.perf_counter()
    await _lexical_phase(database.pool, row.id, root, run, True)
    await _store.refresh_root_stats(database.pool, row.id)
    seconds = time.perf_counter() - started
    async with database.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT (SELECT count(*) FROM code_symbols WHERE root_id = %s),"
            " (SELECT count(*) FROM code_refs WHERE root_id = %s),"
            " (SELECT coalesce(sum(cardinality(lines)), 0) FROM code_refs WHERE root_id = %s)",
            (row.id, row.id, row.id),
        )
        definitions, ref_rows, ref_lines = await cur.fetchone()
    return {
        "root_id": row.id,
        "files": run.files_indexed,
        "index_seconds": round(seconds, 2),
        "definitions": definitions,
        "reference_rows": ref_rows,
        "reference_lines": int(ref_lines),
    }


def extraction_cost(root: Path, language: str) -> dict[str, float]:
    """Milliseconds per file: chunking (what indexing did before) vs symbol extraction (what it adds)."""
    from singularity_mcp.analysis import chunk_source
    from singularity_mcp.search._symbols import extract_symbols

    texts = [(str(p), p.read_text(errors="replace")) for p in sorted(root.rglob("*")) if p.is_file()]
    started = time.perf_counter()
    for path, text in texts:
        chunk_source(text, language, path)
    chunking = time.perf_counter() - started
    started = time.perf_counter()
    for _, text in texts:
        extract_symbols(text, language)
    symbols = time.perf_counter() - started
    return {
        "chunking_ms_per_file": round(1000 * chunking / len(texts), 2),
        "symbols_ms_per_file": round(1000 * symbols / len(texts), 2),
    }


def pick_names(definitions: list[Any]) -> list[str]:
    names = sorted({d.name for d in definitions if len(d.name) >= MIN_NAME and d.name.isidentifier()})
    names.sort(key=lambda n: hashlib.sha1(n.encode()).hexdigest())
    return names[:NAMES_PER_CORPUS]


def recall_for(
    name: str, lines_by_file: dict[str, list[str]], refs: list[Any], definitions: list[Any]
) -> tuple[int, int, int]:
    """(grep lines, of those found, lines found that grep has not) for one name."""
    expected = grep(lines_by_file, name)
    # a definition's own name is its definition site, not a reference: the first grep line inside it
    for d in definitions:
        if d.name == name:
            inside = sorted(
                line for f, line in expected if f == d.rel_path and d.start_line <= line <= d.end_line
            )
            if inside:
                expected.discard((d.rel_path, inside[0]))
    found = {(r.rel_path, line) for r in refs for line in r.lines}
    return len(expected), len(expected & found), len(found - expected)


def doc_targets(root: Path, language: str, definitions: list[Any]) -> list[tuple[str, str, str]]:
    """(file, name, first doc sentence with the name removed) for documented functions and types."""
    targets = []
    cache: dict[str, list[str]] = {}
    for d in definitions:
        lines = cache.setdefault(d.rel_path, (root / d.rel_path).read_text(errors="replace").split("\n"))
        doc = None
        if language == "python":
            for i in range(d.start_line, min(d.start_line + 8, len(lines))):
                stripped = lines[i].strip()
                if stripped.startswith(('"""', "'''", 'r"""')):
                    quote = stripped.lstrip("r")[:3]
                    body = [stripped.lstrip("r")[3:]]
                    j = i
                    while quote not in body[-1] and j + 1 < len(lines):
                        j += 1
                        body.append(lines[j].strip())
                    doc = "\n".join(body).split(quote)[0]
                    break
                if stripped and not stripped.endswith((":", ",", "(")) and not stripped.startswith(")"):
                    break
        else:
            above = []
            i = d.start_line - 2
            while i >= 0:
                stripped = lines[i].strip()
                if stripped.startswith("#[") or stripped.startswith("@"):
                    i -= 1
                    continue
                if stripped.startswith(("//", "/*", "*")):
                    above.append(re.sub(r"^(///?|/\*\*?|\*/?)\s?", "", stripped))
                    i -= 1
                    continue
                break
            doc = "\n".join(reversed(above)) if above else None
        if not doc:
            continue
        doc = re.sub(r"@\w+.*", "", doc)  # JSDoc tags
        sentence = first_sentence(doc)
        if not sentence:
            continue
        sentence = re.sub(rf"(?<![\w$]){re.escape(d.name)}(?![\w$])", "", sentence).strip()
        if len(sentence.split()) >= 4:
            targets.append((d.rel_path, d.name, sentence))
    return targets


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2) if ordered else 0.0


async def main(args: argparse.Namespace) -> dict[str, Any]:
    from mcp import Client

    from singularity_mcp.search import _repo_map as rm
    from singularity_mcp.search import _symbol_store as store
    from singularity_mcp.server import build_server

    work = Path(args.work)
    corpora = build_corpora(work)
    data_dir = work / "data"
    shutil.rmtree(data_dir, ignore_errors=True)
    settings = Settings(data_dir=data_dir, model_dir=Path(args.model_dir), database_url=None)
    results: dict[str, Any] = {"load_average_start": os.getloadavg(), "corpora": {}}
    recall = {"dev": [0, 0, 0], "test": [0, 0, 0]}
    per_language: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    map_hits: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    latencies: dict[str, list[float]] = defaultdict(list)
    server_ms: dict[str, list[float]] = defaultdict(list)  # took_ms reported by the tool (no MCP/client)
    base_share: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    misses: list[str] = []
    async with asynccontextmanager(Core(settings).run)() as core:
        database = await core.database()
        embedder = await core.embedder()
        counts: dict[str, int] = {}

        def count(text: str) -> int:
            if text not in counts:
                counts[text] = embedder.count_tokens(text)
            return counts[text]

        async with Client(build_server(settings)) as client:
            for name, (language, root) in corpora.items():
                info = await index_lexical(core, root)
                info["language"] = language
                info.update(extraction_cost(root, language))
                async with database.pool.connection() as conn:
                    definitions = await store.all_definitions(conn, info["root_id"], None)
                    references = await store.reference_counts(conn, info["root_id"], None)
                lines_by_file = {
                    p.relative_to(root).as_posix(): code_lines(p, language)
                    for p in sorted(root.rglob("*"))
                    if p.is_file()
                }
                names = pick_names(definitions)
                corpus_recall = [0, 0, 0]
                for symbol in names:
                    async with database.pool.connection() as conn:
                        refs = await store.references_named(conn, [info["root_id"]], None, symbol, 100_000)
                    expected, found, extra = recall_for(symbol, lines_by_file, refs, definitions)
                    if expected - found > 0 and len(misses) < 40:
                        missing = sorted(
                            grep(lines_by_file, symbol) - {(r.rel_path, n) for r in refs for n in r.lines}
                        )
                        misses.append(f"{name}:{symbol}: {missing[:3]}")
                    part = half(symbol)
                    for i, v in enumerate((expected, found, extra)):
                        recall[part][i] += v
                        corpus_recall[i] += v
                    per_language[language][0] += expected
                    per_language[language][1] += found
                    # latency through MCP (in-memory client, real server)
                    for tool in ("find_symbol", "find_references"):
                        started = time.perf_counter()
                        result = await client.call_tool(tool, {"name": symbol, "path": str(root)})
                        latencies[tool].append((time.perf_counter() - started) * 1000)
                        assert not result.is_error, result.content[0].text
                        server_ms[tool].append(result.structured_content["took_ms"])
                info["recall"] = round(corpus_recall[1] / max(1, corpus_recall[0]), 4)
                info["names"] = len(names)
                # repo map: does the map focused on a doc sentence contain the definition's file?
                files = sorted({d.rel_path for d in definitions})
                targets = doc_targets(root, language, definitions)
                info["map_targets"] = len(targets)
                unfocused = rm.rank_definitions(definitions, references, rm.Focus(set(), set(), []))
                for budget in BUDGETS:
                    _, base_files, _ = rm.pack(definitions, unfocused, budget, count)
                    info[f"map_files_{budget}"] = len(base_files)
                    share = len(base_files) / max(1, len(files))
                    for target_file, target_name, sentence in targets:
                        part = half(f"{name}:{target_file}:{target_name}")
                        focus = rm.parse_focus(sentence, files, {d.name for d in definitions})
                        aider = rm.Focus(focus.files, focus.identifiers, [])
                        for method, ranked in (
                            ("pagerank_no_focus", unfocused),
                            ("aider_mentions", rm.rank_definitions(definitions, references, aider)),
                            ("mentions_plus_words", rm.rank_definitions(definitions, references, focus)),
                        ):
                            _, in_map, _ = rm.pack(definitions, ranked, budget, count)
                            cell = map_hits[f"{method}@{budget}"][part]
                            cell[0] += target_file in in_map
                            cell[1] += 1
                        base_share[f"{budget}"][part] += share
                        started = time.perf_counter()
                        if budget == 2000 and part == "dev" and len(latencies["repo_map"]) < 40:
                            result = await client.call_tool(
                                "repo_map", {"path": str(root), "focus": sentence, "token_budget": budget}
                            )
                            latencies["repo_map"].append((time.perf_counter() - started) * 1000)
                            assert not result.is_error, result.content[0].text
                info["files_total"] = len(files)
                del info["root_id"]
                results["corpora"][name] = info
                print(name, json.dumps(info), file=sys.stderr)
    results["reference_recall"] = {
        part: {
            "grep_lines": v[0],
            "found": v[1],
            "recall": round(v[1] / max(1, v[0]), 4),
            "extra_lines_not_in_grep": v[2],
        }
        for part, v in recall.items()
    }
    results["recall_by_language"] = {k: round(v[1] / max(1, v[0]), 4) for k, v in per_language.items()}
    results["latency_ms_mcp_in_memory"] = {
        tool: {
            "n": len(v),
            "p50": percentile(v, 0.5),
            "p95": percentile(v, 0.95),
            "mean": round(statistics.mean(v), 2),
        }
        for tool, v in latencies.items()
    }
    results["server_ms_took"] = {
        tool: {"p50": percentile(v, 0.5), "p95": percentile(v, 0.95)} for tool, v in server_ms.items()
    }
    results["repo_map_focus_file_in_map"] = {
        method: {
            part: {"hits": c[0], "targets": c[1], "rate": round(c[0] / max(1, c[1]), 4)}
            for part, c in parts.items()
        }
        for method, parts in map_hits.items()
    }
    # the chance level: the share of a corpus's files an unfocused map of that budget holds, per target
    for budget, parts in base_share.items():
        for part, total in parts.items():
            cell = results["repo_map_focus_file_in_map"][f"pagerank_no_focus@{budget}"][part]
            cell["mean_share_of_files_in_map"] = round(total / max(1, cell["targets"]), 4)
    results["missed_examples"] = misses
    results["load_average_end"] = os.getloadavg()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", default="/tmp/symbols-bench")
    parser.add_argument(
        "--model-dir", default=str(Path.home() / ".cache" / "singularity-mcp-test" / "models")
    )
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results.json"))
    args = parser.parse_args()
    output = anyio.run(main, args)
    Path(args.out).write_text(json.dumps(output, indent=2) + "\n")
    print(json.dumps(output, indent=2))
