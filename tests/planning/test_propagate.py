"""Propagation cases: phases finish with their subtasks, failures block and lower confidence, reopening
unblocks; Task Master's next-task rule; critical path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from singularity_mcp.errors import InvalidInput
from singularity_mcp.planning import Plan, SubtaskSpec, set_status
from singularity_mcp.planning._build import add_subtasks
from singularity_mcp.planning._propagate import FAILURE_FACTOR
from singularity_mcp.planning.graph import critical_path, next_task, ready_set, topological_order


def make_plan() -> Plan:
    """1 design; 2 build (2.1 api, 2.2 ui after 2.1); 3 release after 2."""
    plan = Plan(plan_id=1, goal="ship it")
    add_subtasks(
        plan,
        [
            SubtaskSpec(key="design", title="Design", estimate_hours=2),
            SubtaskSpec(key="build", title="Build", depends_on=["design"]),
            SubtaskSpec(key="release", title="Release", depends_on=["build"], estimate_hours=1),
        ],
        default_confidence=0.8,
    )
    add_subtasks(
        plan,
        [SubtaskSpec(key="api", title="API", estimate_hours=5), SubtaskSpec(title="UI", depends_on=["api"])],
        "2",
        default_confidence=0.8,
    )
    return plan


def test_subtasks_inherit_their_phase_dependencies() -> None:
    plan = make_plan()
    assert ready_set(plan) == ["1"], "2.1 waits for 1 through its phase 2"
    set_status(plan, "1", "done")
    assert ready_set(plan) == ["2.1"]
    assert topological_order(plan) == ["1", "2.1", "2.2", "2", "3"]


def test_phase_follows_its_subtasks() -> None:
    plan = make_plan()
    set_status(plan, "1", "done")
    set_status(plan, "2.1", "in_progress")
    assert plan.tasks["2"].status == "in_progress"
    set_status(plan, "2.1", "done")
    assert plan.tasks["2"].status == "in_progress"
    changes = set_status(plan, "2.2", "done")
    assert plan.tasks["2"].status == "done"
    assert any("2: in_progress -> done" in c for c in changes)
    assert ready_set(plan) == ["3"]
    # Reopening a subtask reopens the phase, and what waits for the phase waits again.
    set_status(plan, "2.2", "pending")
    assert plan.tasks["2"].status == "in_progress"
    assert ready_set(plan) == ["2.2"]


def test_failure_blocks_dependents_lowers_ancestors_confidence_and_reopening_unblocks() -> None:
    plan = make_plan()
    add_subtasks(plan, [SubtaskSpec(title="schema"), SubtaskSpec(title="handlers")], "2.1")
    set_status(plan, "1", "done")
    set_status(plan, "2.1.1", "failed")
    assert plan.tasks["2.2"].status == "blocked" and plan.tasks["2.2"].blocked_by == ["2.1.1"]
    assert plan.tasks["3"].status == "blocked", "3 waits for phase 2, which cannot finish"
    assert plan.tasks["2.1.2"].status == "pending", "a sibling does not wait for the failed task"
    # Ancestors lose confidence, the nearer and the farther alike; unrelated tasks do not.
    assert plan.tasks["2.1"].confidence == pytest.approx(0.8 * FAILURE_FACTOR)
    assert plan.tasks["2"].confidence == pytest.approx(0.8 * FAILURE_FACTOR)
    assert plan.tasks["3"].confidence == pytest.approx(0.8)
    # A hand-made block is not lifted by reopening.
    add_subtasks(plan, [SubtaskSpec(title="docs", depends_on=["2.1.1"])])
    assert plan.tasks["4"].status == "blocked"
    set_status(plan, "4", "blocked", note="waiting for the docs team")
    set_status(plan, "2.1.1", "pending")
    assert plan.tasks["2.2"].status == "pending" and plan.tasks["2.2"].blocked_by == []
    assert plan.tasks["3"].status == "pending"
    assert plan.tasks["4"].status == "blocked", "blocked by hand stays blocked"
    assert plan.tasks["2"].confidence == pytest.approx(0.8)
    assert ready_set(plan) == ["2.1.1", "2.1.2"]


def test_phase_done_cascades_but_not_over_a_failure() -> None:
    plan = make_plan()
    set_status(plan, "2.1", "failed")
    with pytest.raises(InvalidInput, match="failed subtasks"):
        set_status(plan, "2", "done")
    set_status(plan, "2.1", "pending")
    with pytest.raises(InvalidInput, match=r"task 2 waits for 1 \(pending\)"):
        set_status(plan, "2", "done")  # its subtasks wait for 1 through the phase
    set_status(plan, "1", "done")
    set_status(plan, "2", "done")
    assert plan.tasks["2.1"].status == plan.tasks["2.2"].status == "done"


def test_done_waits_for_prerequisites_unless_forced() -> None:
    plan = make_plan()
    with pytest.raises(InvalidInput, match=r"task 3 waits for 2 \(pending\)"):
        set_status(plan, "3", "done")
    with pytest.raises(InvalidInput, match=r"task 2.2 waits for 1 \(pending\), 2.1 \(pending\)"):
        set_status(plan, "2.2", "done")  # inherited from its phase, and its own
    assert plan.tasks["3"].status == "pending"
    changes = set_status(plan, "3", "done", force=True)
    assert plan.tasks["3"].status == "done" and any("(forced)" in c for c in changes)
    set_status(plan, "1", "cancelled")  # a cancelled prerequisite counts as settled
    set_status(plan, "2.1", "done")
    set_status(plan, "2.2", "done")


def test_cancelled_tasks_release_their_dependents() -> None:
    plan = make_plan()
    set_status(plan, "1", "cancelled")
    assert ready_set(plan) == ["2.1"]
    set_status(plan, "2", "cancelled")
    assert {plan.tasks[t].status for t in ("2", "2.1", "2.2")} == {"cancelled"}
    assert ready_set(plan) == ["3"]
    assert "2" not in topological_order(plan)


def test_not_before_holds_a_task_back() -> None:
    plan = make_plan()
    now = datetime(2026, 3, 1, tzinfo=UTC)
    plan.tasks["1"].not_before = now + timedelta(hours=1)
    assert ready_set(plan, now) == []
    assert ready_set(plan, now + timedelta(hours=2)) == ["1"]


def test_next_task_follows_task_master_rule() -> None:
    plan = Plan(plan_id=1, goal="g")
    add_subtasks(
        plan,
        [
            SubtaskSpec(title="a", priority="low"),
            SubtaskSpec(title="b", priority="high"),
            SubtaskSpec(title="c", priority="high"),
            SubtaskSpec(title="d", priority="high", depends_on=["1"]),
            SubtaskSpec(title="phase", priority="low"),
        ],
    )
    add_subtasks(
        plan, [SubtaskSpec(title="p1", priority="low"), SubtaskSpec(title="p2", priority="low")], "5"
    )
    # Priority first, then the lower id among equals.
    assert next_task(plan) == "2"
    # Fewer dependencies wins among equal priority.
    set_status(plan, "1", "done")
    set_status(plan, "2", "done")
    assert next_task(plan) == "3", "3 (no dependencies) before 4 (one)"
    # Subtasks of an in-progress phase come first, whatever their priority.
    set_status(plan, "5.1", "in_progress")
    assert plan.tasks["5"].status == "in_progress"
    assert next_task(plan) == "5.1"
    set_status(plan, "5.1", "done")
    assert next_task(plan) == "5.2"


def test_critical_path_by_estimate() -> None:
    plan = make_plan()
    plan.tasks["2.2"].estimate_hours = 3
    path, hours = critical_path(plan)
    assert path == ["1", "2.1", "2.2", "2", "3"]
    assert hours == pytest.approx(2 + 5 + 3 + 1)
    set_status(plan, "1", "done")
    path, hours = critical_path(plan)
    assert path[0] == "2.1" and hours == pytest.approx(9)


def test_unknown_references_and_self_dependencies_are_refused() -> None:
    plan = make_plan()
    with pytest.raises(InvalidInput, match="neither a key"):
        add_subtasks(plan, [SubtaskSpec(title="x", depends_on=["nope"])])
    with pytest.raises(InvalidInput, match="itself"):
        add_subtasks(plan, [SubtaskSpec(title="x", key="x", depends_on=["x"])])
    assert len(plan.tasks) == 5, "a refused batch adds nothing"
