"""Shutdown and stall figures for `serve`: exit time per stop signal, database stop after SIGKILL,
and `tools/list` latency while a slow `analyze_code` runs.

    python benchmarks/lifecycle/measure.py --runs 3

Each run spawns `python -m singularity_mcp serve` on one fresh data dir (its only holder of the embedded
PostgreSQL, so an orderly exit includes stopping it), waits until the server has joined the database,
stops it and times the exit. The stall figure runs `analyze_code` on ~460 KB of JavaScript nested 1,900
brackets deep (two tree-sitter query passes of seconds each) through the in-memory MCP client and times
`tools/list` calls meanwhile.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.conftest import make_settings
from tests.foundation.rawserve import RawServer, holders, postmaster_running, wait_until

STOPS = ["SIGTERM", "SIGINT", "SIGHUP", "end of input"]


def _one_stop(settings, stop: str, logs: Path, settle_s: float) -> float:
    server = RawServer(settings, logs / "stderr", SINGULARITY_LOG_LEVEL="WARNING")
    try:
        server.initialize()
        wait_until(lambda: server.process.pid in holders(settings.pgdata), 120, "database joined")
        time.sleep(settle_s)
        server.request("tools/list", {}, 2)
        if stop == "end of input":
            server.process.stdin.close()
        else:
            server.process.send_signal(getattr(signal, stop))
        code, seconds = server.wait(timeout=60)
        assert code == 0, server.stderr()[-2000:]
        assert "Traceback" not in server.stderr()
        return seconds
    finally:
        server.close()


def _sigkill(settings, logs: Path) -> float:
    server = RawServer(settings, logs / "stderr", SINGULARITY_LOG_LEVEL="WARNING")
    try:
        server.initialize()
        wait_until(lambda: server.process.pid in holders(settings.pgdata), 120, "database joined")
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        return wait_until(lambda: not postmaster_running(settings.pgdata), 60, "database stopped", step=0.05)
    finally:
        server.close()


async def _stall(settings) -> tuple[float, list[float]]:
    from mcp import Client
    from mcp.server.mcpserver import MCPServer

    from singularity_mcp.core import Core
    from singularity_mcp.tools import analysis

    server = MCPServer("analysis-only")
    analysis.register(server, Core(settings))
    slow = ("x = " + "(" * 1900 + ")" * 1900 + ";\n") * 120
    latencies: list[float] = []
    async with Client(server) as client:
        await client.list_tools()
        done: dict[str, float] = {}

        async def analyze() -> None:
            started = time.perf_counter()
            await client.call_tool("analyze_code", {"content": slow, "language": "javascript"})
            done["seconds"] = time.perf_counter() - started

        async with anyio.create_task_group() as task_group:
            task_group.start_soon(analyze)
            while "seconds" not in done:
                started = time.perf_counter()
                await client.list_tools()
                await anyio.sleep(0.02)
                latencies.append(time.perf_counter() - started - 0.02)
    return done["seconds"], latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--settle", type=float, default=0.5, help="seconds between joining the database and the stop"
    )
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(Path(tmp) / "data")
        logs = Path(tmp)
        for stop in STOPS:
            times = [_one_stop(settings, stop, logs, args.settle) for _ in range(args.runs)]
            print(
                f"{stop:>13}: exit median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"
            )
        killed = [_sigkill(settings, logs) for _ in range(args.runs)]
        print(
            f"      SIGKILL: PostgreSQL stopped after median {statistics.median(killed):.1f} s, "
            f"max {max(killed):.1f} s"
        )
        seconds, latencies = anyio.run(_stall, settings)
        latencies.sort()
        print(
            f"tools/list during a {seconds:.1f} s analysis: {len(latencies)} calls, "
            f"median {statistics.median(latencies) * 1000:.0f} ms, "
            f"p95 {latencies[int(len(latencies) * 0.95)] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
        )
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
