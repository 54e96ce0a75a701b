"""How true are the index estimates? Index corpora from an empty database and compare what was promised
(the pre-flight estimate, and the live ETA at 25/50/75 % of the run) with what it took.

    python benchmarks/indexing/estimate.py CORPUS [CORPUS ...] [--rates FILE] [--json OUT] [--append OUT]

Each corpus is indexed in a fresh data dir (empty embedding cache, embedded PostgreSQL), so every chunk is
embedded. `--rates FILE` is the rates file: missing at first (the defaults apply), then updated by each run
as the server would, so the second corpus is estimated from what the first one measured on this machine.
Beside it, `FILE.wall.json` keeps the previous model's state (wall-clock rates, averaged with weight 0.5,
not scaled to the load), so each row also says what that model would have promised for the same run.
Each row records the load: the 1-minute load average before and during the run, the CPU share the
estimate's probe measured, and the share the embedding really got (its CPU time over its wall time).
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
from singularity_mcp.search._cpu import CpuNow


async def index_once(corpus: Path, rates_path: Path, model_dir: Path) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="estimate-"))
    settings = Settings(data_dir=data_dir, model_dir=model_dir, database_url=None)
    try:
        async with asynccontextmanager(Core(settings).run)() as core:
            database = await core.database()
            indexer = CodeIndexer(database.pool, core.embedder, rates_path)
            # For the record (replay.py compares models on it): the share a half-second probe reads now.
            cpu = await anyio.to_thread.run_sync(CpuNow.measure, 2)
            run, _ = indexer.begin(corpus)  # resolved by main()
            samples: list[tuple[float, float | None, str]] = []
            loads: list[tuple[float, float, int]] = []  # 1-min load average, runnable tasks now
            load_before = os.getloadavg()
            started = time.monotonic()
            async with anyio.create_task_group() as tg:
                tg.start_soon(indexer.execute, run)
                while not run.finished.is_set():
                    p = run.progress
                    samples.append((time.monotonic() - started, p.eta_seconds, p.phase))
                    loads.append((time.monotonic() - started, os.getloadavg()[0], _runnable()))
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
        "load_before": load_before,
        "load_during": round(sum(x[1] for x in loads) / max(1, len(loads)), 2),
        "runnable_during": round(sum(x[2] for x in loads) / max(1, len(loads)), 2),
        "parse_wall": round(measured.parse_seconds, 2),
        "parse_cpu": round(measured.parse_cpu_seconds, 2),
        "embed_wall": round(measured.embed_seconds, 2),
        "embed_cpu": round(measured.embed_cpu_seconds, 2),
        "embedded_by_model": measured.embedded_by_model,
        "model_load_s": measured.model_load_s,
        "model_load_cpu_s": measured.model_load_cpu_s,
        "chunked_bytes": measured.chunked_bytes,
        "chunks_written": measured.chunks_written,
        "cpu_count": os.cpu_count(),
        "probe_share": cpu.share if cpu else None,
        "probe_load": cpu.load if cpu else None,
    }


WALL_DEFAULTS = {
    "parse_s_per_mb": 3.0,
    "embed_s_per_chunk": 0.05,
    "bytes_per_chunk": 480.0,
    "model_load_s": 1.5,
}


def wall_estimate(state: dict[str, float], source_bytes: int) -> float:
    """The previous model's estimate: wall-clock rates of earlier runs, whatever the load now."""
    rates = {**WALL_DEFAULTS, **state}
    chunks = source_bytes / rates["bytes_per_chunk"]
    embed = chunks * rates["embed_s_per_chunk"] + rates["model_load_s"]
    return round(source_bytes / 1e6 * rates["parse_s_per_mb"] + embed, 1)


def wall_learn(state: dict[str, float], row: dict[str, Any]) -> dict[str, float]:
    """The previous model's learning: the first measurement replaces the defaults, later ones count half."""
    figures = {
        "parse_s_per_mb": row["parse_wall"] / (row["source_bytes"] / 1e6)
        if row["source_bytes"] >= 100_000
        else None,
        "embed_s_per_chunk": row["embed_wall"] / row["embedded_by_model"]
        if row["embedded_by_model"] >= 128
        else None,
        "bytes_per_chunk": row["chunked_bytes"] / row["chunks_written"]
        if row["chunks_written"] >= 50
        else None,
        "model_load_s": row["model_load_s"],
    }
    first = not state.get("measured_runs")
    out = dict(state)
    for name, new in figures.items():
        if new is not None:
            out[name] = new if first or name not in state else 0.5 * state[name] + 0.5 * new
    out["measured_runs"] = state.get("measured_runs", 0) + (figures["embed_s_per_chunk"] is not None)
    return out


def _runnable() -> int:
    """Tasks running or ready to run right now (Linux; -1 elsewhere), this sampler among them."""
    try:
        return int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return -1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpora", nargs="+", type=Path)
    parser.add_argument("--rates", type=Path, default=Path(tempfile.gettempdir()) / "estimate-rates.json")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--append", type=Path, help="append each row to this JSON-lines file as it ends")
    args = parser.parse_args()
    default_models = Path.home() / ".cache" / "singularity-mcp-test" / "models"
    model_dir = Path(os.environ.get("SINGULARITY_MODEL_DIR") or default_models)
    rows = []
    wall_path = args.rates.with_name(args.rates.name + ".wall.json")
    for corpus in args.corpora:
        wall_state = json.loads(wall_path.read_text()) if wall_path.is_file() else {}
        row = anyio.run(index_once, corpus.resolve(), args.rates, model_dir)
        row["estimated_wall_model"] = wall_estimate(wall_state, row["source_bytes"])
        row["error_wall_model"] = round(row["estimated_wall_model"] / row["actual"] - 1, 3)
        row["embed_share"] = round(row["embed_cpu"] / max(1e-6, row["embed_wall"]), 2)
        wall_path.write_text(json.dumps(wall_learn(wall_state, row)) + "\n")
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.append:
            with args.append.open("a") as out:
                out.write(json.dumps(row) + "\n")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"\n{'corpus':24} {'chunks':>6} {'estimate':>9} {'actual':>8} {'error':>7} {'wall model':>11} "
          f"{'probe':>6} {'got':>5} {'load':>5}")  # fmt: skip
    for row in rows:
        print(
            f"{Path(row['corpus']).name:24} {row['chunks']:>6} {row['estimated']:>8.1f}s {row['actual']:>7.1f}s "
            f"{row['error']:>+7.0%} {row['error_wall_model']:>+11.0%} {row['probe_share'] or 0:>6.2f} "
            f"{row['embed_share']:>5.2f} {row['load_before'][0]:>5.1f}"
        )


if __name__ == "__main__":
    main()
