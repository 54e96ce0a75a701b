"""Inputs and outputs of the indexing and search tools (their JSON schemas are the MCP contract)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

MAX_QUERY_CHARS = 20_000
"""Longest search query: a pasted function or stack trace fits (the embedder reads ~256 tokens anyway)."""


class IndexProgress(BaseModel):
    """Where an index run stands."""

    phase: Literal["scan", "lexical", "dense", "done", "failed"] = Field(
        description="scan: listing files; lexical: parsing and storing chunks (search works once this "
        "ends); dense: embedding chunks (search quality improves as it goes); done."
    )
    files_total: int = 0
    files_done: int = 0
    chunks_total: int = 0
    chunks_embedded: int = 0
    message: str = ""
    eta_seconds: float | None = Field(
        None,
        description="Seconds left, from the rates this run measured so far (parse and embed apart) or this "
        "machine's earlier runs; updated with every batch.",
    )


class PreflightSummary(BaseModel):
    """What a run is about to do, sent before the work starts."""

    files_seen: int
    files_to_index: int
    files_unchanged: int
    files_to_remove: int
    by_language: dict[str, int] = Field(description="Files to (re)index per language.")
    estimated_seconds: float = Field(description="Estimate for parsing plus embedding on this machine.")
    estimated_parse_seconds: float = 0.0
    estimated_embed_seconds: float = Field(
        0.0, description="Includes loading the model and vectors left unfilled by an interrupted run."
    )
    estimate_basis: str = Field(
        "",
        description="Whether the rates were measured on this machine or are defaults, and the CPU share "
        "measured before the run that they were scaled to.",
    )


class IndexResult(BaseModel):
    """Outcome of `index_codebase` (or its state so far when status is `running`)."""

    status: Literal["done", "running", "failed"]
    repo: str = Field(description="Absolute path of the indexed root.")
    files_indexed: int = Field(0, description="Files parsed and stored in this run.")
    files_unchanged: int = 0
    files_removed: int = 0
    files_skipped: int = Field(0, description="Binary or unreadable files.")
    chunks: int = Field(0, description="Chunks now in the index for this root.")
    vectors_filled: int = Field(0, description="Chunk vectors filled in this run (0 when nothing changed).")
    seconds: float = 0.0
    progress: IndexProgress
    preflight: PreflightSummary | None = None
    error: str | None = None
    hint: str | None = None


class RootStatus(BaseModel):
    """One indexed root as `index_status` reports it."""

    repo: str
    state: Literal["new", "indexing", "ready", "failed"]
    running_here: bool = Field(description="True when this server process is indexing it right now.")
    files: int
    chunks: int
    chunks_embedded: int
    languages: dict[str, int] = Field(description="Files per language.")
    progress: IndexProgress | None = None
    indexed_at: str | None = None
    last_error: str | None = None


class IndexStatus(BaseModel):
    """Indexed roots (one, or all when no path was given)."""

    roots: list[RootStatus]


class CodeHit(BaseModel):
    """A piece of indexed code."""

    kind: Literal["code"] = "code"
    path: str = Field(description="Absolute file path.")
    start_line: int = Field(description="1-based, inclusive.")
    end_line: int = Field(description="1-based, inclusive.")
    symbol: str | None = Field(None, description="Qualified name of the definition, when the chunk is one.")
    symbol_kind: str | None = Field(None, description="function, method, class, module, text, ...")
    language: str | None = None
    score: float
    snippet: str = Field(description="The chunk's text, trimmed.")


class KnowledgeResult(BaseModel):
    """A knowledge-base artifact (filled in from the knowledge package's hits)."""

    kind: Literal["knowledge"] = "knowledge"
    artifact_id: str
    artifact_type: str
    title: str
    score: float
    snippet: str
    uri: str


class SearchResult(BaseModel):
    """Ranked hits, best first; code and knowledge are ranked separately, each score on its own scale."""

    results: list[CodeHit | KnowledgeResult] = Field(
        description="One kind of hit: code (scope code or all) or knowledge artifacts (scope knowledge)."
    )
    knowledge: list[KnowledgeResult] = Field(
        default_factory=list,
        description="With scope all: a few knowledge-base artifacts related to the query, a separate "
        "section (their scores are not comparable with code scores). Empty when path, language or kind "
        "narrows the search to code.",
    )
    took_ms: float
    dense_coverage: float | None = Field(
        None,
        description="Share of the searched chunks that have vectors; below 1 while indexing still "
        "fills in embeddings (results then lean on keyword matching).",
    )
    notes: list[str] = Field(default_factory=list, description="Anything that limited the answer.")
