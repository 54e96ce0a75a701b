"""The planning API on the real embedded PostgreSQL: persistence, one transaction per change, refusals
that leave nothing behind, concurrent updates without lost writes."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import httpx2
import pytest

from singularity_mcp import planning
from singularity_mcp.agent import LLMClient
from singularity_mcp.db import Database
from singularity_mcp.errors import InvalidInput, NotFound, Unavailable
from singularity_mcp.planning import Decomposer, SubtaskSpec
from tests.conftest import make_settings
from tests.planning.test_decompose import GOOD, FakeMessages, _templates

pytestmark = pytest.mark.anyio


async def _count(database: Database, sql: str, *params: object) -> int:
    async with database.pool.connection() as conn:
        cur = await conn.execute(sql, params)
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def test_template_plan_is_stored_and_read_back(database: Database) -> None:
    pool = database.pool
    used: list[list[str]] = []

    async def record(ids: list[str]) -> None:
        used.append(ids)

    view = await planning.create_plan(
        pool,
        "Fix the crash when saving an empty file",
        decomposer=Decomposer(_templates),
        on_artifacts_used=record,
    )
    assert view.source == "template:bug-fix"
    assert used == [["bug-fix"]], "the template used is reported for the knowledge base's usage figures"
    assert view.ready == ["1"] and view.next is not None and view.next.id == "1"
    assert view.order == [t.id for t in view.tasks]
    again = await planning.get_plan(pool, view.plan_id)
    assert again.tasks == view.tasks and again.order == view.order
    assert all(t.source_artifacts == ["bug-fix"] for t in again.tasks)


async def test_updates_propagate_and_persist_in_one_transaction(database: Database) -> None:
    pool = database.pool
    view = await planning.create_plan(
        pool,
        "ship the importer",
        decomposer=Decomposer(_templates),
        subtasks=[
            SubtaskSpec(title="parse"),
            SubtaskSpec(title="store", depends_on=["1"]),
            SubtaskSpec(title="report", depends_on=["2"]),
        ],
    )
    plan_id = view.plan_id
    assert view.source == "explicit"
    view = await planning.update_task(pool, plan_id, "1", status="failed", note="parser crashes on BOM")
    assert [t.status for t in view.tasks] == ["failed", "blocked", "blocked"]
    assert view.status == "failed" and view.ready == []
    stored = await planning.get_plan(pool, plan_id)
    assert [(t.status, t.blocked_by) for t in stored.tasks] == [
        ("failed", []),
        ("blocked", ["1"]),
        ("blocked", ["1"]),
    ]
    assert stored.tasks[0].note == "parser crashes on BOM"
    view = await planning.update_task(pool, plan_id, "1", status="pending")
    assert [t.status for t in view.tasks] == ["pending", "pending", "pending"]
    events = await _count(database, "SELECT count(*) FROM plan_events WHERE plan_id = %s", plan_id)
    assert events == 3, "one event per change: create, fail, reopen"


async def test_cycle_refused_leaves_the_stored_plan_unchanged(database: Database) -> None:
    pool = database.pool
    view = await planning.create_plan(
        pool,
        "a chain",
        decomposer=Decomposer(_templates),
        subtasks=[SubtaskSpec(title="a"), SubtaskSpec(title="b", depends_on=["1"])],
    )
    before = await _count(database, "SELECT version FROM plans WHERE plan_id = %s", view.plan_id)
    with pytest.raises(InvalidInput, match=r"cycle \(1 -> 2 -> 1\)|cycle \(2 -> 1 -> 2\)"):
        await planning.update_task(pool, view.plan_id, "1", add_depends_on=["2"], status="done")
    after = await _count(database, "SELECT version FROM plans WHERE plan_id = %s", view.plan_id)
    assert after == before
    stored = await planning.get_plan(pool, view.plan_id)
    assert stored.tasks[0].depends_on == [] and stored.tasks[0].status == "pending", "nothing half-applied"
    with pytest.raises(NotFound, match="no task '9'"):
        await planning.update_task(pool, view.plan_id, "9", status="done")
    with pytest.raises(NotFound, match="no plan"):
        await planning.get_plan(pool, 987654)


async def test_concurrent_updates_lose_nothing(database: Database) -> None:
    pool = database.pool
    specs = [SubtaskSpec(title=f"t{i}") for i in range(8)]
    view = await planning.create_plan(pool, "parallel", decomposer=Decomposer(_templates), subtasks=specs)

    async def finish(task_id: str) -> None:
        await planning.update_task(pool, view.plan_id, task_id, status="done")

    async with anyio.create_task_group() as group:
        for task in view.tasks:
            group.start_soon(finish, task.id)
    final = await planning.get_plan(pool, view.plan_id)
    assert all(t.status == "done" for t in final.tasks)
    assert final.status == "done"


async def test_llm_decomposition_of_one_task_and_nothing_stored_on_refusal(
    database: Database, tmp_path: Path
) -> None:
    pool = database.pool
    settings = make_settings(tmp_path, anthropic_api_key="sk-test-key", agent_llm_max_retries=0)
    fake = FakeMessages(json.dumps(GOOD))
    llm = LLMClient(settings, http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(fake.handler)))
    view = await planning.create_plan(
        pool,
        "Let people sign in with Google",
        decomposer=Decomposer(_templates),
        subtasks=[
            SubtaskSpec(title="OAuth sign-in", complexity=8, recommended_subtasks=3),
            SubtaskSpec(title="Docs"),
        ],
    )
    view = await planning.decompose_task(pool, view.plan_id, "1", decomposer=Decomposer(_templates, llm=llm))
    assert [t.id for t in view.tasks] == ["1", "1.1", "1.2", "1.3", "2"]
    assert view.tasks[2].depends_on == ["1.1"]
    assert view.ready == ["1.1", "2"]
    assert "about 3 tasks" in fake.requests[0]["messages"][0]["content"], "the recommended count is asked for"

    plans_before = await _count(database, "SELECT count(*) FROM plans")
    bad = FakeMessages("{", "still not json")
    llm = LLMClient(settings, http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(bad.handler)))
    with pytest.raises(Unavailable, match="unusable twice"):
        await planning.create_plan(
            pool, "Let people sign in with Google", decomposer=Decomposer(_templates, llm=llm), method="llm"
        )
    assert await _count(database, "SELECT count(*) FROM plans") == plans_before
    tasks_before = await _count(database, "SELECT count(*) FROM plan_tasks WHERE plan_id = %s", view.plan_id)
    bad = FakeMessages("{", "still not json")
    llm = LLMClient(settings, http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(bad.handler)))
    with pytest.raises(Unavailable):
        await planning.decompose_task(
            pool, view.plan_id, "2", decomposer=Decomposer(_templates, llm=llm), method="llm"
        )
    assert (
        await _count(database, "SELECT count(*) FROM plan_tasks WHERE plan_id = %s", view.plan_id)
        == tasks_before
    )


async def test_plan_list_and_markdown(database: Database) -> None:
    view = await planning.create_plan(
        database.pool, "Upgrade Django to 5.1", decomposer=Decomposer(_templates)
    )
    listing = await planning.list_plans(database.pool)
    mine = next(p for p in listing.plans if p.plan_id == view.plan_id)
    assert mine.uri == f"plan://{view.plan_id}" and mine.tasks == len(view.tasks) and mine.done == 0
    text = planning.plan_markdown(view)
    assert text.startswith(f"# Plan {view.plan_id}: Upgrade Django to 5.1")
    assert f"**Next:** {view.next.id}" in text if view.next else False


async def test_decompose_without_a_fitting_template_asks_for_subtasks(database: Database) -> None:
    pool = database.pool
    view = await planning.create_plan(
        pool,
        "launch",
        decomposer=Decomposer(_templates),
        subtasks=[SubtaskSpec(title="Write the announcement"), SubtaskSpec(title="Fix the crash on login")],
    )
    with pytest.raises(InvalidInput, match="pass subtasks"):
        await planning.decompose_task(pool, view.plan_id, "1", decomposer=Decomposer(_templates))
    forced = await planning.decompose_task(
        pool, view.plan_id, "1", decomposer=Decomposer(_templates), method="template"
    )
    assert any(t.parent_id == "1" for t in forced.tasks)
    fitting = await planning.decompose_task(pool, view.plan_id, "2", decomposer=Decomposer(_templates))
    children = [t for t in fitting.tasks if t.parent_id == "2"]
    assert children and all(t.source_artifacts == ["bug-fix"] for t in children)
    assert fitting.ready[0].startswith("1."), "the new subtasks are what is ready, not their phase"
    with pytest.raises(InvalidInput, match="already has subtasks"):
        await planning.decompose_task(pool, view.plan_id, "2", decomposer=Decomposer(_templates))


async def test_not_before_and_estimates_round_trip(database: Database) -> None:
    from datetime import UTC, datetime, timedelta

    pool = database.pool
    view = await planning.create_plan(
        pool,
        "timed",
        decomposer=Decomposer(_templates),
        subtasks=[SubtaskSpec(title="a"), SubtaskSpec(title="b")],
    )
    later = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1)  # naive: taken as UTC
    view = await planning.update_task(
        pool, view.plan_id, "1", not_before=later, estimate_hours=2.5, priority="high"
    )
    assert view.ready == ["2"]
    stored = await planning.get_plan(pool, view.plan_id)
    assert stored.tasks[0].not_before == later.replace(tzinfo=UTC)
    assert stored.tasks[0].estimate_hours == 2.5 and stored.tasks[0].priority == "high"
    assert stored.critical_path == ["1"] and stored.critical_path_hours == 2.5
    view = await planning.update_task(
        pool, view.plan_id, "1", not_before=datetime.now(UTC) - timedelta(minutes=1)
    )
    assert view.ready == ["1", "2"] and view.next is not None and view.next.id == "1"


async def test_a_done_or_cancelled_task_takes_no_subtasks_until_reopened(database: Database) -> None:
    """One rule, checked before a decomposer is asked and again when the subtasks are added."""
    pool = database.pool
    view = await planning.create_plan(
        pool, "ship the exporter", decomposer=Decomposer(_templates), subtasks=[SubtaskSpec(title="Write it")]
    )
    plan_id = view.plan_id
    await planning.update_task(pool, plan_id, "1", status="done")
    for call in (
        planning.decomposition_target(pool, plan_id, "1"),
        planning.decompose_task(
            pool, plan_id, "1", decomposer=Decomposer(_templates), subtasks=[SubtaskSpec(title="Part")]
        ),
    ):
        with pytest.raises(InvalidInput, match="task 1 is done; reopen it") as refused:
            await call
        assert f"singularity-mcp plan reopen {plan_id} 1" in refused.value.for_cli()
    await planning.update_task(pool, plan_id, "1", status="cancelled")
    with pytest.raises(InvalidInput, match="task 1 is cancelled; reopen it"):
        await planning.decomposition_target(pool, plan_id, "1")
    await planning.update_task(pool, plan_id, "1", status="pending")
    target = await planning.decomposition_target(pool, plan_id, "1")
    assert target.goal.startswith("Write it")
