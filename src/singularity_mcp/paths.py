"""Where shipped data lives (sql/, knowledge_base/, models/) and which user paths may be read."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from singularity_mcp.errors import InvalidInput

if TYPE_CHECKING:
    from singularity_mcp.config import Settings

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_path(name: str) -> Path:
    """Return the folder of shipped data `name` ("sql", "knowledge_base", "models").

    A wheel carries it as `singularity_mcp/_data/<name>`; a source checkout (editable install) has it at
    the repository root.
    """
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parents[1] / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shipped data folder {name!r} not found (is the package installed correctly?)")


def resolve_allowed(path: str | Path, settings: Settings, *, must_exist: bool = True) -> Path:
    """Resolve a user-supplied path and check it lies inside `settings.allowed_roots` (when any are set)."""
    if not str(path).strip():
        raise InvalidInput("path is empty: pass an absolute path to a file or folder")
    resolved = Path(path).expanduser().resolve()
    if settings.allowed_roots and not any(
        resolved == root or resolved.is_relative_to(root) for root in settings.resolved_allowed_roots
    ):
        roots = ", ".join(str(r) for r in settings.resolved_allowed_roots)
        raise InvalidInput(
            f"{resolved} is outside the allowed roots ({roots}); "
            "add it to SINGULARITY_ALLOWED_ROOTS or pass a path inside them"
        )
    if must_exist and not resolved.exists():
        raise InvalidInput(f"{resolved} does not exist: pass an existing file or folder")
    return resolved
