"""What would each estimate model have promised for runs already measured? Replays the rows that
`estimate.py --append FILE` wrote, in their order, each file from an empty history:

- `shipped`: the model in `singularity_mcp.search._rates`, run through its own code: CPU seconds per
  chunk (per MB parsed, per model load) of earlier runs, median of the last 5, divided by the median CPU
  share those runs got (no probe);
- `wall`: the model before December 2026: wall-clock rates of earlier runs (the first replaces the defaults, later
  ones count half), not scaled to the load now;
- `probe`: the same CPU seconds divided by the CPU share a half-second probe measured before the run
  (shipped for a day in December 2026; `_rates.MachineRates.at(cpu)`);
- `loadavg`: the same CPU seconds divided by the share the 1-minute load average implies instead (fair
  shares per thread: `cores * threads / (load + threads)`);
- `probe-wall`: wall seconds times the share probed before each earlier run, median of the last 5,
  divided by the share probed now (no CPU time: the probe at both ends).

    python benchmarks/indexing/replay.py RUNS.jsonl [RUNS.jsonl ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from singularity_mcp.search._cpu import CpuNow
from singularity_mcp.search._rates import MachineRates, RunMeasurement

Row = dict[str, Any]
Model = Callable[[list[Row], Row], float]


def _measurement(row: Row) -> RunMeasurement:
    return RunMeasurement(
        bytes_done=row["source_bytes"],
        parse_cpu_seconds=row["parse_cpu"],
        parse_seconds=row["parse_wall"],
        chunks_written=row["chunks_written"],
        chunked_bytes=row["chunked_bytes"],
        embedded=row["embedded_by_model"],
        embedded_by_model=row["embedded_by_model"],
        embed_cpu_seconds=row["embed_cpu"],
        embed_seconds=row["embed_wall"],
        model_load_cpu_s=row.get("model_load_cpu_s"),
    )


def _cpu(row: Row, share: float | None = None) -> CpuNow:
    probe = row["probe_share"] if share is None else share
    return CpuNow(cores=row["cpu_count"], embed_threads=2, share=probe, load=row["load_before"][0])


def _estimate(machine: MachineRates, cpu: CpuNow | None, row: Row) -> float:
    rates = machine.at(cpu)
    return rates.parse_seconds(row["source_bytes"]) + rates.embed_seconds(
        rates.chunks_in(row["source_bytes"])
    )


def _history(rows: list[Row]) -> MachineRates:
    machine = MachineRates()
    for past in rows:
        machine = machine.learn(_measurement(past))
    return machine


def probe(history: list[Row], row: Row) -> float:
    return _estimate(_history(history), _cpu(row), row)


def _fair_share(row: Row) -> float:
    cores, load, threads = row["cpu_count"], row["load_before"][0], 2
    return min(threads, cores, cores * threads / (max(0.0, load) + threads))


def loadavg(history: list[Row], row: Row) -> float:
    return _estimate(_history(history), _cpu(row, _fair_share(row)), row)


def _usual_share(history: list[Row]) -> float | None:
    shares = [p["embed_cpu"] / p["embed_wall"] for p in history[-5:]]
    return statistics.median(shares) if shares else None


def probe_usual(history: list[Row], row: Row) -> float:
    usual = _usual_share(history)
    share = row["probe_share"] if usual is None else (row["probe_share"] * usual) ** 0.5
    return _estimate(_history(history), _cpu(row, share), row)


def usual(history: list[Row], row: Row) -> float:
    share = _usual_share(history) or row["probe_share"]
    return _estimate(_history(history), _cpu(row, share), row)


def probe_wall(history: list[Row], row: Row) -> float:
    def scaled(values: list[float | None], default: float) -> float:
        known = [v for v in values if v is not None]
        return statistics.median(known[-5:]) if known else default

    embed = scaled(
        [p["embed_wall"] / p["embedded_by_model"] * min(2.0, p["probe_share"]) for p in history], 0.02 * 2
    )
    parse = scaled(
        [p["parse_wall"] / (p["source_bytes"] / 1e6) * min(1.0, p["probe_share"]) for p in history], 1.5
    )
    size = scaled([p["chunked_bytes"] / p["chunks_written"] for p in history], 450.0)
    share = max(0.05, row["probe_share"])
    chunks = row["source_bytes"] / size
    return (
        row["source_bytes"] / 1e6 * parse / min(1.0, share)
        + chunks * embed / min(2.0, share)
        + 1.0 / min(1.0, share)
    )


WALL_DEFAULTS = {"parse": 3.0, "embed": 0.05, "size": 480.0, "load": 1.5}


def wall(history: list[Row], row: Row) -> float:
    rates = dict(WALL_DEFAULTS)
    for i, past in enumerate(history):
        new = {
            "parse": past["parse_wall"] / (past["source_bytes"] / 1e6),
            "embed": past["embed_wall"] / past["embedded_by_model"],
            "size": past["chunked_bytes"] / past["chunks_written"],
            "load": past["model_load_s"],
        }
        for name, value in new.items():
            if value is not None:
                rates[name] = value if i == 0 else 0.5 * rates[name] + 0.5 * value
    chunks = row["source_bytes"] / rates["size"]
    return row["source_bytes"] / 1e6 * rates["parse"] + chunks * rates["embed"] + rates["load"]


def shipped(history: list[Row], row: Row) -> float:
    return _estimate(_history(history), None, row)


MODELS: dict[str, Model] = {
    "shipped": shipped,
    "wall": wall,
    "probe": probe,
    "loadavg": loadavg,
    "probe-wall": probe_wall,
    "probe*usual": probe_usual,
    "usual": usual,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", type=Path)
    args = parser.parse_args()
    errors: dict[str, list[float]] = {name: [] for name in MODELS}
    print(f"{'corpus':16} {'actual':>7} " + " ".join(f"{n:>13}" for n in MODELS) + "  probe   got  load")
    for path in args.runs:
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        rows = [r for r in rows if r.get("probe_share")]
        for i, row in enumerate(rows):
            cells = []
            for name, model in MODELS.items():
                error = model(rows[:i], row) / row["actual"] - 1
                if i:  # the first row of a file is estimated from defaults: not counted
                    errors[name].append(error)
                cells.append(f"{error:>+13.0%}")
            got = row["embed_cpu"] / row["embed_wall"]
            print(
                f"{Path(row['corpus']).name[:16]:16} {row['actual']:>6.1f}s " + " ".join(cells)
                + f"  {row['probe_share']:.2f}  {got:.2f}  {row['load_before'][0]:.1f}"
            )  # fmt: skip
    print("\nwithin ±30 % (rows after the first of each file):")
    for name, values in errors.items():
        hits = sum(abs(e) <= 0.3 for e in values)
        median = statistics.median(abs(e) for e in values) if values else float("nan")
        print(f"  {name:14} {hits}/{len(values)}  median |error| {median:.0%}")


if __name__ == "__main__":
    main()
