"""Planning benchmark: template choice (keywords vs keywords + embeddings), graph operations by plan size,
and the plan API on the embedded PostgreSQL (and through the MCP client over stdio).

    python benchmarks/planning/bench_planning.py [--skip-mcp]

Writes nothing outside a temporary data directory; prints the figures (README.md records them).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from singularity_mcp import planning  # noqa: E402
from singularity_mcp.config import Settings  # noqa: E402
from singularity_mcp.core import Core  # noqa: E402
from singularity_mcp.knowledge import load_artifact_files  # noqa: E402
from singularity_mcp.planning import Decomposer, Plan, SubtaskSpec, Template  # noqa: E402
from singularity_mcp.planning._build import add_subtasks  # noqa: E402
from singularity_mcp.planning.graph import next_task, ready_set, topological_order  # noqa: E402

# Goals written without looking at the templates' keyword lists, five per template.
LABELLED: dict[str, list[str]] = {
    "bug-fix": [
        "Fix the crash when saving an empty file",
        "Users report they are logged out randomly",
        "Checkout shows the wrong total when two coupons are applied",
        "The CSV export drops the last row",
        "NullPointerException in the invoice scheduler since Tuesday",
    ],
    "new-feature": [
        "Let people sign in with their Google account",
        "Add dark mode to the settings page",
        "Support exporting reports as PDF",
        "Implement team invitations by email",
        "Customers want to pause their subscription",
    ],
    "refactor": [
        "Split the 2000-line billing module into smaller ones",
        "Remove the global state from the config loader",
        "Clean up the duplicated validation code in the API handlers",
        "Extract the pricing rules into their own package",
        "Untangle the circular imports between models and services",
    ],
    "migration": [
        "Move the user table from MySQL to PostgreSQL",
        "Replace Redis with Valkey for the session store",
        "Migrate the cron jobs to Kubernetes CronJobs",
        "Switch the frontend build from webpack to Vite",
        "Port the payment service from Python 2 to Python 3",
    ],
    "performance-investigation": [
        "Make the search endpoint faster, p95 is 2 s",
        "The nightly job now takes four hours instead of one",
        "Page loads take 8 seconds on mobile",
        "The worker's memory grows until it is killed",
        "Database CPU is at 95% during business hours",
    ],
    "security-review": [
        "Audit the API for injection vulnerabilities",
        "Harden the file upload endpoint against malicious input",
        "Our container images have critical CVEs",
        "Review how we store and rotate secrets",
        "Check the admin panel for broken access control",
    ],
    "dependency-upgrade": [
        "Upgrade Django from 4.2 to 5.1",
        "Bump React to 19",
        "Move off Python 3.8, it is end of life",
        "Update all npm packages with known advisories",
        "Go from Spring Boot 2 to Spring Boot 3",
    ],
    "sparc": [
        "Build a new notification service from scratch",
        "Design and implement a rate limiter service end to end",
        "Greenfield: an internal tool to track on-call handovers",
        "Create a CLI that syncs local folders to S3",
        "A new microservice for PDF rendering",
    ],
}


def templates() -> list[Template]:
    return [
        Template.from_artifact(a)
        for a in load_artifact_files()
        if a.artifact_type == "decomposition_template"
    ]


async def template_choice(embed: Any | None) -> dict[str, Any]:
    all_templates = templates()
    right = good = good_right = 0
    misses = []
    started = time.perf_counter()
    n = 0
    for expected, goals in LABELLED.items():
        for goal in goals:
            n += 1
            best = (await planning.rank_templates(goal, all_templates, embed))[0]
            hit = best.template.artifact_id == expected
            right += hit
            if best.good:
                good += 1
                good_right += hit
            if not hit:
                misses.append(f"{goal!r} -> {best.template.artifact_id} (expected {expected})")
    return {
        "goals": n,
        "top1": right,
        "confident": good,
        "confident_right": good_right,
        "ms_per_goal": round((time.perf_counter() - started) * 1000 / n, 2),
        "misses": misses,
    }


def synthetic_plan(tasks: int, seed: int = 7) -> Plan:
    """Phases of ~20 subtasks, each subtask depending on an earlier sibling half of the time."""
    rng = random.Random(seed)
    plan = Plan(plan_id=1, goal="synthetic")
    phases = max(1, tasks // 20)
    top = add_subtasks(
        plan, [SubtaskSpec(title=f"phase {i}", depends_on=[str(i)] if i else []) for i in range(phases)]
    )
    per = tasks // phases - 1
    for phase in top:
        specs = [
            SubtaskSpec(
                title=f"step {j}",
                depends_on=[str(rng.randint(1, j))] if j and rng.random() < 0.5 else [],
                estimate_hours=rng.choice([None, 1, 2, 4]),
            )
            for j in range(per)
        ]
        add_subtasks(plan, specs, phase)
    return plan


def timed(fn: Any, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 2)


def graph_operations() -> list[dict[str, Any]]:
    rows = []
    for size in (50, 200, 500):
        started = time.perf_counter()
        plan = synthetic_plan(size)
        build_ms = round((time.perf_counter() - started) * 1000, 1)
        leaf = next(t for t in reversed(list(plan.tasks)) if plan.is_leaf(t))
        rows.append(
            {
                "tasks": len(plan.tasks),
                "build_ms": build_ms,
                "order_ms": timed(lambda p=plan: topological_order(p)),
                "ready_ms": timed(lambda p=plan: ready_set(p)),
                "next_ms": timed(lambda p=plan: next_task(p)),
                "view_ms": timed(lambda p=plan: planning.plan_view(p)),
                "set_status_ms": timed(
                    lambda p=plan, t=leaf: planning.set_status(p.model_copy(deep=True), t, "failed")
                ),
            }
        )
    return rows


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


async def database_calls(settings: Settings) -> dict[str, Any]:
    async with asynccontextmanager(Core(settings).run)() as core:
        pool = (await core.database()).pool
        decomposer = Decomposer(lambda: anyio.to_thread.run_sync(templates))
        creates, updates, gets = [], [], []
        for i in range(20):
            started = time.perf_counter()
            view = await planning.create_plan(pool, f"Fix the crash number {i}", decomposer=decomposer)
            creates.append(time.perf_counter() - started)
            for task in view.order:
                started = time.perf_counter()
                await planning.update_task(pool, view.plan_id, task, status="done")
                updates.append(time.perf_counter() - started)
                started = time.perf_counter()
                await planning.get_plan(pool, view.plan_id)
                gets.append(time.perf_counter() - started)
        big = await planning.create_plan(
            pool,
            "big",
            decomposer=decomposer,
            subtasks=[SubtaskSpec(title=f"t{i}", depends_on=[str(i)] if i else []) for i in range(50)],
        )
        for phase in big.order[:9]:
            await planning.decompose_task(
                pool,
                big.plan_id,
                phase,
                decomposer=decomposer,
                subtasks=[SubtaskSpec(title=f"s{j}") for j in range(50)],
            )
        big_updates = []
        for task in ("1.1", "1.2", "2.1", "3.1", "4.1"):
            started = time.perf_counter()
            await planning.update_task(pool, big.plan_id, task, status="done")
            big_updates.append(time.perf_counter() - started)
    return {
        "create_p50_ms": pct(creates, 0.5),
        "create_p95_ms": pct(creates, 0.95),
        "update_p50_ms": pct(updates, 0.5),
        "update_p95_ms": pct(updates, 0.95),
        "get_p50_ms": pct(gets, 0.5),
        "get_p95_ms": pct(gets, 0.95),
        "update_500_task_plan_p50_ms": pct(big_updates, 0.5),
    }


async def mcp_calls(settings: Settings) -> dict[str, Any]:
    from tests.conftest import mcp_client

    async with mcp_client(settings) as session:
        plan = (
            await session.call_tool("plan_task", {"goal": "Fix the crash when saving"})
        ).structured_content
        assert plan is not None
        nexts, updates = [], []
        while True:
            started = time.perf_counter()
            answer = (
                await session.call_tool("plan_task", {"action": "next", "plan_id": plan["plan_id"]})
            ).structured_content
            nexts.append(time.perf_counter() - started)
            assert answer is not None
            if answer["next"] is None:
                break
            started = time.perf_counter()
            await session.call_tool(
                "plan_task", {"plan_id": plan["plan_id"], "task_id": answer["next"]["id"], "status": "done"}
            )
            updates.append(time.perf_counter() - started)
    return {
        "next_p50_ms": pct(nexts, 0.5),
        "update_p50_ms": pct(updates, 0.5),
        "calls": len(nexts) + len(updates) + 1,
    }


async def main(skip_mcp: bool) -> None:
    print("== template choice (40 labelled goals, 5 per template)")
    print("keywords only:", await template_choice(None))
    try:
        from singularity_mcp.embedding import load_embedder

        model_dir = Path.home() / ".cache" / "singularity-mcp-test" / "models"
        embedder = load_embedder(Settings(data_dir=Path(tempfile.mkdtemp()), model_dir=model_dir))
        print("keywords + embeddings:", await template_choice(planning.memoize_embed(embedder.embed)))
    except Exception as exc:
        print("embeddings unavailable:", exc)
    print("== graph operations (best of 5)")
    for row in graph_operations():
        print(row)
    with tempfile.TemporaryDirectory() as data_dir:
        await anyio.Path(data_dir).chmod(0o755)  # the embedded server runs as another user
        settings = Settings(data_dir=Path(data_dir), database_url=None, anthropic_api_key=None)
        print("== plan API on embedded PostgreSQL")
        print(await database_calls(settings))
        if not skip_mcp:
            print("== plan_task through the MCP client (stdio)")
            print(await mcp_calls(settings))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-mcp", action="store_true")
    anyio.run(main, parser.parse_args().skip_mcp)
