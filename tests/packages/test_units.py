"""Names, requirements and manifests: the pure parts of package_lookup."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from singularity_mcp.errors import InvalidInput
from singularity_mcp.packages._manifests import find_manifests, read_manifest
from singularity_mcp.packages._names import cache_key, check_name, check_version, parse_ecosystem
from singularity_mcp.packages._versions import satisfies, select
from tests.packages.conftest import FIXTURE_PROJECT


@pytest.mark.parametrize(
    ("ecosystem", "name"),
    [
        ("pypi", "Jinja2"),
        ("pypi", "zope.interface"),
        ("npm", "@types/node"),
        ("npm", "left-pad"),
        ("crates", "serde_json"),
        ("hex", "phoenix_live_view"),
    ],
)
def test_valid_names_pass(ecosystem: str, name: str) -> None:
    assert check_name(ecosystem, f"  {name} ") == name  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ecosystem", "name"),
    [
        ("pypi", "../etc/passwd"),
        ("pypi", "requests?x=1"),
        ("pypi", "-leading-dash"),
        ("npm", "a/../b"),
        ("npm", ".hidden"),
        ("npm", "x#frag"),
        ("crates", "9lives"),
        ("crates", "a" * 65),
        ("hex", "Jason"),
        ("hex", "ja-son"),
    ],
)
def test_invalid_names_are_refused_with_the_rule(ecosystem: str, name: str) -> None:
    with pytest.raises(InvalidInput, match=f"not a valid {ecosystem} package name"):
        check_name(ecosystem, name)  # type: ignore[arg-type]


@given(st.text(min_size=1, max_size=40))
@example("0..0")  # a valid PyPI name (PEP 508) an earlier invariant wrongly refused
def test_no_accepted_name_can_reach_outside_its_path(name: str) -> None:
    for ecosystem in ("pypi", "crates", "hex"):
        try:
            checked = check_name(ecosystem, name)  # type: ignore[arg-type]
        except InvalidInput:
            continue
        # one URL path segment, never "." or ".." (a dot inside a name, "0..0", is a name like any other)
        assert not any(c in checked for c in "/?#%\\ \n") and checked not in (".", "..")
    try:
        checked = check_name("npm", name)
    except InvalidInput:
        return
    assert not any(c in checked for c in "?#%\\ \n") and checked.count("/") <= 1
    assert not {".", ".."} & set(checked.split("/"))


def test_versions_and_ecosystem_aliases() -> None:
    assert check_version(" 1.2.3rc1 ") == "1.2.3rc1"
    with pytest.raises(InvalidInput):
        check_version("1.0/../../x")
    assert parse_ecosystem("crates.io") == "crates"
    assert parse_ecosystem("PyPI") == "pypi"
    assert parse_ecosystem(None) is None
    with pytest.raises(InvalidInput, match="unknown ecosystem"):
        parse_ecosystem("maven")
    assert cache_key("pypi", "Zope.Interface") == "zope-interface"
    assert cache_key("crates", "Serde_JSON") == "serde-json"


@pytest.mark.parametrize(
    ("ecosystem", "requirement", "expected"),
    [
        ("pypi", ">=1.0,<2", "1.9"),
        ("pypi", "==1.0", "1.0"),
        ("pypi", "", "2.1"),  # no pre-releases unless nothing else fits
        ("npm", "^1.2.0", "1.9.0"),
        ("npm", "~1.2.0", "1.2.5"),
        ("npm", ">=2 <3 || 1.0.0", "2.1.0"),
        ("crates", "1.2", "1.9.0"),  # a bare Cargo requirement is a caret requirement
        ("crates", "=1.2.5", "1.2.5"),
        ("crates", "0.9", None),
        ("hex", "~> 1.2", "1.9.0"),
        ("hex", "~> 1.2.0", "1.2.5"),
        ("hex", ">= 2.0.0 and < 2.1.0", "2.0.0"),
        ("hex", "~> 0.1 or ~> 2.0", "2.1.0"),
    ],
)
def test_select_picks_the_newest_matching_release(
    ecosystem: str, requirement: str, expected: str | None
) -> None:
    pool = ["1.0.0", "1.2.0", "1.2.5", "1.9.0", "2.0.0", "2.1.0", "3.0.0-beta.1"]
    if ecosystem == "pypi":
        pool = ["1.0", "1.9", "2.1", "3.0b1"]
    assert select(ecosystem, requirement, pool) == expected


def test_satisfies() -> None:
    assert satisfies("pypi", "==2.10", "3.1.6") is False
    assert satisfies("npm", "^4.17.1", "4.21.0") is True
    assert satisfies("npm", "not a range ::", "1.0.0") is None
    assert satisfies("go", "v0.3.7", "v0.3.7") is True


def test_fixture_project_manifests_are_read() -> None:
    manifests = find_manifests(FIXTURE_PROJECT)
    names = sorted(p.name for p in manifests)
    assert names == [
        "Cargo.toml",
        "go.mod",
        "mix.exs",
        "package.json",
        "pyproject.toml",
        "requirements-dev.txt",
    ]
    declared = {
        (d.ecosystem, d.name, d.requirement, d.kind)
        for m in manifests
        for d in read_manifest(m, FIXTURE_PROJECT)
    }
    assert ("pypi", "jinja2", "==2.10", "normal") in declared
    assert ("pypi", "httpx", "<1,>=0.27", "normal") in declared
    assert ("pypi", "no-such-package-on-record", ">=1", "extra:cli") in declared
    assert ("pypi", "jinja2", ">=3.1", "dev") in declared
    assert ("npm", "express", "4.17.1", "normal") in declared
    assert ("npm", "left-pad", "^1.3.0", "normal") in declared
    assert ("crates", "serde", "1.0", "normal") in declared
    assert ("hex", "jason", "~> 1.4", "normal") in declared
    assert ("hex", "credo", "~> 1.7", "dev") in declared
    assert ("go", "golang.org/x/text", "v0.3.7", "normal") in declared
    assert ("go", "github.com/pkg/errors", "v0.9.1", "indirect") in declared
    # path, git and file dependencies name no registry release
    assert not any(name in {"local", "local-thing", "private_lib"} for _, name, _, _ in declared)


def test_broken_manifest_says_which(tmp_path) -> None:
    (tmp_path / "package.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"package.json is not valid JSON"):
        read_manifest(tmp_path / "package.json", tmp_path)
