"""Code analysis with tree-sitter: definitions, lizard-compatible complexity, metrics, findings, chunks.

Entry points: `analyze_source` (a text), `analyze_path` (a file or a folder), `chunk_source` (for the
search index), `detect_language`, `supported_languages`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from singularity_mcp.analysis._chunking import chunk_source, estimate_tokens
from singularity_mcp.analysis._detect import detect_language, normalize_language, supported_languages
from singularity_mcp.analysis._engine import analyze_tree, parse
from singularity_mcp.analysis._folder import MAX_FILE_BYTES, analyze_folder
from singularity_mcp.analysis.models import (
    Chunk,
    Definition,
    FileAnalysis,
    Finding,
    FolderAnalysis,
    Metrics,
)
from singularity_mcp.errors import InvalidInput, quoted

if TYPE_CHECKING:
    from singularity_mcp.config import Settings

__all__ = [
    "Chunk",
    "Definition",
    "FileAnalysis",
    "Finding",
    "FolderAnalysis",
    "Metrics",
    "analyze_path",
    "analyze_source",
    "chunk_source",
    "detect_language",
    "estimate_tokens",
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
    """Analyse source `text` written in `language` (a name from `supported_languages()` or an alias)."""
    name = _language_or_error(language)
    source = text.encode("utf-8", "surrogatepass")
    lang, tree = parse(name, source)
    return analyze_tree(lang, tree, source, path)


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
    return await asyncio.to_thread(analyze_source, text, name, str(resolved))
