"""The token table in the config file: what is accepted, what stops the server at start, and matching."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from singularity_mcp.config import load_settings
from singularity_mcp.errors import ConfigError
from singularity_mcp.http_auth import TokenTable


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    monkeypatch.setenv("SINGULARITY_CONFIG", str(path))


def test_tokens_from_toml_and_matching(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _config(
        tmp_path,
        monkeypatch,
        f'[[http_tokens]]\nname = "alice"\ntoken_sha256 = "{_digest("a-token")}"\nroots = ["{tmp_path}/a"]\n\n'
        f'[[http_tokens]]\nname = "bob"\ntoken_sha256 = "{_digest("b-token").upper()}"\nroots = ["{tmp_path}/b"]\n',
    )
    monkeypatch.setenv("SINGULARITY_HTTP_TOKEN", "legacy-token")
    settings = load_settings()
    table = TokenTable(settings)
    alice, bob = table.identify(b"Bearer a-token"), table.identify(b"bearer b-token")
    assert alice is not None and (alice.name, alice.roots) == ("alice", ((tmp_path / "a").resolve(),))
    assert bob is not None and bob.name == "bob"  # hex digits in either case
    legacy = table.identify(b"Bearer legacy-token")
    assert legacy is not None and (legacy.name, legacy.roots) == ("default", None)  # the process's roots
    for wrong in (b"", b"Bearer", b"Bearer ", b"Basic a-token", b"Bearer a-token2", b"a-token"):
        assert table.identify(wrong) is None
    assert "a-token" not in repr(settings) and "legacy-token" not in repr(settings)


def test_tokens_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    entries = [{"name": "ci", "token_sha256": _digest("t"), "roots": [str(tmp_path)]}]
    monkeypatch.setenv("SINGULARITY_HTTP_TOKENS", json.dumps(entries))
    assert [t.name for t in load_settings().http_tokens] == ["ci"]


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        ('name = "a"\ntoken_sha256 = "{d}"\nroots = []', "at least 1"),
        ('name = "a"\ntoken_sha256 = "abc"\nroots = ["/srv"]', "token_sha256"),
        ('name = "a b"\ntoken_sha256 = "{d}"\nroots = ["/srv"]', "name"),
        ('name = "a"\ntoken = "plain"\ntoken_sha256 = "{d}"\nroots = ["/srv"]', "token"),  # no plain tokens
    ],
)
def test_a_bad_entry_stops_the_start(
    entries: str, problem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config(tmp_path, monkeypatch, "[[http_tokens]]\n" + entries.replace("{d}", _digest("x")) + "\n")
    with pytest.raises(ConfigError, match="SINGULARITY_HTTP_TOKENS") as caught:
        load_settings()
    assert problem in str(caught.value)
    assert "plain" not in str(caught.value)  # a token pasted in by mistake is not echoed


def test_duplicates_and_roots_outside_the_allowed_ones_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    same = f'token_sha256 = "{_digest("x")}"\nroots = ["{tmp_path}/a"]\n'
    _config(
        tmp_path, monkeypatch, f'[[http_tokens]]\nname = "a"\n{same}\n[[http_tokens]]\nname = "b"\n{same}'
    )
    with pytest.raises(ConfigError, match="share a name or a token_sha256"):
        load_settings()
    _config(tmp_path, monkeypatch, f'[[http_tokens]]\nname = "a"\n{same}')
    monkeypatch.setenv("SINGULARITY_ALLOWED_ROOTS", str(tmp_path / "elsewhere"))
    with pytest.raises(ConfigError, match="outside SINGULARITY_ALLOWED_ROOTS"):
        load_settings()
    monkeypatch.setenv("SINGULARITY_ALLOWED_ROOTS", str(tmp_path))
    assert load_settings().http_tokens[0].name == "a"
