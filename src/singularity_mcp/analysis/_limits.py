"""Bounds on what tree-sitter is asked to do: its queries slow down quadratically with nesting depth."""

from __future__ import annotations

MAX_NESTING = 2000  # bracket depth; real code stays far below (352 at most in 3,000 site-packages files)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"()[]{}")


def nesting_depth(source: bytes) -> int:
    """The deepest bracket nesting ((), [], {}) in `source`, strings and comments included."""
    depth = deepest = 0
    for byte in source.translate(None, _NOT_BRACKETS):
        if byte in b"([{":
            depth += 1
            deepest = max(deepest, depth)
        elif depth:
            depth -= 1
    return deepest
