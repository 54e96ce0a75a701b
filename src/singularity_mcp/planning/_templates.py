"""Decomposition templates: pick the one that fits a goal (keywords, plus embeddings when at hand), and
instantiate its steps as subtasks. Offline, no key."""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

from singularity_mcp.planning.models import SubtaskSpec

Embed = Callable[[Sequence[str]], Awaitable["np.ndarray"]]

GOOD_KEYWORD_SCORE = 0.5
"""At least one of the template's `applies_to` keywords occurs in the goal."""
GOOD_SIMILARITY = 0.38
"""Cosine (all-MiniLM-L6-v2, best over the template's texts) above which a template fits a goal without
any keyword in common (calibrated on benchmarks/planning's labelled goals)."""


@dataclass(frozen=True)
class TemplateStepData:
    key: str
    title: str
    description: str
    depends_on: tuple[str, ...]
    complexity: int
    acceptance_criteria: tuple[str, ...]


@dataclass(frozen=True)
class Template:
    """A decomposition template, detached from the knowledge package's models."""

    artifact_id: str
    title: str
    summary: str
    applies_to: tuple[str, ...]
    tags: tuple[str, ...]
    steps: tuple[TemplateStepData, ...]

    @classmethod
    def from_artifact(cls, artifact: Any) -> Template:
        content = artifact.content
        return cls(
            artifact_id=artifact.artifact_id,
            title=artifact.title,
            summary=artifact.summary,
            applies_to=tuple(content.applies_to),
            tags=tuple(getattr(artifact, "tags", ()) or ()),
            steps=tuple(
                TemplateStepData(
                    key=s.key,
                    title=s.title,
                    description=s.description,
                    depends_on=tuple(s.depends_on),
                    complexity=s.complexity,
                    acceptance_criteria=tuple(s.acceptance_criteria),
                )
                for s in content.steps
            ),
        )

    @property
    def match_texts(self) -> list[str]:
        """What a goal is compared with; the template's similarity is the best of these."""
        whole = f"{self.title}. {self.summary} Applies to: {', '.join(self.applies_to)}."
        return [whole, self.title, self.summary, *self.applies_to]


@dataclass
class TemplateMatch:
    template: Template
    score: float
    keyword_score: float
    similarity: float | None
    matched: list[str] = field(default_factory=list)

    @property
    def good(self) -> bool:
        return self.keyword_score >= GOOD_KEYWORD_SCORE or (self.similarity or 0.0) >= GOOD_SIMILARITY


_WORD = re.compile(r"[a-z0-9]+")
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ed", "es", "s")


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _words(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower())]


def keyword_matches(goal: str, template: Template) -> list[str]:
    """The `applies_to` keywords whose words all occur in the goal."""
    goal_words = set(_words(goal))
    found = []
    for keyword in dict.fromkeys(template.applies_to):
        words = _words(keyword)
        if words and all(w in goal_words for w in words):
            found.append(keyword)
    return found


async def rank_templates(
    goal: str, templates: Sequence[Template], embed: Embed | None = None
) -> list[TemplateMatch]:
    """Templates by fit to `goal`, best first. With `embed`, keyword and cosine scores are blended."""
    similarities: list[float | None] = [None] * len(templates)
    if embed is not None and templates:
        texts = [text for t in templates for text in t.match_texts]
        vectors = await embed([goal, *texts])
        cosines = iter((vectors[1:] @ vectors[0]).tolist())
        similarities = [max(next(cosines) for _ in t.match_texts) for t in templates]
    matches = []
    for template, similarity in zip(templates, similarities, strict=True):
        matched = keyword_matches(goal, template)
        keyword_score = 1.0 - 0.5 ** len(matched)
        score = keyword_score if similarity is None else 0.6 * keyword_score + 0.4 * max(similarity, 0.0)
        matches.append(TemplateMatch(template, round(score, 4), keyword_score, similarity, matched))
    matches.sort(key=lambda m: (-m.score, _generic_rank(m.template), m.template.artifact_id))
    return matches


def memoize_embed(embed: Embed, limit: int = 4096) -> Embed:
    """Remember vectors by text (the templates' texts are embedded once per process, not per goal)."""
    cache: dict[str, np.ndarray] = {}

    async def cached(texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            vectors = await embed(missing)
            if len(cache) + len(missing) > limit:
                cache.clear()
            cache.update(zip(missing, vectors, strict=True))
        return np.stack([cache[t] for t in texts])

    return cached


def _generic_rank(template: Template) -> int:
    """Among equal scores prefer the general-purpose templates (a goal that matches nothing)."""
    text = f"{template.artifact_id} {' '.join(template.tags)}".lower()
    return 0 if "sparc" in text or "generic" in text else 1 if "feature" in text else 2


def instantiate(template: Template, goal: str, *, confidence: float) -> list[SubtaskSpec]:
    """The template's steps as subtasks for `goal` (`{goal}` in a step's text is replaced by the goal)."""
    specs = []
    for step in template.steps:
        specs.append(
            SubtaskSpec(
                key=step.key,
                title=_fill(step.title, goal),
                description=_fill(step.description, goal),
                depends_on=list(step.depends_on),
                complexity=step.complexity,
                acceptance_criteria=[_fill(c, goal) for c in step.acceptance_criteria],
                recommended_subtasks=recommended_subtasks(step.complexity),
                confidence=confidence,
            )
        )
    return specs


def recommended_subtasks(complexity: int) -> int | None:
    """Complex steps (7+) should be decomposed further: 7 -> 3 subtasks ... 10 -> 6."""
    return complexity - 4 if complexity >= 7 else None


def template_confidence(match: TemplateMatch) -> float:
    return round(min(0.9, 0.5 + 0.4 * math.sqrt(max(match.score, 0.0))), 3)


def _fill(text: str, goal: str) -> str:
    return text.replace("{goal}", goal)


GENERIC_TEMPLATE = Template(
    artifact_id="builtin-generic",
    title="Generic engineering task",
    summary="Understand, design, build, verify and ship; used when the knowledge base has no templates.",
    applies_to=(),
    tags=("generic",),
    steps=(
        TemplateStepData("understand", "Clarify the goal and constraints", "Restate {goal}, list the "
                         "constraints and open questions, and agree on what done means.", (), 3,
                         ("Written acceptance criteria exist",)),
        TemplateStepData("design", "Design the approach", "Choose an approach for {goal}, name the parts "
                         "that change and the risks.", ("understand",), 5, ("The approach is written down",)),
        TemplateStepData("build", "Implement", "Make the change for {goal} in small, reviewable steps.",
                         ("design",), 6, ("The change is implemented",)),
        TemplateStepData("verify", "Test and verify", "Add tests that would fail without the change and "
                         "run the full suite.", ("build",), 4, ("Tests pass",)),
        TemplateStepData("ship", "Review and ship", "Get review, update docs, release.", ("verify",), 3,
                         ("Merged and documented",)),
    ),
)  # fmt: skip
