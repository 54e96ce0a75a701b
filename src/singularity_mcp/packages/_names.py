"""Per-ecosystem name and version validation, checked before any request (no path or query injection)."""

from __future__ import annotations

import re

from packaging.utils import canonicalize_name

from singularity_mcp.errors import InvalidInput
from singularity_mcp.packages.models import ECOSYSTEMS, Ecosystem

# PEP 508 names.
_PYPI = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
# validate-npm-package-name: optional @scope/, URL-safe characters, no leading dot or underscore.
_NPM = re.compile(r"^(?:@[a-z0-9~-][a-z0-9._~-]*/)?[a-zA-Z0-9~-][a-zA-Z0-9._~-]*$")
# crates.io: ASCII letter first, then letters, digits, `-` and `_`, at most 64 characters.
_CRATES = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
# Hex: lower-case letter first, then lower-case letters, digits and `_`.
_HEX = re.compile(r"^[a-z][a-z0-9_]*$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+_!-]{0,63}$")

_RULES = {
    "pypi": (_PYPI, 100, "letters, digits, '.', '_' and '-', starting and ending with a letter or digit"),
    "npm": (_NPM, 214, "an optional @scope/ then letters, digits, '.', '_', '~' and '-'"),
    "crates": (_CRATES, 64, "an ASCII letter, then letters, digits, '_' and '-' (at most 64)"),
    "hex": (_HEX, 64, "a lower-case letter, then lower-case letters, digits and '_'"),
}

ALIASES: dict[str, Ecosystem] = {
    "pypi": "pypi",
    "python": "pypi",
    "pip": "pypi",
    "npm": "npm",
    "node": "npm",
    "javascript": "npm",
    "js": "npm",
    "crates": "crates",
    "crates.io": "crates",
    "cargo": "crates",
    "rust": "crates",
    "hex": "hex",
    "hex.pm": "hex",
    "elixir": "hex",
    "erlang": "hex",
}


def parse_ecosystem(value: str | None) -> Ecosystem | None:
    """Map a user's ecosystem name (`PyPI`, `cargo`, `crates.io`, ...) to ours; None stays None."""
    if value is None or not value.strip():
        return None
    found = ALIASES.get(value.strip().lower())
    if found is None:
        raise InvalidInput(f"unknown ecosystem {value!r}: use one of {', '.join(ECOSYSTEMS)}")
    return found


def is_valid_name(ecosystem: Ecosystem, name: str) -> bool:
    pattern, limit, _ = _RULES[ecosystem]
    return 0 < len(name) <= limit and pattern.fullmatch(name) is not None


def check_name(ecosystem: Ecosystem, name: str) -> str:
    """Return `name` stripped, or raise `InvalidInput` saying what a valid name looks like."""
    name = name.strip()
    if not is_valid_name(ecosystem, name):
        _, limit, rule = _RULES[ecosystem]
        raise InvalidInput(
            f"{name[:80]!r} is not a valid {ecosystem} package name: use {rule}, at most {limit} characters"
        )
    return name


def cache_key(ecosystem: Ecosystem, name: str) -> str:
    """The name as the cache stores it: registries that ignore case or separators share one key."""
    if ecosystem == "pypi":
        return canonicalize_name(name)
    if ecosystem == "crates":
        return name.lower().replace("_", "-")
    return name


def check_version(version: str) -> str:
    version = version.strip()
    if not _VERSION.fullmatch(version):
        raise InvalidInput(
            f"{version[:80]!r} is not a version: use letters, digits and '.', '+', '_', '!', '-' (e.g. 1.2.3)"
        )
    return version
