"""Tier 1: deterministic rules, from the knowledge base and learned at run time, matched in memory."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from singularity_mcp.agent import _knowledge

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

    from singularity_mcp.core import Core

logger = logging.getLogger(__name__)

#: A rule answers only at or above this confidence.
MIN_CONFIDENCE = 0.9
#: How long a loaded rule set is trusted before it is read again (other processes may learn rules).
REFRESH_S = 60.0
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Rule:
    rule_id: str
    answer: str
    confidence: float
    patterns: tuple[re.Pattern[str], ...] = ()
    keywords: tuple[str, ...] = ()
    task_types: frozenset[str] = frozenset()
    """Empty (or containing "any"/"*"): every task type."""
    context_hash: str | None = None
    """Learned rules answer only for the context they were learned with; knowledge rules for any."""
    learned: bool = False
    artifact_id: str | None = None

    def applies(self, prompt: str, words: set[str], task_type: str, context_hash: str) -> bool:
        if self.task_types and task_type not in self.task_types and not self.task_types & {"any", "*"}:
            return False
        if self.context_hash is not None and self.context_hash != context_hash:
            return False
        if any(p.search(prompt) for p in self.patterns):
            return True
        return bool(self.keywords) and all(k in words for k in self.keywords)


def learned_pattern(prompt: str) -> str:
    """A regex matching `prompt` word for word, ignoring case, punctuation and spacing."""
    words = _WORD.findall(prompt.lower())
    return r"^\W*" + r"\W+".join(re.escape(w) for w in words) + r"\W*$"


def rule_from_artifact(artifact: Any) -> Rule | None:
    """A `rule` artifact (content: task_types, triggers {patterns, keywords}, answer, confidence)."""
    artifact_id = str(_knowledge.field(artifact, "artifact_id"))
    content = _knowledge.as_dict(_knowledge.field(artifact, "content"))
    triggers = _knowledge.as_dict(content.get("triggers"))
    answer = content.get("answer")
    if not answer:
        return None
    patterns = []
    for text in triggers.get("patterns") or ():
        try:
            patterns.append(re.compile(text, re.IGNORECASE))
        except re.error as exc:
            logger.warning("rule %s: pattern %r does not compile (%s); skipped", artifact_id, text, exc)
    keywords = tuple(w for k in triggers.get("keywords") or () for w in _WORD.findall(str(k).lower()))
    if not patterns and not keywords:
        return None
    return Rule(
        rule_id=artifact_id,
        answer=str(answer),
        confidence=float(content.get("confidence", 0.0)),
        patterns=tuple(patterns),
        keywords=keywords,
        task_types=frozenset(str(t) for t in content.get("task_types") or ()),
        artifact_id=artifact_id,
    )


@dataclass
class RuleBook:
    """The rules in memory, best confidence first; reloaded when stale or when a rule is learned."""

    rules: list[Rule] = field(default_factory=list)
    loaded_at: float = -1e9

    def match(self, prompt: str, task_type: str, context_hash: str) -> Rule | None:
        words = set(_WORD.findall(prompt.lower()))
        for rule in self.rules:
            if rule.confidence < MIN_CONFIDENCE:
                break
            if rule.applies(prompt, words, task_type, context_hash):
                return rule
        return None

    def replace(self, rules: Iterable[Rule]) -> None:
        self.rules = sorted(rules, key=lambda r: (-r.confidence, r.learned, r.rule_id))
        self.loaded_at = time.monotonic()

    @property
    def stale(self) -> bool:
        return time.monotonic() - self.loaded_at > REFRESH_S

    def invalidate(self) -> None:
        self.loaded_at = -1e9

    async def refresh(self, core: Core, pool: AsyncConnectionPool) -> None:
        learned = await load_learned(pool)
        known = {r.rule_id for r in learned} | {r.artifact_id for r in learned if r.artifact_id}
        rules = [r for a in await _knowledge.artifacts(core, "rule") if (r := rule_from_artifact(a))]
        self.replace([r for r in rules if r.rule_id not in known] + learned)


async def load_learned(pool: AsyncConnectionPool) -> list[Rule]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT rule_id, task_type, context_hash, pattern, answer, confidence, artifact_id FROM agent_rules"
        )
        rows = await cursor.fetchall()
    return [
        Rule(
            rule_id=rule_id,
            answer=answer,
            confidence=confidence,
            patterns=(re.compile(pattern, re.IGNORECASE),),
            task_types=frozenset([task_type]),
            context_hash=context_hash,
            learned=True,
            artifact_id=artifact_id,
        )
        for rule_id, task_type, context_hash, pattern, answer, confidence, artifact_id in rows
    ]
