"""Complexity routing: `auto` becomes simple, medium or complex from the task type and the prompt."""

from __future__ import annotations

import re

from singularity_mcp.agent._llm import COMPLEXITIES, Complexity

#: The seed's table: the task type sets the starting level.
TASK_COMPLEXITY: dict[str, Complexity] = {
    "classifier": "simple",
    "parser": "simple",
    "explainer": "simple",
    "general": "medium",
    "coder": "medium",
    "decomposition": "medium",
    "planning": "medium",
    "planner": "medium",
    "reviewer": "medium",
    "debugger": "medium",
    "test_writer": "medium",
    "architect": "complex",
    "refactoring": "complex",
    "code_analysis": "complex",
}

_HARD = re.compile(
    r"\b(architect\w*|design (?:a|an|the)|trade-?offs?|scal(?:e|able|ability|ing)|distributed|"
    r"concurren\w*|race conditions?|deadlocks?|consisten\w*|migrat\w*|security|threat model|"
    r"performance|optimi[sz]\w*|refactor\w*|end-to-end|microservices?|fault[- ]toleran\w*|"
    r"multi-?(?:step|tenant|region)|prove|formal)\b"
)
_EASY = re.compile(
    r"^(what is|what's|what are|define|who|when|which|is there|does|do|is|classify|label|convert|"
    r"format|rename|translate|spell|list|name|yes or no|true or false|extract)\b"
)
#: Characters of prompt plus context beyond which a prompt is one level harder.
_LONG = 4000
_SHORT = 160


def decide_complexity(task_type: str, prompt: str, context: str | None = None) -> Complexity:
    """Start from the task type's level; long or hard prompts go up one, short easy ones down one."""
    level = COMPLEXITIES.index(TASK_COMPLEXITY.get(task_type, "medium"))
    text = prompt.strip().lower()
    size = len(text) + len(context or "")
    hard = len(set(_HARD.findall(text)))
    if size > _LONG or hard >= 2:
        level += 1
    elif len(text) <= _SHORT and not context and hard == 0 and _EASY.match(text) and "\n" not in text:
        level -= 1
    return COMPLEXITIES[max(0, min(level, len(COMPLEXITIES) - 1))]
