"""Single-query latency of the embedder with one intra-op thread, two spinning, and two that sleep when
idle (`session.intra_op.allow_spinning`), in blocks of the same queries, repeated. Queries: the first
120 dev-half queries of the search benchmark (doc sentences, median 16 tokens), or any text file.

    python benchmarks/embedding/query_spinning.py [--work /tmp/search-bench | --queries FILE] [--reps 2]

The model is loaded from SINGULARITY_MODEL_DIR (default: the test cache). Give the load average with the
figures: the point of the comparison is a machine where other work competes for the cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "indexing"))
from spinning import session_factory  # the same session options, spinning on or off

from singularity_mcp.config import Settings
from singularity_mcp.embedding import load_embedder


def queries(args: argparse.Namespace) -> list[str]:
    if args.queries:
        return [line.strip() for line in Path(args.queries).read_text().splitlines() if line.strip()][:120]
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "search"))
    from corpus import build_corpus

    _, units = build_corpus(Path(args.work))
    return [u.query for u in units if u.query and u.half == "dev"][:120]


def main(args: argparse.Namespace) -> None:
    texts = queries(args)
    model_dir = Path(
        os.environ.get("SINGULARITY_MODEL_DIR", Path.home() / ".cache/singularity-mcp-test/models")
    )
    embedders = {
        name: load_embedder(
            Settings(model_dir=model_dir, embed_threads=threads, data_dir=Path("/tmp/query-spinning")),
            session_factory=session_factory(spin),
        )
        for name, threads, spin in (("1 thread", 1, False), ("2 threads, spinning", 2, True),
                                    ("2 threads, sleeping", 2, False))
    }  # fmt: skip
    for _ in range(args.reps):
        for name, embedder in embedders.items():
            took = []
            for text in texts:
                started = time.perf_counter()
                embedder.embed_sync([text])
                took.append(1000 * (time.perf_counter() - started))
            time.sleep(0.3)  # the previous block's spinning threads settle
            took.sort()
            print(
                f"{name:22s} p50 {statistics.median(took):6.2f} ms  p95 {took[int(0.95 * len(took))]:6.2f} ms"
                f"  load {os.getloadavg()[0]:.2f}",
                flush=True,
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/search-bench")
    parser.add_argument("--queries")
    parser.add_argument("--reps", type=int, default=2)
    main(parser.parse_args())
