"""Does onnxruntime's spin-waiting cost CPU per chunk on a shared machine? Embeds the same 320 chunks of a
corpus with `session.intra_op.allow_spinning` on (the default) and off, alternating, 4 passes each, and
prints wall and CPU seconds per chunk with the CPU share probed before each pass.

    python benchmarks/indexing/spinning.py CORPUS

The model is loaded from SINGULARITY_MODEL_DIR (default: the test cache).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import onnxruntime as ort

from singularity_mcp.config import Settings
from singularity_mcp.embedding import load_embedder
from singularity_mcp.embedding._providers import ProviderPlan
from singularity_mcp.search._cpu import probe_share

CHUNKS = 320


def session_factory(spin: bool) -> Callable[[Path, ProviderPlan, int], Any]:
    def create(path: Path, plan: ProviderPlan, threads: int) -> Any:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        return ort.InferenceSession(str(path), options, providers=list(plan.providers))

    return create


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpus", type=Path)
    args = parser.parse_args()
    default_models = Path.home() / ".cache" / "singularity-mcp-test" / "models"
    model_dir = Path(os.environ.get("SINGULARITY_MODEL_DIR") or default_models)
    settings = Settings(model_dir=model_dir, data_dir=Path(tempfile.mkdtemp(prefix="spinning-")))
    texts: list[str] = []
    for path in sorted(args.corpus.rglob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        texts += [text[i : i + 900] for i in range(0, len(text), 900)]
    texts = texts[:CHUNKS]
    embedders = {
        spin: load_embedder(settings, session_factory=session_factory(spin)) for spin in (True, False)
    }
    for embedder in embedders.values():
        embedder.embed_sync(texts[:32])  # warm up
    rows = []
    for round_ in range(4):
        for spin in (True, False) if round_ % 2 == 0 else (False, True):
            share = probe_share(2, 0.3)
            wall, cpu = time.monotonic(), time.process_time()
            embedders[spin].embed_sync(texts)
            wall, cpu = time.monotonic() - wall, time.process_time() - cpu
            row = {
                "spin": spin,
                "wall": round(wall, 2),
                "cpu": round(cpu, 2),
                "share_got": round(cpu / wall, 2),
                "share_probed": round(share, 2),
                "load": round(os.getloadavg()[0], 2),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    for spin in (True, False):
        mine = [r for r in rows if r["spin"] == spin]
        wall = sum(r["wall"] for r in mine) / (len(mine) * len(texts))
        cpu = sum(r["cpu"] for r in mine) / (len(mine) * len(texts))
        print(f"spinning {'on ' if spin else 'off'}: {wall:.4f} s wall, {cpu:.4f} s CPU per chunk")


if __name__ == "__main__":
    main()
