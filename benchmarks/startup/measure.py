"""Time from spawning `singularity-mcp serve` (stdio) to `tools/list` answered, through the MCP SDK client.

    python benchmarks/startup/measure.py [--runs 10]

Each run uses a fresh empty data directory, so nothing is warm but the OS file cache.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client


async def one_run() -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as data_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SINGULARITY_")}
        env["SINGULARITY_DATA_DIR"] = data_dir
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "singularity_mcp", "serve"], env=env
        )
        start = time.perf_counter()
        with open(os.devnull, "w") as devnull:  # noqa: ASYNC230
            async with (
                stdio_client(params, errlog=devnull) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                initialized = time.perf_counter() - start
                tools = await session.list_tools()
                listed = time.perf_counter() - start
    return initialized, listed, len(tools.tools)


async def main(runs: int) -> None:
    results = [await one_run() for _ in range(runs)]
    listed = [r[1] * 1000 for r in results]
    print(f"runs={runs} tools={results[-1][2]}")
    print(f"initialize answered: median {statistics.median(r[0] * 1000 for r in results):.0f} ms")
    print(f"tools/list answered: median {statistics.median(listed):.0f} ms, max {max(listed):.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    anyio.run(main, parser.parse_args().runs)
