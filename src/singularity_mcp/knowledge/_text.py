"""The texts an artifact is found by: a short one to embed, a longer one for full-text search."""

from __future__ import annotations

from singularity_mcp.knowledge.models import (
    Artifact,
    DecompositionTemplate,
    FrameworkPattern,
    QualityStandard,
    Rule,
    SystemPrompt,
)

_TYPE_WORDS = {
    "quality_standard": "coding standard",
    "framework_pattern": "pattern",
    "system_prompt": "system prompt",
    "decomposition_template": "plan template",
    "rule": "rule",
}


def embedding_text(artifact: Artifact) -> str:
    """Title, summary, tags and the most telling content; short enough for the model's window."""
    head = [artifact.title + ".", artifact.summary]
    if artifact.language:
        head.append(f"Language: {artifact.language}.")
    if artifact.tags:
        head.append("Tags: " + ", ".join(artifact.tags) + ".")
    if isinstance(artifact, FrameworkPattern):
        head.append(f"{artifact.content.framework}: {artifact.content.problem}")
        head.append("Use when: " + "; ".join(artifact.content.when_to_use))
    elif isinstance(artifact, QualityStandard):
        head.append(
            "Covers: " + ", ".join(s.topic.replace("_", " ") for s in artifact.content.sections) + "."
        )
    elif isinstance(artifact, DecompositionTemplate):
        head.append("For: " + ", ".join(artifact.content.applies_to) + ".")
        head.append("Steps: " + "; ".join(s.title for s in artifact.content.steps) + ".")
    elif isinstance(artifact, Rule):
        head.append("Keywords: " + ", ".join(artifact.content.triggers.keywords) + ".")
    elif isinstance(artifact, SystemPrompt):
        head.append(f"Task type: {artifact.content.task_type}.")
    return " ".join(head)


def search_text(artifact: Artifact) -> str:
    """Everything worth matching words against (code included: identifiers are good search terms)."""
    parts = [artifact.title, artifact.summary, " ".join(artifact.tags), artifact.language or ""]
    parts.append(_TYPE_WORDS[artifact.artifact_type])
    if isinstance(artifact, FrameworkPattern):
        c = artifact.content
        parts += [c.framework, c.problem, *c.when_to_use, *c.when_not_to_use, *c.notes, c.code]
    elif isinstance(artifact, QualityStandard):
        for section in artifact.content.sections:
            parts += [section.topic.replace("_", " "), *section.rules, section.good, section.bad]
        parts += artifact.content.tooling
    elif isinstance(artifact, DecompositionTemplate):
        parts += artifact.content.applies_to
        for step in artifact.content.steps:
            parts += [step.title, step.description, *step.acceptance_criteria]
    elif isinstance(artifact, Rule):
        parts += [*artifact.content.triggers.keywords, artifact.content.answer]
    elif isinstance(artifact, SystemPrompt):
        parts += [artifact.content.task_type, artifact.content.prompt]
    return "\n".join(p for p in parts if p)
