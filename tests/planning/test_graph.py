"""Property tests on random plans: order, ready set, no stored cycle, refused cycles are real, completion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from singularity_mcp.planning import CycleError, Plan, Task, set_status
from singularity_mcp.planning._build import add_dependencies
from singularity_mcp.planning.graph import (
    critical_path,
    find_cycle,
    next_task,
    ready_set,
    topological_order,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def random_plans(draw: st.DrawFn) -> tuple[Plan, list[tuple[str, str]]]:
    """A random task tree plus random dependency attempts through `add_dependencies` (cycles refused).

    Returns the plan and the refused (task, dependency) pairs.
    """
    n = draw(st.integers(1, 18))
    plan = Plan(plan_id=1, goal="random")
    ids: list[str] = []
    counters: dict[str | None, int] = {}
    for i in range(n):
        parent = draw(st.one_of(st.none(), st.sampled_from(ids))) if ids else None
        counters[parent] = counters.get(parent, 0) + 1
        tid = f"{parent}.{counters[parent]}" if parent else str(counters[parent])
        plan.tasks[tid] = Task(
            id=tid,
            title=f"task {tid}",
            parent_id=parent,
            priority=draw(st.sampled_from(["high", "medium", "low"])),
            estimate_hours=draw(st.one_of(st.none(), st.floats(0, 10, allow_nan=False))),
            position=i,
        )
        ids.append(tid)
    refused = []
    for a, b in draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)), max_size=2 * n)):
        try:
            add_dependencies(plan, a, [b])
        except CycleError as exc:
            assert exc.cycle[0] == exc.cycle[-1] and len(exc.cycle) >= 2
            refused.append((a, b))
    return plan, refused


def _ancestors(plan: Plan, tid: str) -> list[str]:
    out = []
    while plan.tasks[tid].parent_id:
        tid = plan.tasks[tid].parent_id  # type: ignore[assignment]
        out.append(tid)
    return out


def _leaf(plan: Plan, tid: str) -> bool:
    return not any(t.parent_id == tid and t.status != "cancelled" for t in plan.tasks.values())


def _executable_by_definition(plan: Plan, tid: str, now: datetime) -> bool:
    """The issue's definition, written independently: a leaf whose dependencies (its own and its
    ancestors') are done or cancelled, whose not_before has passed, under no closed or blocked ancestor."""
    task = plan.tasks[tid]
    holders = [tid, *_ancestors(plan, tid)]
    deps = {d for h in holders for d in plan.tasks[h].depends_on}
    return (
        _leaf(plan, tid)
        and all(plan.tasks[d].status in ("done", "cancelled") for d in deps)
        and (task.not_before is None or task.not_before <= now)
        and all(plan.tasks[a].status in ("pending", "in_progress") for a in _ancestors(plan, tid))
    )


def _run_to_completion(plan: Plan) -> list[str]:
    """Take `next_task` and mark it done until nothing is left; return the tasks in the order done."""
    done = []
    for _ in range(len(plan.tasks) + 1):
        tid = next_task(plan, NOW)
        if tid is None:
            break
        # Everything it waits for is finished when it is taken.
        for holder in [tid, *_ancestors(plan, tid)]:
            for dep in plan.tasks[holder].depends_on:
                assert plan.tasks[dep].status == "done", f"{tid} taken before its dependency {dep}"
        set_status(plan, tid, "done")
        done.append(tid)
    return done


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_plans())
def test_no_cycle_is_ever_stored_and_order_respects_every_edge(sample: tuple[Plan, list]) -> None:
    plan, _ = sample
    assert find_cycle(plan) is None
    order = topological_order(plan)
    assert sorted(order) == sorted(plan.tasks)
    position = {tid: i for i, tid in enumerate(order)}
    for task in plan.tasks.values():
        for dep in task.depends_on:
            assert position[dep] < position[task.id], f"{task.id} ordered before its dependency {dep}"
        if task.parent_id:
            assert position[task.id] < position[task.parent_id], "a phase must come after its subtasks"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_plans())
def test_refused_dependencies_really_close_a_cycle(sample: tuple[Plan, list]) -> None:
    """Each refused edge, forced in, makes the plan impossible to finish: nothing is over-refused."""
    plan, refused = sample
    assert len(_run_to_completion(plan.model_copy(deep=True))) == len(
        [t for t in plan.tasks if _leaf(plan, t)]
    ), "an accepted plan must run to completion"
    for task_id, dep in refused:
        forced = plan.model_copy(deep=True)
        forced.tasks[task_id].depends_on.append(dep)
        assert find_cycle(forced) is not None
        finished = _run_to_completion(forced)
        assert any(forced.tasks[t].status != "done" for t in forced.tasks), (
            f"forcing {task_id} -> {dep} still let the plan finish ({finished})"
        )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_plans(), st.data())
def test_ready_set_is_exactly_the_executable_leaves(sample: tuple[Plan, list], data: st.DataObject) -> None:
    plan, _ = sample
    leaves = sorted(t for t in plan.tasks if _leaf(plan, t))
    # Random progress through the status API, and some tasks scheduled for later.
    for tid in data.draw(st.lists(st.sampled_from(leaves), max_size=len(leaves), unique=True)):
        status = data.draw(st.sampled_from(["done", "in_progress", "failed", "cancelled", "blocked"]))
        set_status(plan, tid, status, force=True)  # any state, in any order
    for tid in data.draw(st.lists(st.sampled_from(sorted(plan.tasks)), max_size=3, unique=True)):
        plan.tasks[tid].not_before = NOW + timedelta(hours=data.draw(st.integers(-5, 5)))
    expected = sorted(
        (
            t.id
            for t in plan.tasks.values()
            if t.status == "pending" and _executable_by_definition(plan, t.id, NOW)
        ),
    )
    assert sorted(ready_set(plan, NOW)) == expected
    chosen = next_task(plan, NOW)
    if chosen is not None:
        assert plan.tasks[chosen].status in ("pending", "in_progress")
        assert _executable_by_definition(plan, chosen, NOW)
    else:
        assert not expected


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_plans())
def test_critical_path_is_a_dependency_chain_of_maximal_hours(sample: tuple[Plan, list]) -> None:
    plan, _ = sample
    path, hours = critical_path(plan)
    order = topological_order(plan)
    position = {tid: i for i, tid in enumerate(order)}
    assert [position[t] for t in path] == sorted(position[t] for t in path)
    leaf_hours = sum(plan.tasks[t].estimate_hours or 0 for t in path if _leaf(plan, t))
    assert hours == pytest.approx(leaf_hours, abs=1e-3)
    # No single leaf outweighs the whole path.
    assert all((plan.tasks[t].estimate_hours or 0) <= hours + 1e-6 for t in plan.tasks if _leaf(plan, t))


def test_cycle_is_spelled_out() -> None:
    plan = Plan(plan_id=1, goal="g")
    for tid, parent in [("1", None), ("2", None), ("2.1", "2"), ("3", None)]:
        plan.tasks[tid] = Task(id=tid, title=tid, parent_id=parent)
    add_dependencies(plan, "2", ["1"])
    add_dependencies(plan, "3", ["2"])
    with pytest.raises(CycleError) as caught:
        add_dependencies(plan, "1", ["3"])
    message = str(caught.value)
    assert caught.value.cycle[0] == caught.value.cycle[-1]
    assert set(caught.value.cycle) >= {"1", "3"}
    assert "cycle" in message and "1 depends on 3" in message
    assert plan.tasks["1"].depends_on == [], "a refused dependency leaves the plan unchanged"
    # A subtask waiting for its own phase can never start: refused, naming the subtask relation.
    with pytest.raises(CycleError) as caught:
        add_dependencies(plan, "2.1", ["2"])
    assert "subtask" in str(caught.value)
