"""Results of `analyze_code`: the tool's output schema and the plain API's return values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field


class Definition(BaseModel):
    """A function, method, class or other named definition."""

    name: str
    qualified_name: str = Field(description="Name with its enclosing definitions, e.g. `Class.method`.")
    kind: str = Field(description="function, method, constructor, class, struct, interface, trait, impl, …")
    start_line: int = Field(description="1-based, inclusive.")
    end_line: int = Field(description="1-based, inclusive.")
    parameters: list[str] = Field(default_factory=list)
    parent: str | None = Field(default=None, description="Qualified name of the enclosing definition.")
    cyclomatic_complexity: int | None = Field(
        default=None, description="Counted as lizard counts it; only for function-like definitions."
    )
    cognitive_complexity: int | None = None
    loc: int = Field(description="Lines the definition spans.")
    nesting_depth: int = Field(default=0, description="Deepest nesting of control structures inside it.")


Severity = Literal["info", "warning", "error"]


class Finding(BaseModel):
    """One thing worth a look: rule id, severity, 1-based line, one-line message."""

    rule: str
    severity: Severity
    line: int
    message: str


class Metrics(BaseModel):
    loc: int
    sloc: int
    comment_lines: int
    blank_lines: int
    functions: int
    avg_complexity: float
    max_complexity: int
    maintainability_index: float = Field(description="radon's formula, 0-100; higher is easier to maintain.")


class FileAnalysis(BaseModel):
    """Analysis of one file or snippet."""

    kind: Literal["file"] = "file"
    path: str | None = None
    language: str
    metrics: Metrics
    definitions: list[Definition]
    imports: list[str]
    findings: list[Finding]
    truncated: str | None = Field(default=None, description="Set when a list was cut; says what to do.")


class LanguageTotals(BaseModel):
    language: str
    files: int
    loc: int
    sloc: int
    comment_lines: int
    blank_lines: int
    functions: int
    avg_complexity: float
    max_complexity: int


class Hotspot(BaseModel):
    """A function with high complexity, for the folder view."""

    path: str
    name: str
    qualified_name: str
    start_line: int
    end_line: int
    cyclomatic_complexity: int
    cognitive_complexity: int | None
    loc: int


class FileSummary(BaseModel):
    path: str
    language: str
    sloc: int
    functions: int
    max_complexity: int
    maintainability_index: float
    findings: int


class FolderAnalysis(BaseModel):
    """Analysis of a folder: totals per language, the most complex functions, the worst files."""

    kind: Literal["folder"] = "folder"
    path: str
    files_analyzed: int
    files_skipped: int
    languages: list[LanguageTotals]
    hotspots: list[Hotspot]
    files: list[FileSummary] = Field(description="Files with the lowest maintainability first.")
    findings_by_rule: dict[str, int]
    errors: list[str] = Field(default_factory=list, description="Files that could not be read.")
    seconds: float
    truncated: str | None = None


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a file for the search index. Lines are 1-based, inclusive."""

    start_line: int
    end_line: int
    symbol: str | None
    kind: str
    language: str | None
    text: str
    path: str | None = None  # the file the chunk comes from, as given to `chunk_source`
    names: tuple[str, ...] = ()  # every definition that starts in the chunk (short names, file order)
    embed_text: str | None = None  # what to embed instead of `text`: the definition alone


class AnalyzeCodeResult(BaseModel):
    """What the `analyze_code` tool returns: the file fields for a file or snippet, the folder fields
    for a folder (`kind` says which)."""

    kind: Literal["file", "folder"]
    path: str | None = None
    # file or snippet
    language: str | None = None
    metrics: Metrics | None = None
    definitions: list[Definition] | None = None
    imports: list[str] | None = None
    findings: list[Finding] | None = None
    # folder
    files_analyzed: int | None = None
    files_skipped: int | None = None
    languages: list[LanguageTotals] | None = None
    hotspots: list[Hotspot] | None = None
    files: list[FileSummary] | None = None
    findings_by_rule: dict[str, int] | None = None
    errors: list[str] | None = None
    seconds: float | None = None
    truncated: str | None = Field(default=None, description="Set when a list was cut; says how to see more.")

    @classmethod
    def of(cls, result: FileAnalysis | FolderAnalysis) -> AnalyzeCodeResult:
        return cls.model_validate(result.model_dump())
