"""Identifier-aware text for PostgreSQL full-text search.

`getUserName` and `get_user_name` both index as the whole identifier (`getusername`) plus its parts
(`get`, `user`, `name`); PostgreSQL's `english` configuration then stems and drops stop words. Queries go
through the same expansion, so a query for `user name` finds `getUserName` and a query for
`get_user_name` finds it exactly.
"""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")
_KEBAB = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z_][A-Za-z0-9_]*)*")
# camelCase / PascalCase / ACRONYMWords / digits boundaries
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
MAX_TEXT = 60_000  # to_tsvector refuses over 1 MB; chunks are small, this bounds pathological ones


def identifier_words(text: str) -> list[str]:
    """Words for the full-text parser: each identifier whole (underscores dropped) and split into parts."""
    words: list[str] = []
    for match in _IDENTIFIER.finditer(text[:MAX_TEXT]):
        token = match.group()
        whole = token.replace("_", "").lower()
        if not whole:
            continue
        parts = [p.lower() for piece in token.split("_") if piece for p in _PARTS.findall(piece)]
        if len(parts) > 1 or (parts and parts[0] != whole):
            words.append(whole)
            words.extend(parts)
        else:
            words.append(whole)
    return words


COMPOUND = (
    2  # an identifier of several words: get_requirement, getRequirement, GetRequirement, get-requirement
)
CAPITALISED = 1  # one capitalised word: Equal, Context (Go's exported names, classes)


def whole_identifiers(text: str) -> list[tuple[str, int]]:
    """The identifiers of `text` that can name a definition exactly, whole (lower case, separators
    dropped: all four spellings of `get_requirement` give `getrequirement`) with their strength,
    COMPOUND or CAPITALISED. A plain lower-case word (`first`, `get`) is too common in prose to count."""
    out = []
    for match in _KEBAB.finditer(text[:MAX_TEXT]):
        token = match.group()
        parts = [p for piece in re.split(r"[_-]+", token) for p in _PARTS.findall(piece)]
        if len(parts) > 1:
            out.append(("".join(parts).lower(), COMPOUND))
        elif parts and token[0].isupper() and len(token) > 1:
            out.append((token.lower(), CAPITALISED))
    return out


def words_of(identifier: str) -> str:
    """An identifier (or a qualified name) as lower-case words: `Query.getNextPage` -> "query get next page"."""
    return " ".join(part.lower() for part in _PARTS.findall(identifier))


def lexical_text(text: str) -> str:
    """`text` as space-separated words for `to_tsvector('english', ...)`."""
    return " ".join(identifier_words(text))


def path_text(rel_path: str) -> str:
    """Words of a relative path (folders, file stem, extension)."""
    return lexical_text(rel_path.replace("/", " ").replace(".", " ").replace("-", " "))
