"""Small text helpers shared by the capabilities and their faces."""

from __future__ import annotations


def trim(text: str, limit: int, hint: str = "…") -> str:
    """Cut `text` to at most `limit` characters, marking the cut."""
    return text if len(text) <= limit else text[: max(0, limit - len(hint))] + hint
