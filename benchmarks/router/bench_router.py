"""Benchmark of the ask_agent router: cache accuracy on labelled pairs, and a replay workload.

Part 1 (pairs): every first prompt of `pairs.py` is answered once (mock LLM) and cached; then every second
prompt is asked with `use_llm=False`. A cache answer is a true hit when the cached question is the same
question as the asked one (a paraphrase pair, or identical text), otherwise a false hit.
Part 2 (sweep): the same pairs offline: nearest cached prompts by cosine, with and without the guard,
at several thresholds.
Part 3 (replay): a shuffled workload of repeats, paraphrases, near-misses, rule questions and novel
questions through `ask` with a mock Messages API (realistic token counts, instant answers): tier mix,
latency per tier, cost against sending every prompt to the LLM, and false hits in the traffic.

    python benchmarks/router/bench_router.py [--model-dir DIR] [--seed 7]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import numpy as np
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pairs import DIFFERENT, EQUIVALENT, SAME

from singularity_mcp.agent import LLMClient, ask, router_stats
from singularity_mcp.agent._guard import disagreement, normalise, signature
from singularity_mcp.agent._llm import cost_usd, model_for
from singularity_mcp.config import Settings
from singularity_mcp.core import Core

#: Prompts the shipped rules (confidence >= 0.9) answer, phrased the way people ask.
RULE_PROMPTS = [
    "Is it OK to use float for money amounts?",
    "Should I store prices as a double?",
    "How do I squash my last 3 commits?",
    "How do I undo my last commit?",
    "What's the difference between 401 and 403?",
    "Difference between == and === in JavaScript?",
    "What does the caret mean in package.json versions?",
    "Why is time.sleep blocking my asyncio event loop?",
    "Why does a mutable default argument keep its values?",
    "How do I set up a venv for my project?",
    "When should I use String vs &str in Rust?",
    "How do I prevent SQL injection in my queries?",
    "Should I store timestamps with timezone in the database?",
    "Can I use an f-string to build a SQL query?",
]


def _out_tokens(text: str) -> int:
    """A realistic, deterministic answer length: 120 to 620 tokens."""
    return 120 + int(hashlib.sha256(text.encode()).hexdigest(), 16) % 500


class MockMessagesAPI:
    """The Messages API at the transport: answers name the question; tokens ≈ characters / 4."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        content = body["messages"][-1]["content"]
        question = content.rsplit("\n\n", 1)[-1]
        input_tokens = (len(body.get("system", "")) + len(content)) // 4 + 8
        output_tokens = _out_tokens(question)
        self.calls.append({"model": body["model"], "question": question, "input_tokens": input_tokens})
        return httpx2.Response(
            200,
            json={
                "id": f"msg_{len(self.calls):05d}",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [{"type": "text", "text": f"ANSWER[{question}]"}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
            },
        )


class Classes:
    """Which prompts ask the same question: paraphrase pairs and identical normalised texts."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, text: str) -> str:
        key = normalise(text)
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            key = self.parent[key]
        return key

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)

    def same(self, a: str, b: str) -> bool:
        return self.find(a) == self.find(b)


def _question(answer: str) -> str | None:
    return answer[len("ANSWER[") : -1] if answer.startswith("ANSWER[") else None


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


async def bench_pairs(core: Core, llm: LLMClient, classes: Classes) -> dict[str, Any]:
    task_type = "planner"  # no shipped rule answers this task type: the cache alone is measured
    for cached in dict.fromkeys([a for a, _ in SAME] + [a for a, _, _ in DIFFERENT]):
        await ask(core, cached, task_type=task_type, llm=llm)
    results: dict[str, Any] = {"same": [], "different": []}
    for kind, pairs in (("same", [(a, b, "paraphrase") for a, b in SAME]), ("different", DIFFERENT)):
        for a, b, why in pairs:
            answer = await ask(core, b, task_type=task_type, use_llm=False)
            served = _question(answer.answer) if answer.source == "cache" else None
            results[kind].append(
                {"asked": b, "cached": a, "why": why, "source": answer.source, "served": served,
                 "similarity": answer.similarity, "correct": served is not None and classes.same(served, b)}
            )  # fmt: skip
    same, different = results["same"], results["different"]
    hits = [r for r in same if r["source"] == "cache"]
    false_hits = [r for r in same + different if r["source"] == "cache" and not r["correct"]]
    return {
        "pairs": len(same) + len(different),
        "paraphrase_pairs": len(same),
        "paraphrase_hits": sum(r["correct"] for r in hits),
        "near_miss_pairs": len(different),
        "near_miss_hits": sum(1 for r in different if r["source"] == "cache"),
        "near_miss_correct_hits": sum(1 for r in different if r["source"] == "cache" and r["correct"]),
        "false_hits": [(r["asked"], r["served"], r["similarity"]) for r in false_hits],
        "missed_paraphrases": [r["asked"] for r in same if r["source"] != "cache"],
    }


async def bench_sweep(core: Core, classes: Classes) -> list[dict[str, Any]]:
    embedder = await core.embedder()
    cached = list(dict.fromkeys([a for a, _ in SAME] + [a for a, _, _ in DIFFERENT]))
    asked = [(b, True) for _, b in SAME] + [(b, False) for _, b, _ in DIFFERENT]
    cached_vectors = await embedder.embed([normalise(t) for t in cached])
    asked_vectors = await embedder.embed([normalise(t) for t, _ in asked])
    sims = asked_vectors @ cached_vectors.T
    cached_sigs = [signature(t) for t in cached]
    rows = []
    for threshold in (0.80, 0.85, 0.88, 0.90, 0.92, 0.95, 0.97):
        for guard in (False, True):
            true_hits = false_hits = 0
            for i, (text, is_paraphrase) in enumerate(asked):
                sig = signature(text)
                order = np.argsort(-sims[i])[:5]
                served = None
                for j in order:
                    if sims[i, j] < threshold:
                        break
                    if guard and disagreement(sig, cached_sigs[j]) is not None:
                        continue
                    served = cached[j]
                    break
                if served is None:
                    continue
                if classes.same(served, text):
                    true_hits += is_paraphrase
                else:
                    false_hits += 1
            rows.append({"threshold": threshold, "guard": guard, "paraphrase_hits": true_hits,
                         "false_hits": false_hits})  # fmt: skip
    return rows


def _workload(seed: int) -> list[tuple[str, str]]:
    """(prompt, kind) in arrival order: a pair's second prompt always comes after its first."""
    rng = random.Random(seed)
    events: list[tuple[float, str, str]] = []
    for a, b in SAME:
        t = rng.random()
        events.append((t, a, "novel"))
        events.append((t + rng.random() * (1 - t) + 1e-6, b, "paraphrase"))
        events.append((t + rng.random() * (1 - t) + 1e-6, a.upper() if rng.random() < 0.3 else a, "repeat"))
    for a, b, _ in DIFFERENT:
        t = rng.random()
        events.append((t, a, "novel"))
        events.append((t + rng.random() * (1 - t) + 1e-6, b, "near-miss"))
    for prompt in RULE_PROMPTS:
        events.append((rng.random(), prompt, "rule"))
        events.append((rng.random(), prompt.lower(), "rule"))
    events.sort()
    return [(prompt, kind) for _, prompt, kind in events]


async def bench_replay(
    core: Core, llm: LLMClient, api: MockMessagesAPI, classes: Classes, seed: int
) -> dict[str, Any]:
    workload = _workload(seed)
    api.calls.clear()
    by_tier: dict[str, list[float]] = {}
    wall: dict[str, list[float]] = {}
    kinds: dict[str, dict[str, int]] = {}
    false_hits = []
    complexities = []
    for prompt, kind in workload:
        started = time.perf_counter()
        answer = await ask(core, prompt, llm=llm)
        wall.setdefault(answer.source, []).append((time.perf_counter() - started) * 1000)
        by_tier.setdefault(answer.source, []).append(answer.latency_ms)
        kinds.setdefault(kind, {}).setdefault(answer.source, 0)
        kinds[kind][answer.source] += 1
        complexities.append(answer.complexity)
        if answer.source == "cache":
            served = _question(answer.answer)
            if served is None or not classes.same(served, prompt):
                false_hits.append((prompt, served))
    cost = sum(
        cost_usd(core.settings.agent_prices, c["model"], c["input_tokens"], _out_tokens(c["question"]))
        for c in api.calls
    )
    overhead = statistics.mean(c["input_tokens"] - len(c["question"]) // 4 for c in api.calls)
    baseline = 0.0
    for (prompt, _), complexity in zip(workload, complexities, strict=True):
        model = model_for(core.settings, complexity)
        baseline += cost_usd(
            core.settings.agent_prices, model, int(len(prompt) // 4 + overhead), _out_tokens(prompt)
        )
    return {
        "prompts": len(workload),
        "tiers": {
            tier: {
                "count": len(values),
                "share": len(values) / len(workload),
                "p50_ms": _pct(values, 50),
                "p95_ms": _pct(values, 95),
                "wall_p50_ms": _pct(wall[tier], 50),
                "wall_p95_ms": _pct(wall[tier], 95),
            }
            for tier, values in sorted(by_tier.items())
        },
        "by_kind": kinds,
        "llm_calls": len(api.calls),
        "cost_usd": cost,
        "always_llm_usd": baseline,
        "saving": 1 - cost / baseline if baseline else 0.0,
        "false_hits": false_hits,
        "complexity_mix": {c: complexities.count(c) for c in ("simple", "medium", "complex")},
    }


async def main(args: argparse.Namespace) -> None:
    classes = Classes()
    for a, b in SAME + EQUIVALENT:
        classes.union(a, b)
    with tempfile.TemporaryDirectory(prefix="bench-router-") as tmp:
        settings = Settings(
            data_dir=Path(tmp), database_url=None, model_dir=args.model_dir, anthropic_api_key=SecretStr("bench"),
            anthropic_base_url=None, agent_llm_max_retries=0,
        )  # fmt: skip
        api = MockMessagesAPI()
        llm = LLMClient(settings, http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(api.handler)))
        async with asynccontextmanager(Core(settings).run)() as core:
            from singularity_mcp.knowledge import import_artifacts

            await core.embedder()
            report = await import_artifacts(core)
            print(f"knowledge imported: {report.artifacts} artifacts", file=sys.stderr)
            warm = await ask(core, "warm-up question about nothing in particular", llm=llm)
            assert warm.source == "llm", warm
            started = time.perf_counter()
            pairs = await bench_pairs(core, llm, classes)
            pairs["seconds"] = time.perf_counter() - started
            sweep = await bench_sweep(core, classes)
            # the replay runs on an empty cache (same database, another task type than the pairs)
            started = time.perf_counter()
            replay = await bench_replay(core, llm, api, classes, args.seed)
            replay["seconds"] = time.perf_counter() - started
            stats = (await router_stats(core)).model_dump()
    print(json.dumps({"pairs": pairs, "sweep": sweep, "replay": replay, "router_stats": stats}, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model-dir", type=Path, default=Path.home() / ".cache" / "singularity-mcp-test" / "models"
    )
    parser.add_argument("--seed", type=int, default=7)
    anyio.run(main, parser.parse_args())
