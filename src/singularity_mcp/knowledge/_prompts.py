"""MCP prompts built from the artifacts: the matching system prompt, standard, patterns and template."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from singularity_mcp.errors import InvalidInput, SingularityError
from singularity_mcp.knowledge._files import knowledge_folder, load_artifact_files
from singularity_mcp.knowledge.models import (
    Artifact,
    DecompositionTemplate,
    FrameworkPattern,
    QualityStandard,
    SystemPrompt,
)
from singularity_mcp.paths import allowed_roots, read_file, resolve_allowed

if TYPE_CHECKING:
    from singularity_mcp.core import Core

logger = logging.getLogger(__name__)

MAX_FILE_CHARS = 40_000
MAX_FILE_BYTES = 4 * MAX_FILE_CHARS  # read at most this much; the text is cut at MAX_FILE_CHARS
_DB_WAIT_S = 5.0

#: File suffix -> the `language` used by the artifacts.
LANGUAGES = {
    ".py": "python",
    ".pyi": "python",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".mts": "typescript",
    ".js": "javascript",
    ".jsx": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".rs": "rust",
    ".go": "go",
    ".java": "java",
    ".kt": "kotlin",
    ".kts": "kotlin",
    ".cs": "csharp",
    ".cpp": "cpp",
    ".cc": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".h": "cpp",
    ".ex": "elixir",
    ".exs": "elixir",
    ".gleam": "gleam",
    ".rb": "ruby",
    ".sql": "sql",
    ".swift": "swift",
}


async def available_artifacts(core: Core) -> list[Artifact]:
    """The artifacts from the database, or from the shipped files when the database is not reachable."""
    from singularity_mcp.knowledge._store import list_artifacts

    try:
        with anyio.fail_after(_DB_WAIT_S):
            artifacts = await list_artifacts(core)
        if artifacts:
            return artifacts
    except (SingularityError, TimeoutError) as exc:
        logger.info("knowledge: database not available (%s); using the shipped files", exc)
    return await anyio.to_thread.run_sync(load_artifact_files, knowledge_folder(core.settings))


def _system_prompt(artifacts: list[Artifact], task_type: str) -> str:
    for a in artifacts:
        if isinstance(a, SystemPrompt) and a.content.task_type == task_type:
            return a.content.prompt
    return ""


def _standard(artifacts: list[Artifact], language: str | None) -> QualityStandard | None:
    for a in artifacts:
        if isinstance(a, QualityStandard) and language and a.language == language:
            return a
    return None


def _standard_text(standard: QualityStandard | None, topics: tuple[str, ...] | None = None) -> str:
    if standard is None:
        return ""
    lines = [f"## {standard.title} ({standard.uri})"]
    for section in standard.content.sections:
        if topics and section.topic not in topics:
            continue
        lines.append(f"### {section.topic.replace('_', ' ')}")
        lines += [f"- {rule}" for rule in section.rules]
    if standard.content.tooling:
        lines.append("Tooling: " + ", ".join(f"`{t}`" for t in standard.content.tooling))
    return "\n".join(lines)


async def _read_source(core: Core, path: str) -> tuple[Path, str, str | None]:
    resolved = resolve_allowed(path, core.settings)
    if resolved.is_dir():
        raise InvalidInput(f"{resolved} is a folder: pass the path of one source file")
    roots = allowed_roots(core.settings)
    read = await anyio.to_thread.run_sync(
        lambda: read_file(resolved, max_bytes=MAX_FILE_BYTES, roots=roots, truncate=True)
    )
    raw = read.data
    if b"\0" in raw[:8192]:
        raise InvalidInput(f"{resolved} looks binary: pass a source file")
    text = raw.decode("utf-8", errors="replace")
    if len(text) > MAX_FILE_CHARS:
        text = text[:MAX_FILE_CHARS] + f"\n… (cut at {MAX_FILE_CHARS} characters of {read.size} bytes)"
    return resolved, text, LANGUAGES.get(resolved.suffix.lower())


def _fenced(path: Path, text: str, language: str | None) -> str:
    fence = "````" if "```" in text else "```"
    return f"File `{path}`:\n{fence}{language or ''}\n{text}\n{fence}"


def _join(*parts: str) -> str:
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


async def sparc_plan_prompt(core: Core, goal: str) -> str:
    if not goal or not goal.strip():
        raise InvalidInput("goal is empty: describe what should be built")
    artifacts = await available_artifacts(core)
    template = next(
        (a for a in artifacts if isinstance(a, DecompositionTemplate) and a.artifact_id == "sparc"), None
    )
    steps = ""
    if template is not None:
        lines = [f"## SPARC phases ({template.uri})"]
        for i, step in enumerate(template.content.steps, 1):
            lines.append(f"{i}. **{step.title}** — {step.description}")
            lines += [f"   - done when: {c}" for c in step.acceptance_criteria]
        steps = "\n".join(lines)
    return _join(
        _system_prompt(artifacts, "planner"),
        f"# Goal\n{goal.strip()}",
        steps,
        "Plan this goal phase by phase with SPARC. For each phase list concrete tasks (verb-first title, "
        "what it depends on, complexity 1-10, acceptance criteria). Put open questions and risks first. "
        "If the plan_task tool is available, create the plan with it so progress can be tracked.",
    )


async def code_review_prompt(core: Core, path: str) -> str:
    resolved, text, language = await _read_source(core, path)
    artifacts = await available_artifacts(core)
    return _join(
        _system_prompt(artifacts, "reviewer"),
        _standard_text(_standard(artifacts, language)),
        _fenced(resolved, text, language),
        "Review this file. List findings by severity (correctness, security, concurrency, performance, "
        "maintainability) with the line, the problem, a concrete failing scenario and the fix. End with a verdict.",
    )


async def refactor_prompt(core: Core, path: str) -> str:
    resolved, text, language = await _read_source(core, path)
    artifacts = await available_artifacts(core)
    return _join(
        _system_prompt(artifacts, "refactoring"),
        _standard_text(_standard(artifacts, language), ("naming", "structure", "error_handling", "typing")),
        _fenced(resolved, text, language),
        "Propose a refactoring of this file: name the smells, then give behaviour-preserving steps in order "
        "(tests first where coverage is missing), and show the resulting code. Keep the public interface.",
    )


async def write_tests_prompt(core: Core, path: str) -> str:
    resolved, text, language = await _read_source(core, path)
    artifacts = await available_artifacts(core)
    patterns = [
        a
        for a in artifacts
        if isinstance(a, FrameworkPattern) and a.language == language and "testing" in a.tags
    ]
    pattern_text = "\n\n".join(
        f"## {p.title} ({p.uri})\n```{p.language}\n{p.content.code}```" for p in patterns[:2]
    )
    return _join(
        _system_prompt(artifacts, "test_writer"),
        _standard_text(_standard(artifacts, language), ("testing", "tooling")),
        pattern_text,
        _fenced(resolved, text, language),
        "Write tests for this file with the project's test framework: the behaviours of its public functions, "
        "boundaries, error paths. Assert specific values; keep tests deterministic and independent.",
    )
