"""Search benchmark: quality against BM25, dense-only and naive-fusion baselines on a dev and a test half
(split by project, see corpus.py), latency through MCP stdio, indexing times, and a >=100k-chunk scale run.

    python benchmarks/search/bench.py --work /tmp/search-bench [--half dev|test|both] [--mode mcp|inprocess]
                                      [--reuse] [--scale-chunks 100000] [--out results.json]

--mode mcp (the reported figures) spawns `singularity-mcp serve` and queries it over stdio; --mode
inprocess (for tuning) calls the search API directly. Without --reuse the data directory under --work
(its own embedded PostgreSQL, empty embedding cache) is deleted first; with it, a built index is reused
(changed files and chunking are picked up by the re-index, unchanged chunks keep their vectors). The built
model is taken from --model-dir (default: the test cache) so it is not rebuilt; the baselines' unit
vectors are cached under --work.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the server runs (singularity_mcp/__init__.py)

import argparse
import hashlib
import json
import random
import shutil
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import numpy as np
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import HALVES, LANGUAGES, Unit, build_corpus

from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.search._files import embedding_text

if TYPE_CHECKING:
    from singularity_mcp.search._searcher import Scope

REPO = Path(__file__).resolve().parents[2]
K = 10
POOL = 50  # each baseline list fed to the naive fusion
RRF_K = 10


# --- metrics ------------------------------------------------------------------------------------------


def rank_of(hits: list[tuple[str, int, int]], unit: Unit) -> int | None:
    """1-based rank of the first hit in the target's file whose line range overlaps the target's."""
    for rank, (path, start, end) in enumerate(hits[:K], start=1):
        if path == unit.path and start <= unit.end_line and end >= unit.start_line:
            return rank
    return None


def score(ranks: dict[str, list[int | None]]) -> dict[str, dict[str, float]]:
    out = {}
    every = [r for rs in ranks.values() for r in rs]
    for name, rs in [*ranks.items(), ("overall", every)]:
        n = len(rs)
        if not n:
            continue
        out[name] = {
            "queries": n,
            "mrr@10": round(sum(1 / r for r in rs if r) / n, 4),
            "recall@1": round(sum(1 for r in rs if r == 1) / n, 4),
            "recall@10": round(sum(1 for r in rs if r) / n, 4),
        }
    return out


def score_halves(queries: list[Unit], ranks: list[int | None]) -> dict[str, dict[str, dict[str, float]]]:
    """{half: {language | overall: metrics}} for ranks aligned with queries."""
    out = {}
    for half in HALVES:
        by_language: dict[str, list[int | None]] = {}
        for q, r in zip(queries, ranks, strict=True):
            if q.half == half:
                by_language.setdefault(q.language, []).append(r)
        if by_language:
            out[half] = score({lang: by_language[lang] for lang in LANGUAGES if lang in by_language})
    return out


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


# --- MCP client ---------------------------------------------------------------------------------------


@asynccontextmanager
async def mcp_session(env: dict[str, str]):
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "singularity_mcp", "serve"], env=env, cwd=str(REPO)
    )
    with open(os.devnull, "w") as devnull:  # noqa: ASYNC230
        async with (
            stdio_client(params, errlog=devnull) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


async def call(session: ClientSession, tool: str, **args: Any) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    result = await session.call_tool(tool, args)
    took = (time.perf_counter() - started) * 1000
    if result.is_error:
        raise RuntimeError(f"{tool}: {result.content[0].text}")
    return result.structured_content, took


def hit_list(data: dict[str, Any], root: Path) -> list[tuple[str, int, int]]:
    return [
        (Path(h["path"]).relative_to(root).as_posix(), h["start_line"], h["end_line"])
        for h in data["results"]
        if h["kind"] == "code"
    ]


# --- baselines ----------------------------------------------------------------------------------------


async def lexemes(pool, texts: list[str]) -> list[list[str]]:
    """PostgreSQL's english analysis of identifier-split text: the same stemming and stop words the
    index uses, with term frequencies, so BM25 differs from the system only in its ranking."""
    from singularity_mcp.search._lexical import lexical_text

    out = []
    async with pool.connection() as conn:
        for text in texts:
            cur = await conn.execute(
                "SELECT lexeme, cardinality(positions) FROM unnest(to_tsvector('english', %s))",
                (lexical_text(text),),
            )
            out.append([lex for lex, n in await cur.fetchall() for _ in range(n or 1)])
    return out


@asynccontextmanager
async def open_index(work: Path, half: str) -> AsyncIterator[tuple[Core, Scope, list[Unit], list[Unit]]]:
    """The index bench.py built under `work` (no re-index): (core, the corpus root's scope, every unit,
    the queries of `half`). For the offline diagnostics (lists.py, diagnose.py)."""
    from singularity_mcp.search._searcher import resolve_scope

    root, units = build_corpus(work)
    queries = [u for u in units if u.query and u.half == half]
    model_dir = Path.home() / ".cache" / "singularity-mcp-test" / "models"
    settings = Settings(data_dir=work / "data", model_dir=model_dir, database_url=None)
    async with asynccontextmanager(Core(settings).run)() as core:
        scope = await resolve_scope((await core.database()).pool, root.resolve(), None)
        yield core, scope, units, queries


def bm25_ranked(documents: list[list[str]], queries: list[list[str]]) -> list[list[int]]:
    """Per query, the indexes of the POOL best documents by BM25 (bm25s), only those with a score."""
    import bm25s

    retriever = bm25s.BM25()
    retriever.index(documents, show_progress=False)
    out: list[list[int]] = []
    for tokens in queries:
        tokens = [t for t in tokens if t in retriever.vocab_dict]
        if not tokens:
            out.append([])
            continue
        docs, scores = retriever.retrieve([tokens], k=min(POOL, len(documents)), show_progress=False)
        out.append([int(i) for i, sc in zip(docs[0], scores[0], strict=True) if sc > 0])
    return out


def rrf(lists: list[list[int]], k: int = RRF_K) -> list[int]:
    """Naive reciprocal rank fusion of ranked unit-index lists: sum of 1 / (k + rank)."""
    scores: dict[int, float] = {}
    for ranked in lists:
        for rank, i in enumerate(ranked, start=1):
            scores[i] = scores.get(i, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda i: (-scores[i], i))


async def unit_vectors(core: Core, units: list[Unit], work: Path) -> tuple[np.ndarray, float | None]:
    """The units' vectors, cached under `work` per model and text; (vectors, seconds spent embedding)."""
    embedder = await core.embedder()
    texts = [embedding_text(u.path, u.name, u.text) for u in units]
    keys = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    cache = work / f"unit-vectors-{embedder.model_id.replace('/', '_')}.npz"
    known: dict[str, np.ndarray] = {}
    if cache.exists():
        with np.load(cache) as stored:
            known = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items())
    seconds = None
    if missing:
        started = time.perf_counter()
        fresh = embedder.embed_sync([t for _, t in missing])
        seconds = time.perf_counter() - started
        known.update((k, v) for (k, _), v in zip(missing, fresh, strict=True))
        np.savez(cache, keys=np.array(list(known)), vectors=np.stack(list(known.values())))
    return np.stack([known[k] for k in keys]), seconds


async def run_baselines(core: Core, units: list[Unit], queries: list[Unit], work: Path) -> dict[str, Any]:
    """BM25, dense-only and their naive RRF(k=10) over the function units, scored per half and language."""
    pool = (await core.database()).pool
    unit_tokens = await lexemes(pool, [f"{u.path} {u.name}\n{u.text}" for u in units])
    query_tokens = await lexemes(pool, [q.query for q in queries])
    bm25_lists = bm25_ranked(unit_tokens, query_tokens)

    vectors, embed_seconds = await unit_vectors(core, units, work)
    query_vectors = (await core.embedder()).embed_sync([q.query for q in queries])
    dense_lists = [list(np.argsort(-(vectors @ v))[:POOL]) for v in query_vectors]

    def ranks(lists: list[list[int]]) -> list[int | None]:
        return [
            rank_of([(units[i].path, units[i].start_line, units[i].end_line) for i in ranked[:K]], q)
            for q, ranked in zip(queries, lists, strict=True)
        ]

    fused = [rrf([b, d]) for b, d in zip(bm25_lists, dense_lists, strict=True)]
    return {
        "bm25": score_halves(queries, ranks(bm25_lists)),
        "dense_only": score_halves(queries, ranks(dense_lists)),
        "naive_rrf": score_halves(queries, ranks(fused)),
        "unit_embed_seconds": embed_seconds and round(embed_seconds, 1),
    }


# --- scale run ----------------------------------------------------------------------------------------

VOCAB = [
    "account",
    "balance",
    "cache",
    "config",
    "customer",
    "decode",
    "encode",
    "export",
    "filter",
    "format",
    "graph",
    "header",
    "import",
    "index",
    "inventory",
    "ledger",
    "merge",
    "order",
    "parse",
    "payment",
    "queue",
    "render",
    "report",
    "request",
    "schedule",
    "session",
    "shipment",
    "sort",
    "stream",
    "template",
    "token",
    "upload",
    "user",
    "validate",
    "widget",
    "socket",
    "buffer",
    "packet",
    "router",
    "handler",
    "worker",
    "thread",
    "lock",
    "mutex",
    "future",
    "promise",
    "channel",
    "stream",
    "reader",
    "writer",
    "cursor",
    "table",
    "column",
    "record",
    "field",
    "schema",
    "query",
]


def make_scale_repo(root: Path, files: int, functions: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    for i in range(files):
        parts = []
        for j in range(functions):
            words = rng.sample(VOCAB, 8)
            body = "\n".join(
                f"    {w}_{k} = compute_{words[(k + 1) % 8]}({w}, value, {k}) + offset_{i % 97}"
                for k, w in enumerate(words)
            )
            parts.append(
                f"def {words[0]}_{words[1]}_{words[2]}_{i}_{j}(value, offset):\n{body}\n    return value\n"
            )
        path = root / f"pkg{i % 50}" / f"sub{i % 7}" / f"module_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n\n".join(parts))


async def load_scale(core: Core, root: Path, seed_vectors: np.ndarray) -> dict[str, Any]:
    """Lexical phase with the real indexer, then synthetic vectors (real ones plus noise), HNSW rebuilt."""
    from singularity_mcp.search import _store
    from singularity_mcp.search._indexer import IndexRun, _lexical_phase

    pool = (await core.database()).pool
    row = await _store.ensure_root(pool, str(root))
    run = IndexRun(root=root)
    started = time.perf_counter()
    await _lexical_phase(pool, row.id, root, run, False)
    chunks = await _store.refresh_root_stats(pool, row.id)
    lexical_seconds = time.perf_counter() - started
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id FROM code_chunks WHERE root_id = %s ORDER BY id", (row.id,))
        ids = [r[0] for r in await cur.fetchall()]
        async with conn.transaction():
            await conn.execute("DROP INDEX IF EXISTS code_chunks_embedding")
            await conn.execute("CREATE TEMP TABLE synthetic (id bigint, v vector(384)) ON COMMIT DROP")
            async with conn.cursor().copy("COPY synthetic (id, v) FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "vector"])
                for start in range(0, len(ids), 5000):
                    block = ids[start : start + 5000]
                    base = seed_vectors[rng.integers(0, len(seed_vectors), len(block))]
                    noisy = base + rng.normal(0, 0.04, base.shape).astype(np.float32)
                    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
                    for chunk_id, vector in zip(block, noisy, strict=True):
                        await copy.write_row((chunk_id, vector))
            await conn.execute("UPDATE code_chunks c SET embedding = s.v FROM synthetic s WHERE c.id = s.id")
            await conn.execute("SELECT set_config('maintenance_work_mem', '1GB', true)")
            await conn.execute(
                "CREATE INDEX code_chunks_embedding ON code_chunks USING hnsw (embedding vector_cosine_ops)"
            )
        await conn.execute("UPDATE code_roots SET state = 'ready', phase = 'done' WHERE id = %s", (row.id,))
    return {"chunks": chunks, "lexical_index_seconds": round(lexical_seconds, 1),
            "synthetic_vectors_and_hnsw_build_seconds": round(time.perf_counter() - started, 1)}  # fmt: skip


# --- main ---------------------------------------------------------------------------------------------


async def run_mcp(args: argparse.Namespace, env: dict[str, str], root: Path, queries: list[Unit],
                  results: dict[str, Any], settings: Settings) -> None:  # fmt: skip
    """Index through a spawned `serve`, then every query as a `semantic_search` call; latency client side."""
    probe = queries[0]
    async with mcp_session(env) as session:
        started = time.perf_counter()
        await call(session, "index_status")  # starts (initdb on first run) the embedded PostgreSQL
        results["database_start_seconds"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        await call(session, "index_codebase", path=str(root), wait_s=0)
        while True:
            data, _ = await call(session, "semantic_search", query=probe.query, scope="code", path=str(root))
            if data["results"]:
                break
            await anyio.sleep(0.05)
        results["first_search_seconds"] = round(time.perf_counter() - started, 2)
        while True:
            status, _ = await call(session, "index_status", path=str(root))
            if status["roots"][0]["state"] == "ready":
                break
            await anyio.sleep(0.2)
        results["dense_fill_in_done_seconds"] = round(time.perf_counter() - started, 2)
        results["index"] = {
            k: status["roots"][0][k] for k in ("files", "chunks", "chunks_embedded", "languages")
        }
        again, took = await call(session, "index_codebase", path=str(root))
        results["no_change_reindex_seconds"] = round(took / 1000, 3)
        assert again["files_indexed"] == 0 and again["vectors_filled"] == 0, again

        for q in queries[:20]:  # warm-up (connection pool, caches)
            await call(session, "semantic_search", query=q.query, scope="code", path=str(root))
        ranks: list[int | None] = []
        latencies = []
        server_ms = []
        for q in queries:
            data, took = await call(
                session, "semantic_search", query=q.query, scope="code", path=str(root), top_k=K
            )
            latencies.append(took)
            server_ms.append(data["took_ms"])
            ranks.append(rank_of(hit_list(data, root), q))
        results["system"] = score_halves(queries, ranks)
        results["latency_ms"] = {"client_p50": pct(latencies, 50), "client_p95": pct(latencies, 95),
                                 "server_p50": pct(server_ms, 50), "server_p95": pct(server_ms, 95),
                                 "load_average": os.getloadavg()}  # fmt: skip
        if args.scale_chunks:  # load the scale root in-process (the server keeps running), query via MCP
            async with asynccontextmanager(Core(settings).run)() as core:
                results["scale"] = await load_scale_root(args, core)
            await run_scale(args, session, queries, results["scale"])


async def run_inprocess(core: Core, root: Path, queries: list[Unit], results: dict[str, Any]) -> None:
    """The same queries through the search API in this process (no MCP spawn): for tuning iterations."""
    from singularity_mcp.search import search_code
    from singularity_mcp.search._indexer import index_repository

    pool = (await core.database()).pool
    started = time.perf_counter()
    await index_repository(pool, root, core.embedder)
    results["index_seconds"] = round(time.perf_counter() - started, 2)
    ranks: list[int | None] = []
    latencies = []
    for q in queries:
        began = time.perf_counter()
        found = await search_code(pool, core.embedder, q.query, path=root, top_k=K)
        latencies.append((time.perf_counter() - began) * 1000)
        hits = [(Path(h.path).relative_to(root).as_posix(), h.start_line, h.end_line) for h in found.results]
        ranks.append(rank_of(hits, q))
    results["system"] = score_halves(queries, ranks)
    results["latency_ms"] = {"inprocess_p50": pct(latencies, 50), "inprocess_p95": pct(latencies, 95),
                             "load_average": os.getloadavg()}  # fmt: skip


async def run_scale(
    args: argparse.Namespace, session: ClientSession, queries: list[Unit], out: dict[str, Any]
) -> None:
    work = Path(args.work).resolve()  # noqa: ASYNC240
    scale_root = (work / "scale").resolve()
    sample = random.Random(3).sample(queries, min(200, len(queries)))
    for label, path in [("scale_root_filtered", str(scale_root)), ("all_roots", None)]:
        extra = {"path": path} if path else {}
        for q in sample[:10]:
            await call(session, "semantic_search", query=q.query, scope="code", **extra)
        took_all = []
        for q in sample:
            _, took = await call(session, "semantic_search", query=q.query, scope="code", top_k=K, **extra)
            took_all.append(took)
        out[label] = {"queries": len(sample), "client_p50_ms": pct(took_all, 50),
                      "client_p95_ms": pct(took_all, 95)}  # fmt: skip
    took_lang = []
    for q in sample[:100]:
        _, took = await call(
            session, "semantic_search", query=q.query, scope="code", path=str(scale_root / "pkg3"),
            language="python",
        )  # fmt: skip
        took_lang.append(took)
    out["subfolder_and_language_filter"] = {
        "queries": len(took_lang), "client_p50_ms": pct(took_lang, 50), "client_p95_ms": pct(took_lang, 95)}  # fmt: skip


async def load_scale_root(args: argparse.Namespace, core: Core) -> dict[str, Any]:
    work = Path(args.work).resolve()  # noqa: ASYNC240
    scale_root = work / "scale"
    per_file = 10
    if not scale_root.exists():
        make_scale_repo(scale_root, -(-args.scale_chunks // per_file), per_file)
    pool = (await core.database()).pool
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT embedding FROM code_chunks WHERE embedding IS NOT NULL LIMIT 2000")
        seeds = np.stack(
            [r[0].to_numpy() if hasattr(r[0], "to_numpy") else np.asarray(r[0]) for r in await cur.fetchall()]
        )
    return await load_scale(core, scale_root.resolve(), seeds)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.work).resolve()  # noqa: ASYNC240
    root, units = build_corpus(work)
    halves = HALVES if args.half == "both" else (args.half,)
    queries = [u for u in units if u.query and u.half in halves]
    data_dir = work / "data"
    if not args.reuse and data_dir.exists():
        shutil.rmtree(data_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SINGULARITY_", "ANTHROPIC_"))}
    env.update(SINGULARITY_DATA_DIR=str(data_dir), SINGULARITY_MODEL_DIR=str(args.model_dir),
               SINGULARITY_LOG_LEVEL="WARNING")  # fmt: skip
    results: dict[str, Any] = {
        "command": " ".join(sys.argv),
        "corpus": {
            "files": sum(1 for p in root.rglob("*") if p.is_file()),
            "units": len(units),
            "projects": sorted({"/".join(u.path.split("/")[:2]) + f" ({u.half})" for u in units}),
            "queries": {
                half: {
                    lang: sum(1 for q in queries if q.language == lang and q.half == half)
                    for lang in LANGUAGES
                }
                for half in halves
            },
        },
        "machine": f"{os.cpu_count()} CPU cores shared with other engineers' builds and tests (timings are noisy)",
    }
    settings = Settings(data_dir=data_dir, model_dir=Path(args.model_dir), database_url=None)
    if args.mode == "mcp":
        await run_mcp(args, env, root, queries, results, settings)
    async with asynccontextmanager(Core(settings).run)() as core:
        if args.mode == "inprocess":
            await run_inprocess(core, root, queries, results)
        results["baselines"] = await run_baselines(core, units, queries, work)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", default="/tmp/search-bench")
    parser.add_argument(
        "--model-dir", default=str(Path.home() / ".cache" / "singularity-mcp-test" / "models")
    )
    parser.add_argument(
        "--half",
        choices=["dev", "test", "both"],
        default="both",
        help="which half's queries to run (dev: tune on it; test: only report)",
    )
    parser.add_argument(
        "--mode",
        choices=["mcp", "inprocess"],
        default="mcp",
        help="mcp: a spawned server over stdio (reported figures); inprocess: the search API",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the data directory (a built index) from an earlier run under --work",
    )
    parser.add_argument("--scale-chunks", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results.json"))
    args = parser.parse_args()
    output = anyio.run(main, args)
    Path(args.out).write_text(json.dumps(output, indent=2) + "\n")
    print(json.dumps(output, indent=2))
