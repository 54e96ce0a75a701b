"""MCP face of code analysis: the `analyze_code` tool."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent
from pydantic import Field

from singularity_mcp.analysis import analyze_path, analyze_source_isolated
from singularity_mcp.analysis.models import AnalyzeCodeResult, FileAnalysis, FolderAnalysis
from singularity_mcp.core import Core
from singularity_mcp.errors import InvalidInput
from singularity_mcp.tools._common import hints, tool_errors

MAX_CONTENT_CHARS = 1_000_000
MAX_DEFINITIONS = 200
MAX_FINDINGS = 100


def _bounded(result: FileAnalysis | FolderAnalysis) -> AnalyzeCodeResult:
    """Cap the long lists of a file result so an answer stays readable; say when something was cut."""
    if isinstance(result, FolderAnalysis):
        return AnalyzeCodeResult.of(result)
    notes = [result.truncated] if result.truncated else []
    if len(result.definitions) > MAX_DEFINITIONS:
        notes.append(f"{len(result.definitions)} definitions, first {MAX_DEFINITIONS} shown")
        result.definitions = result.definitions[:MAX_DEFINITIONS]
    if len(result.findings) > MAX_FINDINGS:
        notes.append(f"{len(result.findings)} findings, first {MAX_FINDINGS} shown")
        result.findings = result.findings[:MAX_FINDINGS]
    if notes and not result.truncated:
        notes.append("pass a smaller excerpt as content= to see the rest")
    result.truncated = "; ".join(notes) or None
    return AnalyzeCodeResult.of(result)


def summary(result: FileAnalysis | FolderAnalysis) -> str:
    """A few lines a person (or a model) can read without the structured content."""
    if isinstance(result, FolderAnalysis):
        langs = ", ".join(f"{t.language} {t.files}" for t in result.languages[:8])
        lines = [
            f"{result.files_analyzed} files analysed ({langs}), {result.files_skipped} skipped, "
            f"in {result.seconds:.2f}s."
        ]
        for h in result.hotspots[:5]:
            lines.append(
                f"hotspot: {h.qualified_name} ({h.path}:{h.start_line}) cyclomatic {h.cyclomatic_complexity}"
            )
        return "\n".join(lines)
    m = result.metrics
    where = result.path or "snippet"
    lines = [
        f"{where} [{result.language}]: {m.loc} lines ({m.sloc} code, {m.comment_lines} comment), "
        f"{m.functions} functions, complexity avg {m.avg_complexity} max {m.max_complexity}, "
        f"maintainability {m.maintainability_index}."
    ]
    worst = sorted(
        (d for d in result.definitions if d.cyclomatic_complexity is not None),
        key=lambda d: -(d.cyclomatic_complexity or 0),
    )[:3]
    lines += [
        f"{d.qualified_name} (line {d.start_line}): cyclomatic {d.cyclomatic_complexity}" for d in worst
    ]
    if result.findings:
        lines.append(
            f"{len(result.findings)} findings, first: line {result.findings[0].line} {result.findings[0].message}"
        )
    return "\n".join(lines)


def register(server: MCPServer, core: Core) -> None:
    @server.tool(annotations=hints("Analyse code"))
    @tool_errors
    async def analyze_code(
        path: Annotated[str | None, Field(description="A file or folder to analyse (absolute path).")] = None,
        content: Annotated[
            str | None,
            Field(
                description=f"Source text to analyse instead of a file (at most {MAX_CONTENT_CHARS:,} characters).",
                max_length=MAX_CONTENT_CHARS,
            ),
        ] = None,
        language: Annotated[
            str | None, Field(description="The language of `content`, or to override detection for `path`.")
        ] = None,
    ) -> Annotated[CallToolResult, AnalyzeCodeResult]:
        """Static analysis with tree-sitter: definitions, complexity, metrics and findings.

        Give ONE of:
        - `path` to a file: its definitions (functions, methods, classes… with qualified names, line
          ranges, parameters, cyclomatic complexity counted as lizard does, cognitive complexity,
          nesting), imports, metrics (LOC, SLOC, comments, maintainability index) and findings
          (too complex, too long, too deeply nested, too many parameters, syntax errors, TODO/FIXME,
          missing docs). `language` overrides detection.
        - `path` to a folder: totals per language, the most complex functions (hotspots) and the least
          maintainable files; .gitignore'd, vendored and generated files are skipped.
        - `content` with `language` (e.g. "python", "rust", "typescript"): the same as for a file,
          for a snippet that is not on disk.
        Use it to judge code quality or find where complexity concentrates. To find code by meaning,
        use semantic_search instead; to read code, read the file.
        """
        if (path is None) == (content is None):
            raise InvalidInput("pass either path (a file or folder) or content (with language), not both")
        if content is not None:
            if not language:
                raise InvalidInput("content needs language=, e.g. language='python'")
            if len(content) > MAX_CONTENT_CHARS:
                raise InvalidInput(
                    f"content is {len(content)} characters, over {MAX_CONTENT_CHARS}; pass a smaller excerpt"
                )
            result: FileAnalysis | FolderAnalysis = await analyze_source_isolated(content, language)
        else:
            assert path is not None
            result = await analyze_path(path, core.settings, language=language)
        bounded = _bounded(result)
        return CallToolResult(
            content=[TextContent(type="text", text=summary(result))],
            structured_content=bounded.model_dump(mode="json", exclude_none=True),
        )
