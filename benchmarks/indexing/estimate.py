"""How true are the index estimates? Index corpora from an empty database and compare what was promised
(the pre-flight estimate, and the live ETA at 25/50/75 % of the run) with what it took.

    python benchmarks/indexing/estimate.py CORPUS [CORPUS ...] [--rates FILE] [--json OUT]

Each corpus is indexed in a fresh data dir (empty embedding cache, embedded PostgreSQL), so every chunk is
embedded. `--rates FILE` is the rates file: missing at first (the defaults apply), then updated by each run
as the server would, so the second corpus is estimated from what the first one measured on this machine.
The model is loaded from SINGULARITY_MODEL_DIR (default: the test cache).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.search import CodeIndexer


async def index_once(corpus: Path, rates_path: Path, model_dir: Path) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="estimate-"))
    settings = Settings(data_dir=data_dir, model_dir=model_dir, database_url=None)
    try:
        async with asynccontextmanager(Core(settings).run)() as core:
            database = await core.database()
            indexer = CodeIndexer(database.pool, core.embedder, rates_path)
            run, _ = indexer.begin(corpus)  # resolved by main()
            samples: list[tuple[float, float | None, str]] = []
            started = time.monotonic()
            async with anyio.create_task_group() as tg:
                tg.start_soon(indexer.execute, run)
                while not run.finished.is_set():
                    p = run.progress
                    samples.append((time.monotonic() - started, p.eta_seconds, p.phase))
                    await run.wait_change(1.0)
            total = time.monotonic() - started
            result, preflight, measured = run.result, run.preflight, run.measured
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    assert result is not None and preflight is not None
    live = {}
    for share in (0.25, 0.5, 0.75):
        at = [s for s in samples if s[0] >= share * total and s[1] is not None]
        if at:
            elapsed, eta, phase = at[0]
            live[f"{int(share * 100)}%"] = {
                "elapsed": round(elapsed, 1),
                "eta": eta,
                "phase": phase,
                "predicted_total": round(elapsed + eta, 1),
                "error": round((elapsed + eta) / total - 1, 3),
            }
    embed_seconds = total - measured.parse_seconds
    return {
        "corpus": str(corpus),
        "files": result.files_indexed,
        "source_bytes": measured.bytes_total,
        "chunks": result.chunks,
        "embedded_text_bytes": measured.embed_bytes_total,
        "basis": preflight.estimate_basis,
        "estimated": preflight.estimated_seconds,
        "estimated_parse": preflight.estimated_parse_seconds,
        "estimated_embed": preflight.estimated_embed_seconds,
        "actual": round(total, 1),
        "actual_parse": round(measured.parse_seconds, 1),
        "actual_embed_incl_model_load": round(embed_seconds, 1),
        "error": round(preflight.estimated_seconds / total - 1, 3),
        "live": live,
        "load_average": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpora", nargs="+", type=Path)
    parser.add_argument("--rates", type=Path, default=Path(tempfile.gettempdir()) / "estimate-rates.json")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    default_models = Path.home() / ".cache" / "singularity-mcp-test" / "models"
    model_dir = Path(os.environ.get("SINGULARITY_MODEL_DIR") or default_models)
    rows = []
    for corpus in args.corpora:
        row = anyio.run(index_once, corpus.resolve(), args.rates, model_dir)
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"\n{'corpus':40} {'chunks':>6} {'estimate':>9} {'actual':>8} {'error':>7}  basis")
    for row in rows:
        print(
            f"{Path(row['corpus']).name:40} {row['chunks']:>6} {row['estimated']:>8.1f}s {row['actual']:>7.1f}s "
            f"{row['error']:>+7.0%}  {row['basis'][:40]}"
        )


if __name__ == "__main__":
    main()
