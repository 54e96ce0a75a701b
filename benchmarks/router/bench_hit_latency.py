"""Cache-hit latency of `ask_agent` through MCP (the SDK's in-memory client, `mcp.Client(server)`).

The first prompt of every paraphrase pair in `fresh_pairs.py` is answered once through the plain API
with a mock Messages API (so it is cached); then a fresh server is started on the same data directory
and every second prompt is asked through MCP twice (the first time its embedding is computed, the
second time it comes from the embedding cache), and every first prompt once more (an exact repeat: no
embedding). Reports p50/p95 of the tool call's wall time and of the answer's `latency_ms`, per path.

    python benchmarks/router/bench_hit_latency.py [--model-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import numpy as np
from mcp import Client
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_router import MockMessagesAPI
from fresh_pairs import PAIRS, is_paraphrase

from singularity_mcp.agent import LLMClient, ask
from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.server import build_server

TASK = "latency"


def _summary(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50_ms": round(float(np.percentile(values, 50)), 2),
            "p95_ms": round(float(np.percentile(values, 95)), 2)} if values else {"n": 0}  # fmt: skip


async def main(args: argparse.Namespace) -> None:
    pairs = [(a, b) for kind, items in PAIRS.items() if is_paraphrase(kind) for a, b in items]
    with tempfile.TemporaryDirectory(prefix="bench-hit-") as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=None, model_dir=args.model_dir)
        keyed = settings.model_copy(
            update={"anthropic_api_key": SecretStr("bench"), "agent_llm_max_retries": 0}
        )
        api = MockMessagesAPI()
        llm = LLMClient(keyed, http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(api.handler)))
        async with asynccontextmanager(Core(keyed).run)() as core:
            for a, _ in pairs:
                await ask(core, a, task_type=TASK, llm=llm)
        paths: dict[str, dict[str, list[float]]] = {}
        async with Client(build_server(settings)) as client:
            await client.call_tool("ask_agent", {"prompt": pairs[0][0], "task_type": TASK})  # warm-up
            for label, prompts in (("paraphrase, new embedding", [b for _, b in pairs]),
                                   ("paraphrase, embedding cached", [b for _, b in pairs]),
                                   ("exact repeat", [a for a, _ in pairs])):  # fmt: skip
                for prompt in prompts:
                    started = time.perf_counter()
                    result = await client.call_tool(
                        "ask_agent", {"prompt": prompt, "task_type": TASK, "use_llm": False}
                    )
                    wall = (time.perf_counter() - started) * 1000
                    answer = result.structured_content
                    if answer["source"] != "cache":
                        continue
                    entry = paths.setdefault(label, {"wall": [], "latency": []})
                    entry["wall"].append(wall)
                    entry["latency"].append(answer["latency_ms"])
    report = {
        "load_average": os.getloadavg(),
        "paths": {
            label: {"mcp_call": _summary(v["wall"]), "answer_latency_ms": _summary(v["latency"])}
            for label, v in paths.items()
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model-dir", type=Path, default=Path.home() / ".cache" / "singularity-mcp-test" / "models"
    )
    anyio.run(main, parser.parse_args())
