"""Knowledge base benchmark: artifact counts, import times, and retrieval quality on 20 hand-written queries.

    python benchmarks/knowledge/bench_knowledge.py [--json out.json]

Runs against a temporary data directory (its own embedded PostgreSQL). The embedding model comes from
SINGULARITY_MODEL_DIR, or the test suite's build in ~/.cache/singularity-mcp-test/models.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from collections import Counter
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.knowledge import _search, import_artifacts, load_artifact_files, search_knowledge
from singularity_mcp.knowledge._files import default_folder

# (query, the artifact a person asking it should get). Written to sound like questions, not titles.
QUERIES: list[tuple[str, str]] = [
    ("how to stop a tokio server cleanly on SIGTERM", "rust-tokio-graceful-shutdown"),
    ("my Django list view makes hundreds of database queries", "python-django-n-plus-one"),
    ("limit how many goroutines process jobs at once and stop on first error", "go-worker-pool-context"),
    ("react hook that cancels the request when the component unmounts", "typescript-react-custom-hook-fetch"),
    ("express async route errors should become JSON 500 responses", "javascript-express-error-middleware"),
    ("reconnect to an external service with backoff from an elixir process", "elixir-genserver-backoff"),
    ("roll back both account updates if a money transfer fails in spring", "java-spring-transactions"),
    (
        "share a database session per request in fastapi and override it in tests",
        "python-fastapi-dependencies",
    ),
    ("publish events reliably only after the database commit", "python-transactional-outbox"),
    ("background job queue in postgres without a message broker", "sql-postgres-skip-locked-queue"),
    ("reset my branch to before the commit I just made", "rule-git-undo-last-commit"),
    ("is it ok to store prices as double", "rule-float-money"),
    ("status code when the user is logged in but lacks permission", "rule-http-401-vs-403"),
    ("checklist for auditing our API for vulnerabilities", "security-review"),
    ("steps to move our data to a new database without downtime", "migration"),
    ("the endpoint got slow, p99 latency doubled after the release", "performance-investigation"),
    ("go conventions for wrapping and checking errors", "standard-go"),
    ("kotlin rules for null safety and coroutines", "standard-kotlin"),
    ("generate random inputs to find edge cases in my parser", "python-hypothesis-property-tests"),
    ("instructions for an assistant that reviews pull requests", "prompt-reviewer"),
]

# Identifier-style queries (what people paste from code): where the full-text part should help.
IDENTIFIER_QUERIES: list[tuple[str, str]] = [
    ("select_related prefetch_related", "python-django-n-plus-one"),
    ("FOR UPDATE SKIP LOCKED", "sql-postgres-skip-locked-queue"),
    ("errgroup.WithContext", "go-worker-pool-context"),
    ("ValidateOnStart", "csharp-options-pattern"),
    ("TransactionalEventListener AFTER_COMMIT", "java-spring-transactions"),
    ("CancellationToken child_token JoinSet", "rust-tokio-graceful-shutdown"),
    ("setupServer onUnhandledRequest", "typescript-vitest-msw"),
    ("Multi.run Repo.transaction", "elixir-ecto-multi"),
]


def model_dir() -> Path:
    configured = os.environ.get("SINGULARITY_MODEL_DIR")
    if configured:
        return Path(configured)
    root = os.environ.get("SINGULARITY_TEST_CACHE") or Path.home() / ".cache" / "singularity-mcp-test"
    return Path(root) / "models"


async def ranks(core: Core, queries: list[tuple[str, str]]) -> list[dict]:
    rows = []
    for query, expected in queries:
        started = time.perf_counter()
        hits = await search_knowledge(core, query, top_k=10)
        took = (time.perf_counter() - started) * 1000
        ids = [h.artifact_id for h in hits]
        rank = ids.index(expected) + 1 if expected in ids else None
        rows.append({"query": query, "expected": expected, "rank": rank, "top": ids[0], "ms": round(took, 1)})
    return rows


def summary(rows: list[dict]) -> dict:
    n = len(rows)
    return {
        "top1": sum(r["rank"] == 1 for r in rows),
        "top3": sum(r["rank"] is not None and r["rank"] <= 3 for r in rows),
        "top10": sum(r["rank"] is not None for r in rows),
        "mrr": round(sum(1 / r["rank"] for r in rows if r["rank"]) / n, 3),
        "queries": n,
    }


async def main() -> dict:
    artifacts = load_artifact_files()
    counts = dict(sorted(Counter(a.artifact_type for a in artifacts).items()))
    data_dir = Path(tempfile.mkdtemp(prefix="kb-bench-"))
    try:
        settings = Settings(
            data_dir=data_dir, database_url=None, anthropic_api_key=None, model_dir=model_dir()
        )
        async with asynccontextmanager(Core(settings).run)() as core:
            t = time.perf_counter()
            await core.database()
            db_s = time.perf_counter() - t
            t = time.perf_counter()
            await core.embedder()
            model_s = time.perf_counter() - t

            first = await import_artifacts(core)
            second = await import_artifacts(core)
            copy = data_dir / "kb"
            shutil.copytree(default_folder(), copy, ignore=shutil.ignore_patterns("learned"))
            await import_artifacts(core, copy)  # same texts, same rows: nothing to do
            edited = copy / "rule" / "rule-git-squash.json"
            doc = json.loads(edited.read_text())
            doc["summary"] += " Works for any branch."
            edited.write_text(json.dumps(doc))
            one = await import_artifacts(core, copy)

            hybrid = await ranks(core, QUERIES)
            hybrid_ids = await ranks(core, IDENTIFIER_QUERIES)
            # ablation: the weight of the full-text part inside `similarity` (0 = dense only)
            sweep = {}
            saved = _search.W_COSINE, _search.W_LEXICAL
            try:
                for w in (0.0, 0.1, 0.2, 0.3, 0.5):
                    _search.W_COSINE, _search.W_LEXICAL = 1.0 - w, w
                    sweep[w] = (await ranks(core, QUERIES), await ranks(core, IDENTIFIER_QUERIES))
            finally:
                _search.W_COSINE, _search.W_LEXICAL = saved
            dense, dense_ids = sweep[0.0]
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    result = {
        "counts": counts,
        "total": sum(counts.values()),
        "start_database_s": round(db_s, 2),
        "load_model_s": round(model_s, 2),
        "import_first": first.model_dump(exclude={"changed_ids", "folder"}),
        "import_unchanged": second.model_dump(exclude={"changed_ids", "folder"}),
        "import_one_edit": one.model_dump(exclude={"changed_ids", "folder"}),
        "hybrid": summary(hybrid),
        "weights": {"cosine": saved[0], "lexical": saved[1]},
        "dense_only": summary(dense),
        "search_ms_median": statistics.median(r["ms"] for r in hybrid),
        "identifiers_hybrid": summary(hybrid_ids),
        "lexical_weight_sweep": {
            str(w): {"questions": summary(q), "identifiers": summary(i)} for w, (q, i) in sweep.items()
        },
        "identifiers_dense_only": summary(dense_ids),
        "queries": [{**h, "dense_rank": d["rank"]} for h, d in zip(hybrid, dense, strict=True)],
        "identifier_queries": [
            {**h, "dense_rank": d["rank"]} for h, d in zip(hybrid_ids, dense_ids, strict=True)
        ],
    }
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    figures = anyio.run(main)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
