"""Language detection by file name, extension and shebang."""

from __future__ import annotations

import re
from pathlib import Path

from singularity_mcp.analysis._languages import ALIASES, BY_NAME, SPECS

_BY_FILENAME: dict[str, str] = {f: s.name for s in SPECS for f in s.filenames}
_BY_EXTENSION: dict[str, str] = {}
for _spec in SPECS:
    for _ext in _spec.extensions:
        _BY_EXTENSION.setdefault(_ext, _spec.name)
        _BY_EXTENSION.setdefault(_ext.lower(), _spec.name)
_BY_INTERPRETER: dict[str, str] = {i: s.name for s in SPECS for i in s.shebangs}
_SHEBANG = re.compile(rb"^#!\s*(\S+)(?:[ \t]+(?:-\S+[ \t]+)*(\S+))?")
_VERSION_SUFFIX = re.compile(r"[\d.]+$")


def detect_language(path: Path | str, head: bytes | None = None) -> str | None:
    """The language of a file from its name, its extension, or (given its first bytes) its shebang."""
    path = Path(path)
    name = path.name
    if name in _BY_FILENAME:
        return _BY_FILENAME[name]
    suffix = path.suffix[1:]
    if suffix:
        found = _BY_EXTENSION.get(suffix) or _BY_EXTENSION.get(suffix.lower())
        if found:
            return found
    elif name.lower() in ("dockerfile", "makefile"):
        return _BY_FILENAME.get(name.capitalize())
    if head and head.startswith(b"#!"):
        return _from_shebang(head)
    return None


def _from_shebang(head: bytes) -> str | None:
    match = _SHEBANG.match(head.split(b"\n", 1)[0])
    if not match:
        return None
    program = match.group(1).decode("ascii", "replace").rsplit("/", 1)[-1]
    if program == "env" and match.group(2):
        program = match.group(2).decode("ascii", "replace").rsplit("/", 1)[-1]
    return _BY_INTERPRETER.get(program) or _BY_INTERPRETER.get(_VERSION_SUFFIX.sub("", program))


def normalize_language(language: str) -> str | None:
    """A language name as the engine knows it, accepting common aliases ("py", "c#", "golang")."""
    key = language.strip().lower()
    if key in BY_NAME:
        return key
    return ALIASES.get(key) or _BY_EXTENSION.get(key)


def supported_languages() -> list[str]:
    """Every language the analyser knows, code languages first (metrics-only formats after)."""
    code = [s.name for s in SPECS if not s.markup]
    markup = [s.name for s in SPECS if s.markup]
    return code + markup
