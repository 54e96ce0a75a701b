"""Fuzz campaign: hypothesis-generated hostile arguments for every tool, through the SDK's in-memory client.

The same generators and outcome classes as `tests/faults/test_fuzz.py` (see `tests/faults/fuzzing.py`),
with more examples, a random seed, and a fresh data directory. Prints the counts per outcome and tool:

    python benchmarks/faults/fuzz.py --examples 2000 [--seed 7] [--json out.json]

Exit status 1 when any call crashed, hung or left the server unresponsive.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.conftest import make_settings  # noqa: E402
from tests.faults.fuzzing import (  # noqa: E402
    HUGE,
    Counts,
    fuzz_client,
    fuzz_folder,
    fuzz_settings,
    hostile_values,
    tool_arguments,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=1000, help="random calls (plus the hostile matrix)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the counts here")
    args = parser.parse_args()

    counts = Counts()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="singularity-fuzz-") as tmp:
        base = Path(tmp)
        root = fuzz_folder(base)
        with fuzz_client(fuzz_settings(make_settings(base / "data"), root)) as client:
            # 1. every hostile value in every argument of every tool
            for name, tool in sorted(client.tools.items()):
                for prop in tool.input_schema.get("properties", {}):
                    for value in hostile_values(root):
                        client.call(name, {prop: value}, counts)

            # the 5 MB query of issue 14 (12.5 s and +750 MB before): time and memory of 20 such calls
            process = psutil.Process()
            rss_before = process.memory_info().rss
            big_started = time.perf_counter()
            for _ in range(20):
                client.call("semantic_search", {"query": "find " + HUGE}, counts)
            big_ms = (time.perf_counter() - big_started) * 1000 / 20
            rss_growth_mb = (process.memory_info().rss - rss_before) / 2**20
            matrix = counts.calls

            # 2. random calls drawn from each tool's schema
            @settings(
                max_examples=args.examples,
                deadline=None,
                database=None,
                derandomize=False,
                suppress_health_check=list(HealthCheck),
            )
            @given(data=st.data())
            def campaign(data: st.DataObject) -> None:
                tool = data.draw(st.sampled_from(sorted(client.tools)))
                client.call(tool, data.draw(tool_arguments(client.tools[tool], root)), counts)

            if args.seed is not None:
                from hypothesis import seed

                campaign = seed(args.seed)(campaign)
            campaign()
    seconds = time.perf_counter() - started
    report = {
        "calls": counts.calls,
        "hostile_matrix_calls": matrix,
        "random_calls": counts.calls - matrix,
        "outcomes": dict(counts.outcomes),
        "per_tool": {k: dict(v) for k, v in sorted(counts.per_tool.items())},
        "slowest_call_s": round(counts.slowest_s, 2),
        "slowest_call": counts.slowest_call,
        "five_mb_query_ms": round(big_ms, 1),
        "five_mb_query_rss_growth_mb": round(rss_growth_mb, 1),
        "seconds": round(seconds, 1),
        "load_average": os.getloadavg(),
        "problems": counts.problems,
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    bad = sum(counts.outcomes[k] for k in ("crash", "hang", "unresponsive"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
