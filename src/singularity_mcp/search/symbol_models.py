"""Outputs of the symbol tools: find_symbol, find_references, repo_map (their JSON schemas are the MCP
contract)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class SymbolHit(BaseModel):
    """One definition."""

    name: str
    qualified_name: str = Field(description="Name with its enclosing definitions, e.g. 'Parser.parse'.")
    kind: str = Field(description="function, method, class, struct, interface, enum, module, type, ...")
    path: str = Field(description="Absolute path of the file.")
    start_line: int = Field(description="1-based first line of the definition.")
    end_line: int = Field(description="1-based last line (inclusive).")
    signature: str = Field(description="The definition's head: its line up to the body.")
    language: str | None = None


class FindSymbolResult(BaseModel):
    """Definitions matching a name."""

    query: str
    match: Literal["exact", "qualified", "fuzzy", "none"] = Field(
        description="exact: the name matched; qualified: a dotted name matched; fuzzy: nothing matched "
        "exactly, these are the closest names (check them); none: nothing close either."
    )
    symbols: list[SymbolHit]
    truncated: bool = Field(False, description="More definitions matched than were returned.")
    took_ms: float
    notes: list[str] = Field(default_factory=list)


class ReferenceLine(BaseModel):
    line: int = Field(description="1-based line number.")
    text: str = Field(description="The line's text (trimmed).")
    enclosing: str = Field(description="Qualified name of the definition the line is in; '' at top level.")
    kind: Literal["call", "type", "name"] = Field(
        description="call: the name is called; type: used as a type."
    )


class FileReferences(BaseModel):
    path: str = Field(description="Absolute path of the file.")
    references: list[ReferenceLine]


class FindReferencesResult(BaseModel):
    """Every place in code (not comments or strings) where a name is used, grouped by file."""

    name: str
    total: int = Field(description="Lines referencing the name in scope (before any cut).")
    files: list[FileReferences]
    definitions: list[SymbolHit] = Field(description="Where the name is defined (the definitions are not "
                                         "listed as references).")  # fmt: skip
    truncated: bool = Field(False, description="Only the first references were returned; narrow with path.")
    took_ms: float
    notes: list[str] = Field(default_factory=list)


class RepoMapResult(BaseModel):
    """A ranked outline of a codebase, packed to a token budget."""

    root: str = Field(description="The folder mapped.")
    text: str = Field(description="The map: per file, its most important definitions' signature lines.")
    files: list[str] = Field(description="Files in the map, most important first (relative paths).")
    definitions: int = Field(description="Definition lines in the map.")
    tokens: int = Field(description="Tokens of `text` under the embedding model's tokenizer.")
    token_budget: int
    files_total: int = Field(description="Files with definitions in scope.")
    took_ms: float
    notes: list[str] = Field(default_factory=list)
