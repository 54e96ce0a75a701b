"""Turn one file on disk into rows for the index (blocking: run in a worker thread)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from singularity_mcp.errors import InvalidInput
from singularity_mcp.paths import AllowedRoots, read_file
from singularity_mcp.search._lexical import lexical_text, path_text, whole_identifiers, words_of
from singularity_mcp.search._walk import MAX_FILE_BYTES, decode_source, looks_binary

if TYPE_CHECKING:
    from singularity_mcp.search._symbols import FileSymbols

CHUNK_TOKENS = 256


@dataclass(slots=True)
class ChunkRow:
    start_line: int
    end_line: int
    symbol: str | None
    kind: str
    content: str
    embed_text: str | None  # what the embedder sees instead of `content` (the definition alone), if not it
    embed_sha256: bytes
    symbol_words: str  # the words of every definition name in the chunk (tsvector weight A)
    name_words: str  # those names whole, as exact-name evidence (weight C)
    content_words: str


@dataclass(slots=True)
class PreparedFile:
    """A file read, hashed and (when its content changed) chunked."""

    rel_path: str
    size: int
    mtime_ns: int
    sha256: bytes
    language: str | None = None
    chunks: list[ChunkRow] | None = None  # None: content unchanged, only size/mtime need updating
    path_words: str = ""
    skipped: str | None = None  # why the file is not indexed (binary, unreadable, no language)
    symbols: FileSymbols | None = None  # definitions and references, written with the chunks


def embedding_text(rel_path: str, symbol: str | None, content: str) -> str:
    """What the embedder sees for a chunk: where it lives, its name, then the code."""
    header = f"{rel_path} {symbol}" if symbol else rel_path
    return f"{header}\n{content}"


def name_text(rel_path: str, symbol: str | None, kind: str) -> str:
    """What the embedder sees for a chunk's name vector: the file's stem and the qualified name in words,
    and the kind (`infiniteQueryBehavior.ts`, `hasNextPage` -> "infinite query behavior: has next page
    (function)"). Code identifiers embed poorly as written; their words embed like the question."""
    stem = rel_path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return f"{words_of(stem)}: {words_of(symbol) if symbol else 'module code'} ({kind})"


def _names(symbol: str | None, names: tuple[str, ...]) -> list[str]:
    """The chunk's definition names: its symbol's last part (a piece of a split definition has no
    definition of its own) and every definition that starts in it."""
    last = re.split(r"[.:#]+", symbol)[-1] if symbol else ""
    return list(dict.fromkeys([last, *names] if last else names))


def prepare_file(
    root: Path, rel_path: str, known_sha256: bytes | None, force: bool, allowed: AllowedRoots | None = None
) -> PreparedFile:
    """Read, hash and chunk `root/rel_path`. `known_sha256` is the stored hash (unchanged content is not
    re-chunked unless `force`). The file is read only if it is a regular file (not a symlink) whose real
    path lies inside `root` and the `allowed` roots; otherwise it is skipped (and so dropped from the index)."""
    from singularity_mcp.analysis import chunk_source, detect_language
    from singularity_mcp.search._symbols import extract_file_symbols

    try:
        read = read_file(
            root / rel_path, max_bytes=MAX_FILE_BYTES, roots=allowed, within=root, follow_symlinks=False
        )
    except InvalidInput as exc:
        return PreparedFile(rel_path, 0, 0, b"", skipped=str(exc))
    data = read.data
    sha = hashlib.sha256(data).digest()
    prepared = PreparedFile(rel_path, read.size, read.mtime_ns, sha)
    if looks_binary(data):
        prepared.skipped = "binary"
        return prepared
    language = detect_language(rel_path, data[:256])
    if language is None:
        prepared.skipped = "unknown language"
        return prepared
    prepared.language = language
    if known_sha256 == sha and not force:
        return prepared
    text = decode_source(data)
    rows: list[ChunkRow] = []
    for chunk in chunk_source(text, language, rel_path, max_tokens=CHUNK_TOKENS):
        embed_sha = hashlib.sha256(
            embedding_text(rel_path, chunk.symbol, chunk.embed_text or chunk.text).encode()
        ).digest()
        rows.append(
            ChunkRow(
                start_line=chunk.start_line,
                end_line=chunk.end_line,
                symbol=chunk.symbol,
                kind=chunk.kind,
                content=chunk.text,
                embed_text=chunk.embed_text,
                embed_sha256=embed_sha,
                symbol_words=lexical_text(" ".join(names := _names(chunk.symbol, chunk.names))),
                name_words=" ".join(word for word, _ in whole_identifiers(" ".join(names))),
                content_words=lexical_text(chunk.text),
            )
        )
    prepared.chunks = rows
    prepared.symbols = extract_file_symbols(text, language, rel_path)
    prepared.path_words = path_text(rel_path)
    return prepared
