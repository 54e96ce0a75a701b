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


def effective_roots(settings: Settings) -> list[Path]:
    """The folders this call may read: the HTTP caller's token roots, else `settings.allowed_roots`.
    Empty: no restriction."""
    from singularity_mcp.http_auth import current_caller

    caller = current_caller.get()
    if caller is not None and caller.roots is not None:
        return list(caller.roots)
    return settings.resolved_allowed_roots


def resolve_allowed(path: str | Path, settings: Settings, *, must_exist: bool = True) -> Path:
    """Resolve a user-supplied path and check it lies inside the allowed roots (when any are set)."""
    if not str(path).strip():
        raise InvalidInput("path is empty: pass an absolute path to a file or folder")
    resolved = Path(path).expanduser().resolve()
    allowed = effective_roots(settings)
    if allowed and not any(resolved == root or resolved.is_relative_to(root) for root in allowed):
        roots = ", ".join(str(r) for r in allowed)
        raise InvalidInput(
            f"{resolved} is outside the allowed roots ({roots}); "
            "add it to SINGULARITY_ALLOWED_ROOTS or pass a path inside them"
        )
    if must_exist and not resolved.exists():
        raise InvalidInput(f"{resolved} does not exist: pass an existing file or folder")
    return resolved
