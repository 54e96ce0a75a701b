"""Plans: a goal decomposed into a hierarchical task DAG, ordered, with the next task always known.

Pure graph operations are in `planning.graph`; the async API below stores plans in PostgreSQL, every change
in one transaction.
"""

from singularity_mcp.planning._decompose import Decomposer, Decomposition
from singularity_mcp.planning._llm import llm_request, parse_decomposition
from singularity_mcp.planning._markdown import plan_markdown
from singularity_mcp.planning._mermaid import plan_mermaid
from singularity_mcp.planning._planner import (
    create_plan,
    decompose_task,
    decomposition_target,
    get_plan,
    list_plans,
    next_task,
    plan_view,
    update_task,
)
from singularity_mcp.planning._propagate import refresh, set_status
from singularity_mcp.planning._sources import planning_decomposer, record_template_usage
from singularity_mcp.planning._templates import GENERIC_TEMPLATE, Template, memoize_embed, rank_templates
from singularity_mcp.planning.graph import CycleError
from singularity_mcp.planning.models import Plan, PlanList, PlanView, SubtaskSpec, Task

__all__ = [
    "GENERIC_TEMPLATE",
    "CycleError",
    "Decomposer",
    "Decomposition",
    "Plan",
    "PlanList",
    "PlanView",
    "SubtaskSpec",
    "Task",
    "Template",
    "create_plan",
    "decompose_task",
    "decomposition_target",
    "get_plan",
    "list_plans",
    "llm_request",
    "memoize_embed",
    "next_task",
    "parse_decomposition",
    "plan_markdown",
    "plan_mermaid",
    "plan_view",
    "planning_decomposer",
    "rank_templates",
    "record_template_usage",
    "refresh",
    "set_status",
    "update_task",
]
