"""LLM decomposition: structured JSON asked for, validated, repaired where safe, refused otherwise."""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from pydantic import BaseModel, Field, ValidationError

from singularity_mcp.planning.models import PRIORITY_RANK, SubtaskSpec

logger = logging.getLogger(__name__)

MAX_LLM_TASKS = 20


class CompletionLike(Protocol):
    @property
    def text(self) -> str: ...

    @property
    def model(self) -> str: ...


class Completer(Protocol):
    """What the planner needs from `singularity_mcp.agent.LLMClient`."""

    async def complete(
        self,
        system: str,
        prompt: str,
        *,
        complexity: str,
        max_tokens: int,
        json_schema: dict[str, Any] | None = None,
    ) -> CompletionLike: ...


class LLMTask(BaseModel):
    key: str = Field(min_length=1, max_length=80)
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=4000)
    depends_on: list[str] = Field(default_factory=list)
    complexity: int = Field(ge=1, le=10)
    priority: str = "medium"
    acceptance_criteria: list[str] = Field(default_factory=list)
    estimate_hours: float | None = Field(default=None, ge=0)
    recommended_subtasks: int | None = Field(default=None, ge=2, le=20)


class LLMDecomposition(BaseModel):
    tasks: list[LLMTask] = Field(min_length=1, max_length=MAX_LLM_TASKS)


# Anthropic structured outputs accept a subset of JSON Schema: plain types, required, no numeric bounds.
JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["tasks"],
    "properties": {
        "tasks": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["key", "title", "description", "depends_on", "complexity", "priority",
                             "acceptance_criteria"],
                "properties": {
                    "key": {"type": "string"},
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "depends_on": {"type": "array", "items": {"type": "string"}},
                    "complexity": {"type": "integer"},
                    "priority": {"type": "string", "enum": ["high", "medium", "low"]},
                    "acceptance_criteria": {"type": "array", "items": {"type": "string"}},
                    "estimate_hours": {"type": "number"},
                    "recommended_subtasks": {"type": "integer"},
                },
            },
        }
    },
}  # fmt: skip

SYSTEM = """\
You are the planning engine of a software engineering assistant. You break a goal into concrete,
verifiable tasks that form a dependency graph (no cycles). Each task is something one engineer can finish
and check. For every task give: a short unique `key` (lower-case words joined by hyphens), a `title` in the
imperative, a `description`, `depends_on` (keys of tasks that must finish first), `complexity` from 1
(trivial) to 10 (very hard), `priority` (high, medium or low), `acceptance_criteria` (checkable
statements), and `estimate_hours`. For a task of complexity 7 or more also give `recommended_subtasks`:
how many subtasks it should later be split into (2-8). Reply with JSON only: {"tasks": [...]}."""


class DecompositionRefused(ValueError):
    """The model's answer could not be turned into a valid task list."""


def build_prompt(goal: str, context: str | None, count_hint: int | None, parent: str | None) -> str:
    lines = [f"Goal: {goal}"]
    if parent:
        lines.append(f"This is one task of a larger plan: {parent}. Decompose only this task.")
    if context:
        lines.append(f"Context:\n{context[:6000]}")
    if count_hint:
        lines.append(f"Produce about {count_hint} tasks.")
    else:
        lines.append(f"Produce between 3 and {min(12, MAX_LLM_TASKS)} tasks.")
    return "\n\n".join(lines)


def llm_request(
    goal: str, context: str | None = None, *, count_hint: int | None = None, parent: str | None = None
) -> tuple[str, str]:
    """(system, prompt) of the first decomposition request, for a caller that reaches a model itself
    (MCP sampling)."""
    return SYSTEM, build_prompt(goal, context, count_hint, parent)


def extract_json(text: str) -> Any:
    """The first JSON value in `text` (code fences and chatter around it are ignored)."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        stripped = stripped.rsplit("```", 1)[0]
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        pass
    decoder = json.JSONDecoder()
    for i, char in enumerate(stripped):
        if char in "{[":
            try:
                value, _ = decoder.raw_decode(stripped, i)
                return value
            except json.JSONDecodeError:
                continue
    raise DecompositionRefused("the answer holds no complete JSON object (truncated or not JSON)")


def parse_decomposition(text: str) -> tuple[list[SubtaskSpec], list[str]]:
    """Validate and repair the model's JSON; return the subtasks and what was repaired.

    Repaired: out-of-range complexity (clamped), unknown priority (medium), duplicate keys (renamed),
    dependencies on unknown keys or that would close a cycle (dropped), a bare list (wrapped).
    Refused (`DecompositionRefused`): no JSON, no task list, or fewer than half the tasks usable.
    """
    data = extract_json(text)
    if isinstance(data, list):
        data = {"tasks": data}
    if not isinstance(data, dict):
        raise DecompositionRefused("the JSON is not an object with a `tasks` list")
    items = data.get("tasks", data.get("subtasks"))
    if not isinstance(items, list) or not items:
        raise DecompositionRefused("the JSON has no non-empty `tasks` list")
    repairs: list[str] = []
    cleaned: list[dict[str, Any]] = []
    keys: set[str] = set()
    for i, item in enumerate(items[:MAX_LLM_TASKS]):
        if not isinstance(item, dict) or not isinstance(item.get("title"), str) or not item["title"].strip():
            repairs.append(f"dropped task {i + 1}: no title")
            continue
        fixed = _repair_item(item, i, repairs)
        key = fixed["key"]
        while key in keys:
            key += "-2"
        if key != fixed["key"]:
            repairs.append(f"renamed duplicate key {fixed['key']!r} to {key!r}")
            fixed["key"] = key
        keys.add(key)
        cleaned.append(fixed)
    if len(items) > MAX_LLM_TASKS:
        repairs.append(f"kept the first {MAX_LLM_TASKS} of {len(items)} tasks")
    if not cleaned or len(cleaned) * 2 < min(len(items), MAX_LLM_TASKS):
        raise DecompositionRefused(f"too few usable tasks ({len(cleaned)} of {len(items)})")
    _repair_dependencies(cleaned, repairs)
    try:
        parsed = LLMDecomposition.model_validate({"tasks": cleaned})
    except ValidationError as exc:
        raise DecompositionRefused(f"the tasks do not validate: {exc.errors()[0]['msg']}") from exc
    specs = [
        SubtaskSpec(
            key=t.key,
            title=t.title,
            description=t.description,
            depends_on=t.depends_on,
            complexity=t.complexity,
            priority=t.priority,
            acceptance_criteria=t.acceptance_criteria,
            estimate_hours=t.estimate_hours,
            recommended_subtasks=t.recommended_subtasks if t.complexity >= 7 else None,
        )
        for t in parsed.tasks
    ]
    return specs, repairs


def _repair_item(item: dict[str, Any], i: int, repairs: list[str]) -> dict[str, Any]:
    key = str(item.get("key") or item.get("id") or i + 1).strip()[:80] or str(i + 1)
    try:
        complexity = round(float(item.get("complexity", 5)))
    except (TypeError, ValueError):
        complexity = 5
        repairs.append(f"{key}: complexity {item.get('complexity')!r} is not a number, used 5")
    if not 1 <= complexity <= 10:
        repairs.append(f"{key}: complexity {complexity} clamped to 1-10")
        complexity = min(10, max(1, complexity))
    priority = str(item.get("priority", "medium")).lower()
    if priority not in PRIORITY_RANK:
        repairs.append(f"{key}: priority {priority!r} replaced by medium")
        priority = "medium"
    criteria = item.get("acceptance_criteria") or []
    if isinstance(criteria, str):
        criteria = [criteria]
    deps = item.get("depends_on") or []
    if isinstance(deps, str | int):
        deps = [deps]
    estimate = item.get("estimate_hours")
    try:
        estimate = float(estimate) if estimate is not None else None
    except (TypeError, ValueError):
        estimate = None
    if estimate is not None and estimate < 0:
        estimate = None
    recommended = item.get("recommended_subtasks")
    try:
        recommended = min(20, max(2, int(recommended))) if recommended is not None else None
    except (TypeError, ValueError):
        recommended = None
    return {
        "key": key,
        "title": item["title"].strip()[:300],
        "description": str(item.get("description") or "")[:4000],
        "depends_on": [str(d) for d in deps if isinstance(d, str | int)],
        "complexity": complexity,
        "priority": priority,
        "acceptance_criteria": [str(c) for c in criteria if str(c).strip()],
        "estimate_hours": estimate,
        "recommended_subtasks": recommended,
    }


def _repair_dependencies(tasks: list[dict[str, Any]], repairs: list[str]) -> None:
    """Drop dependencies on unknown keys and those that would close a cycle (first come, first kept)."""
    keys = {t["key"] for t in tasks}
    graph: dict[str, set[str]] = {t["key"]: set() for t in tasks}

    def reaches(start: str, target: str) -> bool:
        stack, seen = [start], set()
        while stack:
            node = stack.pop()
            if node == target:
                return True
            if node not in seen:
                seen.add(node)
                stack.extend(graph[node])
        return False

    for task in tasks:
        kept = []
        for dep in task["depends_on"]:
            if dep not in keys:
                repairs.append(f"{task['key']}: dropped unknown dependency {dep!r}")
            elif dep == task["key"] or reaches(task["key"], dep):
                repairs.append(f"{task['key']}: dropped dependency on {dep!r} (would close a cycle)")
            elif dep not in kept:
                kept.append(dep)
                graph[dep].add(task["key"])
        task["depends_on"] = kept


async def decompose_with_llm(
    llm: Completer,
    goal: str,
    context: str | None = None,
    *,
    count_hint: int | None = None,
    parent: str | None = None,
    max_tokens: int = 4000,
) -> tuple[list[SubtaskSpec], str, list[str]]:
    """Ask the LLM; on an unusable answer ask once more with the problem named, then refuse.

    Returns (subtasks, model, repairs). Raises `DecompositionRefused` after two unusable answers; errors
    of the client itself (`NotConfigured`, `Unavailable`) pass through.
    """
    prompt = build_prompt(goal, context, count_hint, parent)
    completion = await llm.complete(
        SYSTEM, prompt, complexity="medium", max_tokens=max_tokens, json_schema=JSON_SCHEMA
    )
    try:
        specs, repairs = parse_decomposition(completion.text)
        return specs, completion.model, repairs
    except DecompositionRefused as first:
        logger.warning("LLM decomposition unusable (%s); asking once more", first)
        retry = (
            f"{prompt}\n\nYour previous answer could not be used: {first}. Answer again with only the JSON "
            'object {"tasks": [...]}, complete and valid.'
        )
        completion = await llm.complete(
            SYSTEM, retry, complexity="medium", max_tokens=max_tokens, json_schema=JSON_SCHEMA
        )
        try:
            specs, repairs = parse_decomposition(completion.text)
        except DecompositionRefused as second:
            raise DecompositionRefused(f"{first}; after a retry: {second}") from second
        return specs, completion.model, [f"first answer refused: {first}", *repairs]
