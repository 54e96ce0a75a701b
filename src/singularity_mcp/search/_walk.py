"""Walk an indexed root: .gitignore-aware, default excludes, no binaries, no huge files."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

from singularity_mcp.paths import read_optional_text

MAX_FILE_BYTES = 1_000_000
BINARY_SNIFF = 8192

EXCLUDED_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".bzr", "node_modules", "bower_components", "jspm_packages", ".venv", "venv",
        "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox", ".cache", ".eggs",
        "dist", "build", "target", "vendor", "third_party", ".next", ".nuxt", ".svelte-kit", ".turbo",
        ".parcel-cache", "coverage", "htmlcov", ".gradle", ".terraform", "Pods", ".idea", ".vscode",
        "site-packages", "_build", "deps", ".dart_tool", ".stack-work", "zig-cache", ".zig-cache",
    }
)  # fmt: skip
EXCLUDED_FILES = frozenset(
    {
        "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "npm-shrinkwrap.json", "poetry.lock",
        "Pipfile.lock", "uv.lock", "pdm.lock", "Cargo.lock", "Gemfile.lock", "composer.lock", "go.sum",
        "mix.lock", "flake.lock", "bun.lockb", "packages.lock.json", "Podfile.lock", "pubspec.lock",
    }
)  # fmt: skip
EXCLUDED_SUFFIXES = (".min.js", ".min.css", ".min.mjs", ".map", ".bundle.js", ".lock", ".pyc")
# `*.json` is data far more often than code: fixtures, recorded responses, locale tables, generated
# schemas, benchmark results, knowledge-base artifacts (which knowledge search already serves, on its own
# scale). Its chunks carry no symbols and crowd code out of the results. The JSON people do search for is
# a project's manifest or a tool's configuration, so those names stay in.
JSON_CONFIG_NAMES = frozenset(
    {
        "package.json", "composer.json", "jsconfig.json", "deno.json", "app.json", "angular.json", "nx.json",
        "project.json", "workspace.json", "turbo.json", "lerna.json", "vercel.json", "firebase.json",
        "manifest.json", "devcontainer.json", ".devcontainer.json", "biome.json", "renovate.json",
        "pyrightconfig.json", "cdk.json", "global.json", "nodemon.json", "launchsettings.json",
    }
)  # fmt: skip
JSON_CONFIG_PREFIXES = ("tsconfig", "appsettings")  # tsconfig.build.json, appsettings.Development.json
JSON_CONFIG_SUFFIXES = (".config.json", "rc.json")  # app.config.json, .eslintrc.json, .prettierrc.json


def is_json_data(name: str) -> bool:
    """A `.json` file that is data rather than a manifest or configuration (not indexed as code)."""
    lower = name.lower()
    if not lower.endswith(".json"):
        return False
    return not (
        lower in JSON_CONFIG_NAMES
        or lower.startswith(JSON_CONFIG_PREFIXES)
        or lower.endswith(JSON_CONFIG_SUFFIXES)
    )


@dataclass(frozen=True, slots=True)
class FoundFile:
    """A candidate file: path relative to the root (POSIX separators), size and mtime from one stat."""

    rel_path: str
    size: int
    mtime_ns: int


def _ignore_spec(folder: Path) -> pathspec.GitIgnoreSpec | None:
    lines: list[str] = []
    for name in (".gitignore", ".ignore"):
        if text := read_optional_text(folder / name):
            lines += text.splitlines()
    return pathspec.GitIgnoreSpec.from_lines(lines) if lines else None


def walk_root(root: Path) -> Iterator[FoundFile]:
    """Yield the files of `root` worth indexing (sorted, deterministic), skipping ignored and huge ones.

    Nested `.gitignore` files apply to their own folder and below, as git does. Binary content is checked
    later, when the file is read (`looks_binary`).
    """
    specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []  # (folder prefix relative to root, spec)

    def ignored(rel: str, is_dir: bool) -> bool:
        for prefix, spec in specs:
            if prefix and not rel.startswith(prefix):
                continue
            sub = rel[len(prefix) :]
            if spec.match_file(sub + "/" if is_dir else sub):
                return True
        return False

    for folder, dirs, files in os.walk(root):
        rel_folder = os.path.relpath(folder, root)
        prefix = "" if rel_folder == "." else rel_folder.replace(os.sep, "/") + "/"
        spec = _ignore_spec(Path(folder))
        if spec is not None:
            specs.append((prefix, spec))
        kept = []
        for name in sorted(dirs):
            if name in EXCLUDED_DIRS or name.endswith(".egg-info"):
                continue
            full = os.path.join(folder, name)
            if os.path.islink(full) or os.path.exists(os.path.join(full, "pyvenv.cfg")):
                continue  # symlinked folders could loop; a folder with pyvenv.cfg is a virtualenv
            if ignored(prefix + name, True):
                continue
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            if name in EXCLUDED_FILES or name.endswith(EXCLUDED_SUFFIXES) or is_json_data(name):
                continue
            rel = prefix + name
            if ignored(rel, False):
                continue
            try:
                info = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode) or info.st_size == 0 or info.st_size > MAX_FILE_BYTES:
                continue  # symlinks, sockets, empty and huge files
            yield FoundFile(rel, info.st_size, info.st_mtime_ns)


def looks_binary(data: bytes) -> bool:
    """NUL bytes in the first 8 KiB mean binary (git's rule)."""
    return b"\x00" in data[:BINARY_SNIFF]


def decode_source(data: bytes) -> str:
    """Source text; invalid UTF-8 bytes become U+FFFD rather than failing the file."""
    text = data.decode("utf-8", errors="replace")
    return text.replace("\r\n", "\n").replace("\x00", "")
