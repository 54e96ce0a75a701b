"""Which release a requirement selects, per ecosystem: PEP 440 (packaging), npm and Cargo/Hex ranges
(semantic_version's NpmSpec and SimpleSpec, with Cargo's and Elixir's shorthands translated)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import semantic_version as sv
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

_NUMBERS = re.compile(r"^\d+(\.\d+){0,2}([-+].*)?$")


def select(ecosystem: str, requirement: str, versions: Iterable[str]) -> str | None:
    """The newest of `versions` that `requirement` accepts (None when none does or it cannot be read)."""
    if ecosystem == "pypi":
        return _select_pep440(requirement, versions)
    match = matcher(ecosystem, requirement)
    if match is None:
        return None
    best: tuple[sv.Version, str] | None = None
    for raw in versions:
        parsed = _semver(raw)
        if parsed is not None and match(parsed) and (best is None or parsed > best[0]):
            best = (parsed, raw)
    return best[1] if best else None


def satisfies(ecosystem: str, requirement: str, version: str) -> bool | None:
    """Whether `version` meets `requirement`; None when either cannot be read."""
    if ecosystem == "pypi":
        spec = _pep440_spec(requirement)
        try:
            return None if spec is None else spec.contains(Version(version), prereleases=True)
        except InvalidVersion:
            return None
    if ecosystem == "go":
        return requirement.strip() == version.strip()
    match = matcher(ecosystem, requirement)
    parsed = _semver(version)
    return None if match is None or parsed is None else bool(match(parsed))


def matcher(ecosystem: str, requirement: str) -> Callable[[sv.Version], bool] | None:
    requirement = requirement.strip()
    try:
        if ecosystem == "npm":
            return sv.NpmSpec(requirement or "*").match
        if ecosystem == "crates":
            return sv.SimpleSpec(_cargo(requirement)).match
        if ecosystem == "hex":
            alternatives = [sv.SimpleSpec(_elixir(part)) for part in requirement.split(" or ")]
            return lambda v: any(spec.match(v) for spec in alternatives)
    except ValueError:
        return None
    return None


def _select_pep440(requirement: str, versions: Iterable[str]) -> str | None:
    spec = _pep440_spec(requirement)
    if spec is None:
        return None
    parsed = []
    for raw in versions:
        try:
            parsed.append((Version(raw), raw))
        except InvalidVersion:
            continue
    accepted = set(spec.filter([v for v, _ in parsed]))  # pre-releases only when nothing else fits
    chosen = [(v, raw) for v, raw in parsed if v in accepted]
    return max(chosen)[1] if chosen else None


def _pep440_spec(requirement: str) -> SpecifierSet | None:
    try:
        return SpecifierSet(requirement.strip())
    except InvalidSpecifier:
        return None


def _semver(raw: str) -> sv.Version | None:
    raw = raw.strip().removeprefix("v")
    try:
        return sv.Version(raw)
    except ValueError:
        try:
            return sv.Version.coerce(raw)
        except ValueError:
            return None


def _cargo(requirement: str) -> str:
    """Cargo requirements to SimpleSpec: a bare `1.2` means `^1.2`, `=1.2.3` means `==1.2.3`."""
    parts = []
    for part in (p.strip() for p in (requirement or "*").split(",")):
        if _NUMBERS.match(part):
            part = "^" + part
        elif part.startswith("=") and not part.startswith("=="):
            part = "=" + part
        parts.append(part.replace(" ", ""))
    return ",".join(parts)


def _elixir(requirement: str) -> str:
    """Elixir requirements (`~> 1.4`, `>= 1.0.0 and < 2.0.0`, `1.2.3`) to SimpleSpec."""
    parts = []
    for part in (p.strip() for p in requirement.split(" and ")):
        if part.startswith("~>"):
            numbers = part[2:].strip().split("-")[0].split(".")
            lower = ".".join([*numbers, "0", "0"][:3])
            if len(numbers) >= 3:
                upper = f"{numbers[0]}.{int(numbers[1]) + 1}.0"
            else:
                upper = f"{int(numbers[0]) + 1}.0.0"
            parts += [f">={lower}", f"<{upper}"]
        elif _NUMBERS.match(part):
            parts.append("==" + part)
        else:
            parts.append(part.replace(" ", ""))
    return ",".join(parts)
