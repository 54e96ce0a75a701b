"""Latency of find_symbol / find_references on one indexed corpus: the API alone, then through MCP (the
SDK's in-memory client on the real server). Run after bench_symbols.py (it reuses its data directory).

    python benchmarks/symbols/latency.py --work /tmp/symbols-bench [--corpus yaml.v3] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from singularity_mcp.config import Settings
from singularity_mcp.core import Core

NAMES = ["yaml_parser_t", "Unmarshal", "Node", "decoder", "yaml_emitter_emit", "resolve", "Kind", "fail",
         "Encoder", "parse"]  # fmt: skip


async def main(args: argparse.Namespace) -> None:
    from mcp import Client

    from singularity_mcp.search import find_references, find_symbol
    from singularity_mcp.server import build_server

    settings = Settings(data_dir=Path(args.work) / "data", model_dir=Path(args.model_dir), database_url=None)
    root = str(Path(args.work) / "corpus" / args.corpus)
    print(f"load average at start: {os.getloadavg()}")
    async with asynccontextmanager(Core(settings).run)() as core:
        for fn in (find_symbol, find_references):
            times = []
            for _ in range(args.rounds):
                for name in NAMES:
                    started = time.perf_counter()
                    await fn(core, name, path=root)
                    times.append((time.perf_counter() - started) * 1000)
            print(f"api {fn.__name__}: p50 {statistics.median(times):.2f} ms over {len(times)} calls")
    async with Client(build_server(settings)) as client:
        for tool in ("find_symbol", "find_references"):
            times = []
            for _ in range(args.rounds):
                for name in NAMES:
                    started = time.perf_counter()
                    await client.call_tool(tool, {"name": name, "path": root})
                    times.append((time.perf_counter() - started) * 1000)
            print(f"mcp {tool}: p50 {statistics.median(times):.2f} ms over {len(times)} calls")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", default="/tmp/symbols-bench")
    parser.add_argument("--corpus", default="yaml.v3")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--model-dir", default=str(Path.home() / ".cache" / "singularity-mcp-test" / "models")
    )
    anyio.run(main, parser.parse_args())
