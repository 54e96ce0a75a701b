"""Where shipped data lives (sql/, knowledge_base/, models/), and which user paths may be read.

The allowed roots (`SINGULARITY_ALLOWED_ROOTS`) are a security boundary, enforced here and only here:
- `allowed_roots(settings)`: the roots in effect for the current request. `restrict_roots` narrows them
  for one request (the hook for a team server giving each token its own roots); it can never widen them.
- `AllowedRoots.admits` / `AllowedRoots.parts_of`: the filter a query applies to indexed roots, whatever
  the index holds (roots indexed earlier, or by another process on the same database).
- `resolve_allowed(path, settings)`: a path a caller names, resolved (symlinks followed) and checked.
- `read_file(path, ...)`: the one way a user's file is read. The RESOLVED path must lie inside the roots
  (and inside `within`, the folder being indexed, analysed or audited); it must be a regular file (FIFOs,
  devices and sockets are refused without being opened); its size is bounded; and the file actually
  opened is checked again, so a symlink swapped in after indexing is never followed outside.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from singularity_mcp.errors import InvalidInput, quoted

if TYPE_CHECKING:
    from singularity_mcp.config import Settings

_PACKAGE_DIR = Path(__file__).resolve().parent

MAX_PATH_CHARS = 4096  # PATH_MAX on Linux
MAX_NAME_BYTES = 255  # NAME_MAX: one path component


def data_path(name: str) -> Path:
    """Return the folder of shipped data `name` ("sql", "knowledge_base", "models").

    A wheel carries it as `singularity_mcp/_data/<name>`; a source checkout (editable install) has it at
    the repository root.
    """
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parents[1] / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shipped data folder {name!r} not found (is the package installed correctly?)")


# --- the allowed roots ------------------------------------------------------------------------------------


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


@dataclass(frozen=True, slots=True)
class AllowedRoots:
    """The folders a request may read (resolved, absolute). `folders=None`: no restriction; `()`: none."""

    folders: tuple[Path, ...] | None = None

    @property
    def restricted(self) -> bool:
        return self.folders is not None

    def admits(self, path: str | Path) -> bool:
        """Whether the resolved, absolute `path` lies inside one of the roots."""
        if self.folders is None:
            return True
        candidate = Path(path)
        return any(_inside(candidate, folder) for folder in self.folders)

    def parts_of(self, folder: str | Path) -> list[Path]:
        """The parts of `folder` the roots admit: `[folder]` when it lies inside a root, else the roots
        that lie inside it (an indexed parent of an allowed root is searched only below that root)."""
        candidate = Path(folder)
        if self.admits(candidate):
            return [candidate]
        assert self.folders is not None
        return [f for f in self.folders if f.is_relative_to(candidate)]

    def narrowed(self, folders: Iterable[Path]) -> AllowedRoots:
        """These roots intersected with `folders` (resolved): what both admit, never more."""
        wanted = tuple(folders)
        if self.folders is None:
            return AllowedRoots(wanted)
        kept: list[Path] = []
        for folder in wanted:
            kept += self.parts_of(folder)
        return AllowedRoots(tuple(dict.fromkeys(kept)))

    def describe(self) -> str:
        if self.folders is None:
            return "any folder"
        return ", ".join(str(f) for f in self.folders) or "no folder"


_REQUEST_ROOTS: ContextVar[tuple[Path, ...] | None] = ContextVar("singularity_request_roots", default=None)


def allowed_roots(settings: Settings) -> AllowedRoots:
    """The allowed roots in effect now: `SINGULARITY_ALLOWED_ROOTS`, narrowed by `restrict_roots` when a
    request runs under narrower roots. Every read and every query asks this one function."""
    configured = AllowedRoots(tuple(settings.resolved_allowed_roots) if settings.allowed_roots else None)
    narrower = _REQUEST_ROOTS.get()
    return configured if narrower is None else configured.narrowed(narrower)


@contextmanager
def restrict_roots(folders: Iterable[str | Path]) -> Iterator[None]:
    """Within this block (this task and what it starts), only `folders` that the settings also allow are
    readable. For a server that gives each caller its own roots (e.g. per HTTP token)."""
    token = _REQUEST_ROOTS.set(tuple(Path(f).expanduser().resolve() for f in folders))
    try:
        yield
    finally:
        _REQUEST_ROOTS.reset(token)


# --- naming a path ----------------------------------------------------------------------------------------


def check_path_text(text: str, what: str = "path") -> None:
    """Refuse a path string no file system would accept, with a sentence saying what to fix."""
    if "\x00" in text:
        raise InvalidInput(f"{what} {quoted(text)} contains a NUL character: pass a plain file path")
    if len(text) > MAX_PATH_CHARS:
        raise InvalidInput(
            f"{what} is {len(text):,} characters, over the {MAX_PATH_CHARS}-character limit: pass a shorter path"
        )
    try:
        encoded = os.fsencode(text)
    except UnicodeEncodeError:
        raise InvalidInput(
            f"{what} {quoted(text)} is not valid Unicode (it holds a lone surrogate): pass a real path"
        ) from None
    if any(len(part) > MAX_NAME_BYTES for part in encoded.split(b"/")):
        raise InvalidInput(
            f"{what} {quoted(text)} has a component over {MAX_NAME_BYTES} bytes, which no file system "
            "allows: check the path"
        )


def os_error_message(path: str | Path, exc: OSError) -> str:
    """One sentence for an OSError met while resolving or reading `path`."""
    shown = quoted(str(path))
    match exc.errno:
        case errno.ENOENT | errno.ENOTDIR:
            return f"{shown} does not exist: pass an existing file or folder"
        case errno.ELOOP:
            return f"{shown} is a loop of symbolic links: pass a path that leads to a real file or folder"
        case errno.ENAMETOOLONG:
            return f"{shown} is too long for the file system: pass a shorter path"
        case errno.EACCES | errno.EPERM:
            return f"{shown} cannot be read (permission denied): pass a file this server may read"
        case errno.EIO:
            return (
                f"{shown} cannot be read (input/output error; a special or damaged file?): pass a source file"
            )
        case _:
            reason = exc.strerror or type(exc).__name__
            return f"{shown} cannot be read ({reason}): pass a readable file or folder"


def _realpath(text: str, *, strict: bool) -> Path:
    try:
        return Path(os.path.realpath(os.path.expanduser(text), strict=strict))
    except OSError as exc:
        raise InvalidInput(os_error_message(text, exc)) from None


def _refuse_outside(resolved: Path, roots: AllowedRoots, shown: str) -> None:
    if not roots.admits(resolved):
        raise InvalidInput(
            f"{shown} is outside the allowed roots ({roots.describe()}); "
            "add it to SINGULARITY_ALLOWED_ROOTS or pass a path inside them"
        )


def outside_roots(path: str, roots: AllowedRoots) -> bool:
    """Whether `path`, resolved as `resolve_allowed` resolves it, lies outside `roots`. A text no file
    system accepts is not judged here (False): `resolve_allowed` refuses it with its own message."""
    try:
        check_path_text(path)
        resolved = _realpath(path, strict=False)
    except (InvalidInput, ValueError):
        return False
    return not roots.admits(resolved)


def resolve_allowed(path: str | Path, settings: Settings, *, must_exist: bool = True) -> Path:
    """Resolve a user-supplied path (symlinks followed) and check it lies inside the allowed roots.

    Whether a path outside the roots exists is never revealed: that check comes first.
    """
    text = os.fspath(path)
    if not text.strip():
        raise InvalidInput("path is empty: pass an absolute path to a file or folder")
    check_path_text(text)
    roots = allowed_roots(settings)
    resolved = _realpath(text, strict=False)
    shown = quoted(str(resolved))
    _refuse_outside(resolved, roots, shown)
    if must_exist:
        resolved = _realpath(text, strict=True)  # loops, missing parts, over-long names
        _refuse_outside(resolved, roots, shown)
    return resolved


# --- reading a file ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileContent:
    """A file read through `read_file`: where it really is, its bytes, and the stat it was read with."""

    path: Path
    data: bytes
    size: int
    mtime_ns: int


def file_kind(mode: int) -> str:
    """What a non-regular file is, for messages ('a FIFO (named pipe)', 'a folder', ...)."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


def _opened_path(fd: int) -> Path | None:
    """Where the open file descriptor really points (Linux), to check after opening."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return None


_OPEN_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
)


def read_file(
    path: str | Path,
    *,
    max_bytes: int,
    roots: AllowedRoots | None = None,
    within: Path | None = None,
    follow_symlinks: bool = True,
    truncate: bool = False,
) -> FileContent:
    """Read a regular file whose resolved path lies inside `roots` and inside `within` (when given).

    Refused with `InvalidInput` (one sentence saying what was wrong), without opening anything but a
    regular file: a path outside the roots or outside `within`, a symlink (when `follow_symlinks` is
    False) or one resolving outside, FIFOs, devices, sockets, folders, symlink loops, files over
    `max_bytes` (with `truncate`: only the first `max_bytes` are read), unreadable files
    (`/proc/self/mem`: EIO).
    """
    text = os.fspath(path)
    check_path_text(text)
    roots = roots or AllowedRoots()
    if not follow_symlinks:
        try:
            if stat.S_ISLNK(os.lstat(text).st_mode):
                raise InvalidInput(f"{quoted(text)} is a symbolic link, which is not followed here")
        except OSError as exc:
            raise InvalidInput(os_error_message(text, exc)) from None
    resolved = _realpath(text, strict=True)
    fences = [roots] if within is None else [roots, AllowedRoots((_realpath(str(within), strict=False),))]

    def refuse_outside(real: Path) -> None:
        for fence in fences:
            if not fence.admits(real):
                where = "the allowed roots" if fence is roots else f"{within}"
                raise InvalidInput(
                    f"{quoted(text)} resolves to {quoted(str(real))}, outside {where}: it is not read"
                )

    refuse_outside(resolved)
    try:
        info = os.stat(resolved)
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(f"{quoted(str(resolved))} is {file_kind(info.st_mode)}: pass a regular file")
        if info.st_size > max_bytes and not truncate:
            raise InvalidInput(
                f"{quoted(str(resolved))} is {info.st_size:,} bytes, over the {max_bytes:,}-byte limit: "
                "pass a smaller file"
            )
        fd = os.open(resolved, _OPEN_FLAGS)
    except OSError as exc:
        raise InvalidInput(os_error_message(resolved, exc)) from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            raise InvalidInput(f"{quoted(str(resolved))} changed while it was opened: try again")
        real = _opened_path(fd)
        if real is not None:
            refuse_outside(real)
        chunks, remaining = [], max_bytes + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as exc:
        raise InvalidInput(os_error_message(resolved, exc)) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if truncate:
        data = data[:max_bytes]
    elif len(data) > max_bytes:  # files that report a size of 0 (/proc) but are not
        raise InvalidInput(f"{quoted(str(resolved))} holds over {max_bytes:,} bytes: pass a smaller file")
    return FileContent(resolved, data, opened.st_size, opened.st_mtime_ns)


def read_optional_text(path: Path, max_bytes: int = 1_000_000) -> str:
    """The text of an optional side file (a .gitignore): '' when it is missing, a symlink, not a regular
    file (a FIFO is never opened) or over `max_bytes`."""
    try:
        read = read_file(path, max_bytes=max_bytes, within=path.parent, follow_symlinks=False)
    except InvalidInput:
        return ""
    return read.data.decode("utf-8", "replace")
