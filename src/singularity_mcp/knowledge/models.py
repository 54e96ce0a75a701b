"""Knowledge artifacts (a discriminated union on `artifact_type`) and the knowledge API's results.

Every artifact shares `artifact_id`, `artifact_type`, `version`, `title`, `summary`, `language`, `tags`;
`content` has a shape per type. The JSON Schemas exported from these models live in
`knowledge_base/schema/` so editors validate artifacts while people write them.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

ArtifactType = Literal[
    "quality_standard", "framework_pattern", "system_prompt", "decomposition_template", "rule"
]
ARTIFACT_TYPES: tuple[str, ...] = get_args(ArtifactType)

TaskType = Literal[
    "general",
    "coder",
    "architect",
    "refactoring",
    "reviewer",
    "debugger",
    "test_writer",
    "explainer",
    "classifier",
    "planner",
]
TASK_TYPES: tuple[str, ...] = get_args(TaskType)

_ID = r"^[a-z0-9][a-z0-9_.-]{1,79}$"
_KEY = r"^[a-z0-9][a-z0-9_-]{0,39}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- content shapes -----------------------------------------------------------------------------------


class StandardSection(_Strict):
    """One topic of a quality standard: the rules, with a short good and bad example."""

    topic: Literal[
        "naming",
        "error_handling",
        "testing",
        "typing",
        "tooling",
        "structure",
        "concurrency",
        "security",
        "performance",
        "documentation",
    ]
    rules: list[str] = Field(min_length=1)
    good: str = ""
    """A short example that follows the rules."""
    bad: str = ""
    """A short example that breaks them."""


class QualityStandardContent(_Strict):
    sections: list[StandardSection] = Field(min_length=3)
    tooling: list[str] = Field(default_factory=list)
    """Commands or tools that enforce the standard (e.g. `ruff check`, `cargo clippy -D warnings`)."""


class FrameworkPatternContent(_Strict):
    framework: str = Field(min_length=1)
    """The library or runtime the pattern is for (asyncio, FastAPI, tokio, OTP, ...)."""
    problem: str = Field(min_length=10)
    when_to_use: list[str] = Field(min_length=1)
    when_not_to_use: list[str] = Field(default_factory=list)
    code: str = Field(min_length=20)
    """Working code, in the artifact's `language`."""
    notes: list[str] = Field(default_factory=list)
    """Pitfalls and the reasons behind the shape of the code."""


class SystemPromptContent(_Strict):
    task_type: TaskType
    prompt: str = Field(min_length=40)


class TemplateStep(_Strict):
    key: str = Field(pattern=_KEY)
    title: str = Field(min_length=3)
    description: str = Field(min_length=10)
    depends_on: list[str] = Field(default_factory=list)
    complexity: int = Field(ge=1, le=10)
    acceptance_criteria: list[str] = Field(min_length=1)


class DecompositionTemplateContent(_Strict):
    applies_to: list[str] = Field(min_length=1)
    """Keywords of goals this template fits ("bug", "regression", "crash", ...)."""
    steps: list[TemplateStep] = Field(min_length=2)

    @model_validator(mode="after")
    def _check_graph(self) -> DecompositionTemplateContent:
        keys = [s.key for s in self.steps]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"steps: duplicate key(s) {dupes}")
        seen: set[str] = set()
        for i, step in enumerate(self.steps):
            for dep in step.depends_on:
                if dep not in keys:
                    raise ValueError(f"steps[{i}].depends_on: unknown step key {dep!r}")
                if dep not in seen:
                    raise ValueError(
                        f"steps[{i}].depends_on: {dep!r} must come earlier in the list (steps are in order)"
                    )
            seen.add(step.key)
        return self


class RuleTriggers(_Strict):
    patterns: list[str] = Field(default_factory=list)
    """Regular expressions (Python `re`, matched case-insensitively with `search`)."""
    keywords: list[str] = Field(default_factory=list)
    """Lower-case words or phrases; a rule fires when all its keywords (or any pattern) occur."""

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for i, pattern in enumerate(patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"item {i} is not a valid regular expression: {exc}") from None
        return patterns

    @model_validator(mode="after")
    def _something(self) -> RuleTriggers:
        if not self.patterns and not self.keywords:
            raise ValueError("a rule needs at least one pattern or keyword")
        return self


class RuleContent(_Strict):
    task_types: list[TaskType] = Field(min_length=1)
    triggers: RuleTriggers
    answer: str = Field(min_length=10)
    confidence: float = Field(ge=0.0, le=1.0)


# --- artifacts ----------------------------------------------------------------------------------------


class Provenance(_Strict):
    """Where a learned artifact came from, and how it has fared (set on export, not by authors)."""

    origin: str = "learned"
    created_at: datetime | None = None
    usage_count: int = 0
    success_rate: float | None = None


class _ArtifactBase(_Strict):
    artifact_id: str = Field(pattern=_ID)
    """Unique across the knowledge base; also the file name (`<artifact_type>/<artifact_id>.json`)."""
    version: str = Field(pattern=r"^\d+(\.\d+){0,2}$")
    title: str = Field(min_length=3, max_length=160)
    summary: str = Field(min_length=10, max_length=800)
    language: str | None = Field(default=None, pattern=r"^[a-z0-9#+_-]+$")
    """Lower-case language name (python, typescript, rust, ...) or null when language-agnostic."""
    tags: list[str] = Field(default_factory=list)
    provenance: Provenance | None = None

    @field_validator("tags")
    @classmethod
    def _lower_tags(cls, tags: list[str]) -> list[str]:
        return [t.strip().lower() for t in tags if t.strip()]

    @property
    def uri(self) -> str:
        return f"knowledge://{self.artifact_type}/{self.artifact_id}"  # type: ignore[attr-defined]


class QualityStandard(_ArtifactBase):
    artifact_type: Literal["quality_standard"]
    content: QualityStandardContent


class FrameworkPattern(_ArtifactBase):
    artifact_type: Literal["framework_pattern"]
    language: str = Field(pattern=r"^[a-z0-9#+_-]+$")
    content: FrameworkPatternContent


class SystemPrompt(_ArtifactBase):
    artifact_type: Literal["system_prompt"]
    content: SystemPromptContent


class DecompositionTemplate(_ArtifactBase):
    artifact_type: Literal["decomposition_template"]
    content: DecompositionTemplateContent


class Rule(_ArtifactBase):
    artifact_type: Literal["rule"]
    content: RuleContent


Artifact = Annotated[
    QualityStandard | FrameworkPattern | SystemPrompt | DecompositionTemplate | Rule,
    Field(discriminator="artifact_type"),
]
ARTIFACT_ADAPTER: TypeAdapter[Artifact] = TypeAdapter(Artifact)


def parse_artifact(data: object) -> Artifact:
    """Validate a decoded JSON object as an artifact (raises pydantic `ValidationError`)."""
    return ARTIFACT_ADAPTER.validate_python(data)


# --- results ------------------------------------------------------------------------------------------


class KnowledgeHit(BaseModel):
    """One knowledge search result (the `semantic_search` knowledge hit)."""

    kind: Literal["knowledge"] = "knowledge"
    artifact_id: str
    artifact_type: str
    title: str
    score: float
    """0.7·similarity + 0.2·success_rate (smoothed) + 0.1·recency."""
    snippet: str
    uri: str
    language: str | None = None
    similarity: float = 0.0


class UsageFigures(BaseModel):
    """How often an artifact was used and how it fared."""

    artifact_id: str
    usage_count: int
    success_count: int
    failure_count: int
    success_rate: float
    """Smoothed: (successes + 1) / (feedback + 2), so an artifact without feedback sits at 0.5."""
    last_used_at: datetime | None


class ArtifactSummary(BaseModel):
    """An artifact without its content, as listed by `knowledge://artifacts`."""

    artifact_id: str
    artifact_type: str
    title: str
    summary: str
    language: str | None
    tags: list[str]
    version: str
    uri: str
    source: str = "curated"
    usage_count: int = 0
    success_rate: float = 0.5


class ImportReport(BaseModel):
    """What `import_artifacts` did."""

    folder: str
    artifacts: int
    inserted: int
    updated: int
    unchanged: int
    removed: int
    embedded: int
    """Artifacts whose embedding text changed and was embedded (0 when nothing changed)."""
    seconds: float
    changed_ids: list[str] = Field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated or self.removed)


class FeedbackResult(BaseModel):
    """`record_feedback`'s answer: the updated figures for the artifact and/or the answer."""

    artifact: UsageFigures | None = None
    """The artifact named by `artifact_id`."""
    answer: dict | None = None
    """The answer's updated figures (from ask_agent), when `answer_id` was given."""
    artifacts_used: list[UsageFigures] = Field(default_factory=list)
    """Knowledge artifacts the answer drew on; they get the same feedback."""


class ExportReport(BaseModel):
    folder: str
    written: list[str]
    skipped: int
