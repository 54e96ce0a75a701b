"""Read a project's dependency manifests: pyproject.toml, requirements*.txt, package.json, Cargo.toml,
mix.exs and go.mod (tomllib, json and packaging's requirement parser; mix.exs and go.mod by pattern)."""

from __future__ import annotations

import json
import logging
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from packaging.requirements import InvalidRequirement, Requirement

from singularity_mcp.paths import AllowedRoots, read_file

if TYPE_CHECKING:
    from singularity_mcp.packages.models import Ecosystem

logger = logging.getLogger(__name__)

MAX_DEPENDENCIES = 400
MAX_MANIFEST_BYTES = 2_000_000
_MIX_DEP = re.compile(r"""\{\s*:([a-z][a-z0-9_]*)\s*,\s*"([^"]+)"([^{}]*)\}""")
_MIX_HEX_NAME = re.compile(r"""hex:\s*:"?([a-z][a-z0-9_]*)""")
_GO_REQUIRE_LINE = re.compile(r"^\s*([^\s()]+)\s+(v[^\s]+)(\s*//\s*indirect)?")
_NPM_NON_REGISTRY = ("file:", "link:", "git", "http:", "https:", "workspace:", "npm:", "github:", "portal:")


@dataclass(frozen=True)
class Declared:
    manifest: str
    ecosystem: Ecosystem | Literal["go"]
    name: str
    requirement: str
    kind: str = "normal"


def find_manifests(folder: Path) -> list[Path]:
    names = ["pyproject.toml", "package.json", "Cargo.toml", "mix.exs", "go.mod"]
    found = [folder / n for n in names if (folder / n).is_file()]
    found += sorted(p for p in folder.glob("requirements*.txt") if p.is_file())
    found += sorted(p for p in folder.glob("requirements/*.txt") if p.is_file())
    return found


def read_manifest(path: Path, root: Path, roots: AllowedRoots | None = None) -> list[Declared]:
    """The dependencies one manifest declares. Raises ValueError with a readable message when broken,
    `InvalidInput` when it is not a regular file inside `root` and the allowed `roots` (a symlink to a
    file elsewhere is not read)."""
    rel = str(path.relative_to(root))
    text = read_file(path, max_bytes=MAX_MANIFEST_BYTES, roots=roots, within=root).data.decode(
        "utf-8", "replace"
    )
    name = path.name
    if name == "pyproject.toml":
        return _pyproject(rel, _toml(text, rel))
    if name == "Cargo.toml":
        return _cargo(rel, _toml(text, rel))
    if name == "package.json":
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"{rel} is not valid JSON: {exc}") from None
        return _package_json(rel, doc)
    if name == "mix.exs":
        return _mix(rel, text)
    if name == "go.mod":
        return _go(rel, text)
    return _requirements(rel, text, kind="dev" if re.search(r"dev|test|lint|doc", name) else "normal")


def _toml(text: str, rel: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{rel} is not valid TOML: {exc}") from None


def _pep508(rel: str, line: str, kind: str) -> Declared | None:
    try:
        requirement = Requirement(line)
    except InvalidRequirement:
        logger.info("%s: skipping unreadable requirement %r", rel, line)
        return None
    if requirement.url:
        return None
    return Declared(rel, "pypi", requirement.name, str(requirement.specifier), kind)


def _pyproject(rel: str, doc: dict[str, Any]) -> list[Declared]:
    found: list[Declared | None] = []
    project = doc.get("project") or {}
    found += [_pep508(rel, line, "normal") for line in project.get("dependencies") or []]
    for extra, lines in (project.get("optional-dependencies") or {}).items():
        found += [_pep508(rel, line, f"extra:{extra}") for line in lines or []]
    for group, lines in (doc.get("dependency-groups") or {}).items():
        found += [_pep508(rel, line, f"group:{group}") for line in lines or [] if isinstance(line, str)]
    poetry = (doc.get("tool") or {}).get("poetry") or {}
    sections = [("dependencies", "normal"), ("dev-dependencies", "dev")]
    sections += [(f"group.{g}", f"group:{g}") for g in (poetry.get("group") or {})]
    for section, kind in sections:
        table = poetry
        for part in section.split("."):
            table = (table or {}).get(part) or {}
        if section.startswith("group."):
            table = table.get("dependencies") or {}
        for dep, spec in table.items():
            if dep.lower() == "python":
                continue
            version = spec.get("version") if isinstance(spec, dict) else spec
            if isinstance(version, str):
                found.append(Declared(rel, "pypi", dep, "" if version.strip() == "*" else version, kind))
    return [d for d in found if d is not None]


def _requirements(rel: str, text: str, kind: str) -> list[Declared]:
    found = []
    for line in text.replace("\\\n", " ").splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")) or "://" in line:
            continue
        declared = _pep508(rel, line, kind)
        if declared:
            found.append(declared)
    return found


def _package_json(rel: str, doc: Any) -> list[Declared]:
    if not isinstance(doc, dict):
        raise ValueError(f"{rel} does not hold a JSON object")
    found = []
    for field, kind in (
        ("dependencies", "normal"),
        ("devDependencies", "dev"),
        ("optionalDependencies", "optional"),
        ("peerDependencies", "peer"),
    ):
        for name, spec in (doc.get(field) or {}).items():
            if isinstance(spec, str) and not spec.strip().startswith(_NPM_NON_REGISTRY) and "/" not in spec:
                found.append(Declared(rel, "npm", name, spec.strip(), kind))
    return found


def _cargo(rel: str, doc: dict[str, Any]) -> list[Declared]:
    tables: list[tuple[dict[str, Any], str]] = []
    for section, kind in (
        ("dependencies", "normal"),
        ("dev-dependencies", "dev"),
        ("build-dependencies", "build"),
    ):
        tables.append((doc.get(section) or {}, kind))
        for target in (doc.get("target") or {}).values():
            tables.append(((target or {}).get(section) or {}, kind))
    tables.append((((doc.get("workspace") or {}).get("dependencies")) or {}, "workspace"))
    found = []
    for table, kind in tables:
        for name, spec in table.items():
            version = spec if isinstance(spec, str) else (spec or {}).get("version")
            real = (spec or {}).get("package", name) if isinstance(spec, dict) else name
            if isinstance(version, str):
                found.append(Declared(rel, "crates", real, version.strip(), kind))
    return found


def _mix(rel: str, text: str) -> list[Declared]:
    found = []
    for match in _MIX_DEP.finditer(text):
        name, requirement, options = match.groups()
        renamed = _MIX_HEX_NAME.search(options)
        only = re.search(r"only:\s*\[?([^\],]*)", options)
        kind = "dev" if only and re.search(r":(dev|test)", only.group(1)) else "normal"
        found.append(Declared(rel, "hex", renamed.group(1) if renamed else name, requirement, kind))
    return found


def _go(rel: str, text: str) -> list[Declared]:
    found = []
    in_block = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("require ("):
            in_block = True
            continue
        if in_block and line.startswith(")"):
            in_block = False
            continue
        if line.startswith("require "):
            line = line[len("require ") :]
        elif not in_block:
            continue
        match = _GO_REQUIRE_LINE.match(line)
        if match:
            module, version, indirect = match.groups()
            found.append(Declared(rel, "go", module, version, "indirect" if indirect else "normal"))
    return found
