"""Code analysis with tree-sitter: definitions, lizard-compatible complexity, metrics, findings, chunks.

Entry points: `analyze_source` (a text), `analyze_source_isolated` (the same in a worker process, under a
time budget: what a server calls), `analyze_path` (a file or a folder), `chunk_source` (for the search
index), `detect_language`, `supported_languages`. `analysis.syntax` holds the tree-sitter pieces other
packages build on (the symbol index).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from singularity_mcp.analysis._chunking import chunk_source, estimate_tokens
from singularity_mcp.analysis._detect import detect_language, normalize_language, supported_languages
from singularity_mcp.analysis._engine import analyze_tree, parse
from singularity_mcp.analysis._folder import MAX_FILE_BYTES, analyze_folder
from singularity_mcp.analysis._limits import MAX_NESTING, nesting_depth
from singularity_mcp.analysis.models import (
    Chunk,
    Definition,
    FileAnalysis,
    Finding,
    FolderAnalysis,
    Metrics,
)
from singularity_mcp.errors import InvalidInput, quoted

ANALYSIS_BUDGET_S = 20.0  # one file or snippet; past it the worker is killed and the caller told why

if TYPE_CHECKING:
    from singularity_mcp.config import Settings

__all__ = [
    "MAX_NESTING",
    "Chunk",
    "Definition",
    "FileAnalysis",
    "Finding",
    "FolderAnalysis",
    "Metrics",
    "analyze_path",
    "analyze_source",
    "analyze_source_isolated",
    "chunk_source",
    "detect_language",
    "estimate_tokens",
    "nesting_depth",
    "normalize_language",
    "supported_languages",
]


def _language_or_error(language: str) -> str:
    name = normalize_language(language)
    if name is None:
        raise InvalidInput(
            f"unknown language {quoted(language)}; use one of: {', '.join(supported_languages())}"
        )
    return name


def analyze_source(text: str, language: str, path: str | None = None) -> FileAnalysis:
    """Analyse source `text` written in `language` (a name from `supported_languages()` or an alias).

    Refuses code nested deeper than `MAX_NESTING` brackets (tree-sitter's queries grow quadratically
    with depth: 70,000 nested parentheses in JavaScript take minutes).
    """
    name = _language_or_error(language)
    source = text.encode("utf-8", "surrogatepass")
    depth = nesting_depth(source)
    if depth > MAX_NESTING:
        raise InvalidInput(
            f"{path or 'the code'} nests brackets {depth} levels deep, over the {MAX_NESTING}-level limit "
            "for analysis; pass hand-written code or a smaller excerpt"
        )
    lang, tree = parse(name, source)
    return analyze_tree(lang, tree, source, path)


async def analyze_source_isolated(
    text: str, language: str, path: str | None = None, budget_s: float = ANALYSIS_BUDGET_S
) -> FileAnalysis:
    """`analyze_source` in a worker process, stopped after `budget_s` seconds (`InvalidInput` then).

    tree-sitter holds the GIL while it parses and queries, so in a thread a slow input would stall the
    whole server (every other request, `tools/list` included); in a worker process it costs only itself.
    """
    import anyio
    import anyio.to_process

    name = _language_or_error(language)
    try:
        with anyio.fail_after(budget_s):
            try:
                return await anyio.to_process.run_sync(analyze_source, text, name, path, cancellable=True)
            except anyio.BrokenWorkerProcess:
                # anyio reuses idle workers; one that died since (killed with an earlier cancelled call,
                # not reaped yet) fails on the first write and is dropped. The retry gets a live one.
                return await anyio.to_process.run_sync(analyze_source, text, name, path, cancellable=True)
    except TimeoutError:
        raise InvalidInput(
            f"analysing {path or 'the code'} took longer than {budget_s:g}s and was stopped; "
            "pass a smaller excerpt"
        ) from None


async def analyze_path(
    path: Path | str, settings: Settings, language: str | None = None
) -> FileAnalysis | FolderAnalysis:
    """Analyse a file, or every source file of a folder (gitignore-aware, in parallel across cores).

    Raises `InvalidInput` for a missing path, a path outside `settings.allowed_roots`, a binary or
    oversized file, or a file whose language cannot be told (pass `language` then).
    """
    from singularity_mcp.paths import allowed_roots, read_file, resolve_allowed

    resolved = resolve_allowed(path, settings)
    roots = allowed_roots(settings)
    if resolved.is_dir():
        return await analyze_folder(resolved, roots=roots)
    data = (await asyncio.to_thread(read_file, resolved, max_bytes=MAX_FILE_BYTES, roots=roots)).data
    if b"\0" in data[:8192]:
        raise InvalidInput(f"{resolved} looks binary (it holds NUL bytes); pass a source file")
    if language is not None:
        name = _language_or_error(language)
    else:
        detected = detect_language(resolved, data[:256])
        if detected is None:
            raise InvalidInput(
                f"cannot tell the language of {resolved.name}; pass language= (one of: "
                f"{', '.join(supported_languages())})"
            )
        name = detected
    text = data.decode("utf-8", "replace")
    return await analyze_source_isolated(text, name, str(resolved))
