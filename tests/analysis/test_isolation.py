"""A slow analysis runs in a worker process under a budget: the server keeps answering meanwhile."""

from __future__ import annotations

import time

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from singularity_mcp.analysis import MAX_NESTING, analyze_source_isolated
from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.errors import InvalidInput
from singularity_mcp.tools import analysis

pytestmark = pytest.mark.anyio

# 120 statements nested 1,900 brackets deep (under MAX_NESTING), ~460 KB: each of tree-sitter's two query
# passes is one C call of a few seconds holding the GIL, which in a thread freezes the event loop throughout.
SLOW_JS = ("x = " + "(" * 1900 + ")" * 1900 + ";\n") * 120


def _analysis_server(settings: Settings) -> MCPServer:
    server = MCPServer("analysis-only")
    analysis.register(server, Core(settings))
    return server


async def test_tools_list_answers_while_a_slow_analysis_runs(settings: Settings) -> None:
    latencies: list[float] = []
    async with Client(_analysis_server(settings)) as client:
        await client.list_tools()
        outcome: dict = {}

        async def analyze() -> None:
            started = time.perf_counter()
            outcome["result"] = await client.call_tool(
                "analyze_code", {"content": SLOW_JS, "language": "javascript"}
            )
            outcome["seconds"] = time.perf_counter() - started

        async with anyio.create_task_group() as task_group:
            task_group.start_soon(analyze)
            while "result" not in outcome:
                # A tools/list plus a 20 ms pause, timed together: a frozen event loop shows up here
                # whether it strikes during the request or during the pause.
                started = time.perf_counter()
                await client.list_tools()
                await anyio.sleep(0.02)
                latencies.append(time.perf_counter() - started - 0.02)
    result = outcome["result"]
    assert not result.is_error, result.content[0].text
    assert result.structured_content["language"] == "javascript"
    assert outcome["seconds"] > 1.0  # the analysis was long enough to matter
    assert len(latencies) > 10
    # ~100 ms is the target; allow for a loaded 2-core CI machine (in a thread the worst gap is seconds).
    worst = max(latencies)
    print(
        f"tools/list during a {outcome['seconds']:.1f}s analysis: {len(latencies)} calls, worst {worst * 1000:.0f} ms"
    )
    assert worst < 1.0


async def test_the_budget_stops_a_long_analysis() -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidInput, match=r"took longer than 0\.3s"):
        await analyze_source_isolated(SLOW_JS, "javascript", budget_s=0.3)
    assert time.perf_counter() - started < 5


async def test_deeply_nested_code_is_refused_at_once(settings: Settings) -> None:
    nested = "x = " + "(" * 70_000 + ")" * 70_000  # 140 KB: took ~58 s and stalled the server before
    async with Client(_analysis_server(settings)) as client:
        started = time.perf_counter()
        result = await client.call_tool("analyze_code", {"content": nested, "language": "javascript"})
        assert time.perf_counter() - started < 10
    assert result.is_error
    message = result.content[0].text
    assert "70000 levels deep" in message and str(MAX_NESTING) in message
    assert len(message) < 300


def test_indexing_chunks_deeply_nested_code_as_text_quickly() -> None:
    from singularity_mcp.analysis import chunk_source

    nested = "x = " + "(" * 70_000 + ")" * 70_000 + "\n"
    started = time.perf_counter()
    chunks = chunk_source(nested, "javascript", "generated.js")
    assert time.perf_counter() - started < 2
    assert chunks and all(c.kind == "text" for c in chunks)
    (normal,) = chunk_source("function f(a) {\n  return a;\n}\n", "javascript", "f.js")
    assert normal.symbol == "f"
