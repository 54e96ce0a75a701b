"""Plans in PostgreSQL: load (optionally locking the plan row), insert, and write back what changed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from singularity_mcp.errors import NotFound
from singularity_mcp.planning.models import Plan, PlanSummary, Task, task_sort_key

if TYPE_CHECKING:
    from psycopg import AsyncConnection

_TASK_COLUMNS = (
    "task_id, parent_id, position, title, description, status, complexity, priority, base_confidence, "
    "confidence, acceptance_criteria, estimate_hours, not_before, recommended_subtasks, blocked_by, "
    "source_artifacts, note"
)


async def load_plan(conn: AsyncConnection, plan_id: int, *, lock: bool = False) -> Plan:
    """The plan with its tasks and dependencies. `lock=True` holds the plan row until the transaction ends."""
    from psycopg.rows import dict_row

    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT plan_id, goal, context, source, version, created_at, updated_at FROM plans WHERE plan_id = %s"
        + (" FOR UPDATE" if lock else ""),
        (plan_id,),
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound(
            f"no plan {plan_id}: call plan_task with action='create' and a goal, "
            "or read plan://plans for the existing plans",
            cli=f"no plan {plan_id}: `singularity-mcp plan list` shows the plans, "
            '`singularity-mcp plan "your goal"` makes one',
        )
    plan = Plan(**row)
    await cur.execute(f"SELECT {_TASK_COLUMNS} FROM plan_tasks WHERE plan_id = %s", (plan_id,))
    for t in await cur.fetchall():
        task = Task(
            id=t["task_id"],
            parent_id=t["parent_id"],
            position=t["position"],
            title=t["title"],
            description=t["description"],
            status=t["status"],
            complexity=t["complexity"],
            priority=t["priority"],
            base_confidence=t["base_confidence"],
            confidence=t["confidence"],
            acceptance_criteria=t["acceptance_criteria"],
            estimate_hours=t["estimate_hours"],
            not_before=t["not_before"],
            recommended_subtasks=t["recommended_subtasks"],
            blocked_by=list(t["blocked_by"]),
            source_artifacts=list(t["source_artifacts"]),
            note=t["note"],
        )
        plan.tasks[task.id] = task
    await cur.execute(
        "SELECT task_id, depends_on FROM plan_dependencies WHERE plan_id = %s ORDER BY task_id, depends_on",
        (plan_id,),
    )
    for dep in await cur.fetchall():
        plan.tasks[dep["task_id"]].depends_on.append(dep["depends_on"])
    for task in plan.tasks.values():
        task.depends_on.sort(key=task_sort_key)
    return plan


async def insert_plan(conn: AsyncConnection, plan: Plan) -> int:
    cur = await conn.execute(
        "INSERT INTO plans (goal, context, source) VALUES (%s, %s, %s) RETURNING plan_id",
        (plan.goal, plan.context, plan.source),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


def _task_params(plan_id: int, task: Task) -> tuple[Any, ...]:
    from psycopg.types.json import Jsonb

    return (
        plan_id,
        task.id,
        task.parent_id,
        task.position,
        task.title,
        task.description,
        task.status,
        task.complexity,
        task.priority,
        task.base_confidence,
        task.confidence,
        Jsonb(task.acceptance_criteria),
        task.estimate_hours,
        task.not_before,
        task.recommended_subtasks,
        task.blocked_by,
        task.source_artifacts,
        task.note,
    )


_UPSERT = f"""
INSERT INTO plan_tasks (plan_id, {_TASK_COLUMNS})
VALUES ({", ".join(["%s"] * 18)})
ON CONFLICT (plan_id, task_id) DO UPDATE SET
    parent_id = EXCLUDED.parent_id, position = EXCLUDED.position, title = EXCLUDED.title,
    description = EXCLUDED.description, status = EXCLUDED.status, complexity = EXCLUDED.complexity,
    priority = EXCLUDED.priority, base_confidence = EXCLUDED.base_confidence,
    confidence = EXCLUDED.confidence, acceptance_criteria = EXCLUDED.acceptance_criteria,
    estimate_hours = EXCLUDED.estimate_hours, not_before = EXCLUDED.not_before,
    recommended_subtasks = EXCLUDED.recommended_subtasks, blocked_by = EXCLUDED.blocked_by,
    source_artifacts = EXCLUDED.source_artifacts, note = EXCLUDED.note, updated_at = now()
"""


async def save_changes(
    conn: AsyncConnection,
    plan_id: int,
    before: Plan | None,
    after: Plan,
    *,
    action: str,
    task_id: str | None,
    changes: list[str],
) -> None:
    """Write the tasks and dependencies that differ between `before` and `after`, bump the version and log
    the event. Call inside the transaction that loaded `before` with `lock=True`."""
    from psycopg.types.json import Jsonb

    old = before.tasks if before is not None else {}
    changed = [t for tid, t in after.tasks.items() if old.get(tid) != t]
    # Parents first: the parent foreign key is checked row by row.
    changed.sort(key=lambda t: t.id.count("."))
    removed = [tid for tid in old if tid not in after.tasks]
    async with conn.cursor() as cur:
        if changed:
            await cur.executemany(_UPSERT, [_task_params(plan_id, t) for t in changed])
        old_edges = {(tid, d) for tid, t in old.items() for d in t.depends_on}
        new_edges = {(tid, d) for tid, t in after.tasks.items() for d in t.depends_on}
        gone = sorted(old_edges - new_edges)
        if gone:
            await cur.executemany(
                "DELETE FROM plan_dependencies WHERE plan_id = %s AND task_id = %s AND depends_on = %s",
                [(plan_id, a, b) for a, b in gone],
            )
        if removed:
            await cur.execute(
                "DELETE FROM plan_tasks WHERE plan_id = %s AND task_id = ANY(%s)", (plan_id, removed)
            )
        added = sorted(new_edges - old_edges)
        if added:
            await cur.executemany(
                "INSERT INTO plan_dependencies (plan_id, task_id, depends_on) VALUES (%s, %s, %s)",
                [(plan_id, a, b) for a, b in added],
            )
        await cur.execute(
            "UPDATE plans SET version = version + 1, updated_at = now(), source = %s, context = %s "
            "WHERE plan_id = %s",
            (after.source, after.context, plan_id),
        )
        await cur.execute(
            "INSERT INTO plan_events (plan_id, action, task_id, changes) VALUES (%s, %s, %s, %s)",
            (plan_id, action, task_id, Jsonb(changes)),
        )


async def list_plans(conn: AsyncConnection, limit: int) -> list[PlanSummary]:
    from psycopg.rows import dict_row

    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        """
        SELECT p.plan_id, p.goal, p.updated_at,
               count(t.task_id) FILTER (WHERE t.status <> 'cancelled'
                   AND NOT EXISTS (SELECT 1 FROM plan_tasks c
                                   WHERE c.plan_id = t.plan_id AND c.parent_id = t.task_id)) AS tasks,
               count(t.task_id) FILTER (WHERE t.status = 'done'
                   AND NOT EXISTS (SELECT 1 FROM plan_tasks c
                                   WHERE c.plan_id = t.plan_id AND c.parent_id = t.task_id)) AS done,
               bool_or(t.status = 'failed') AS any_failed,
               bool_or(t.status IN ('in_progress', 'done')) AS started
        FROM plans p LEFT JOIN plan_tasks t ON t.plan_id = p.plan_id
        GROUP BY p.plan_id
        ORDER BY p.updated_at DESC, p.plan_id DESC
        LIMIT %s
        """,
        (limit,),
    )
    summaries = []
    for row in await cur.fetchall():
        if row["tasks"] and row["done"] == row["tasks"]:
            status = "done"
        elif row["any_failed"]:
            status = "failed"
        elif row["started"]:
            status = "in_progress"
        else:
            status = "pending"
        summaries.append(
            PlanSummary(
                plan_id=row["plan_id"],
                goal=row["goal"],
                status=status,
                tasks=row["tasks"],
                done=row["done"],
                updated_at=row["updated_at"],
                uri=f"plan://{row['plan_id']}",
            )
        )
    return summaries
