"""The one reader and the allowed-roots filter (`singularity_mcp.paths`), and the one error mapper."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from pydantic import BaseModel, Field, ValidationError

from singularity_mcp.config import Settings
from singularity_mcp.errors import InvalidInput, check_text, quoted
from singularity_mcp.paths import (
    AllowedRoots,
    allowed_roots,
    read_file,
    read_optional_text,
    resolve_allowed,
    restrict_roots,
)
from singularity_mcp.tools._common import bounded_message, check_arguments, tool_error_message
from tests.conftest import make_settings


def refused(match: str, *args: object, **kwargs: object) -> str:
    with pytest.raises(InvalidInput, match=match) as caught:
        read_file(*args, **kwargs)  # type: ignore[arg-type]
    return str(caught.value)


def test_reads_a_regular_file_inside(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    read = read_file(tmp_path / "a.py", max_bytes=100, roots=AllowedRoots((tmp_path,)), within=tmp_path)
    assert read.data == b"x = 1\n" and read.path == tmp_path / "a.py" and read.size == 6
    assert read_file(tmp_path / "a.py", max_bytes=3, truncate=True).data == b"x ="
    refused("over the 3-byte limit", tmp_path / "a.py", max_bytes=3)


def test_symlinks_resolving_outside_are_refused(tmp_path: Path) -> None:
    outside, inside = tmp_path / "outside", tmp_path / "inside"
    outside.mkdir()
    inside.mkdir()
    (outside / "secret.txt").write_text("SECRET")
    (inside / "link.txt").symlink_to(outside / "secret.txt")
    (inside / "dir").symlink_to(outside)
    (inside / "near.txt").write_text("near")
    (inside / "near-link.txt").symlink_to(inside / "near.txt")
    roots = AllowedRoots((inside,))
    for path in (inside / "link.txt", inside / "dir" / "secret.txt"):
        assert "outside the allowed roots" in refused("outside", path, max_bytes=100, roots=roots)
        refused("outside", path, max_bytes=100, within=inside)  # no allowed roots: the folder still fences
    assert read_file(inside / "near-link.txt", max_bytes=100, roots=roots).data == b"near"
    refused("symbolic link", inside / "near-link.txt", max_bytes=100, follow_symlinks=False)


def test_special_files_are_refused_without_opening(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    outcome: list[str] = []
    reader = threading.Thread(
        target=lambda: outcome.append(refused("FIFO", fifo, max_bytes=100)), daemon=True
    )
    reader.start()
    reader.join(10)
    if reader.is_alive():  # it opened the FIFO and blocks: unblock it by opening the other end
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("read_file opened a FIFO")
    assert outcome and "FIFO (named pipe)" in outcome[0]
    refused("device", "/dev/zero", max_bytes=100)
    refused("folder", tmp_path, max_bytes=100)
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    refused("loop of symbolic links", tmp_path / "loop", max_bytes=100)
    refused("input/output error", "/proc/self/mem", max_bytes=100)
    refused("NUL", str(tmp_path) + "\x00x", max_bytes=100)
    refused("4096-character limit", "/" + "a" * 5000, max_bytes=100)
    assert read_optional_text(fifo) == "" and read_optional_text(tmp_path / "missing") == ""


def test_allowed_roots_narrow_and_never_widen(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    configured = AllowedRoots((a,))
    assert configured.admits(a / "x.py") and not configured.admits(b / "x.py")
    assert not configured.admits(tmp_path / "ab")  # a prefix of the name is not inside
    assert configured.parts_of(tmp_path) == [a]  # an indexed parent is searched below the root only
    assert configured.narrowed([a / "sub", b]).folders == (a / "sub",)
    assert configured.narrowed([b]).folders == ()  # disjoint: nothing, not everything
    assert AllowedRoots().narrowed([b]).folders == (b,)

    settings: Settings = make_settings(tmp_path / "data", allowed_roots=[a])
    (a / "sub").mkdir(parents=True)
    b.mkdir()
    with restrict_roots([a / "sub", b]):
        assert allowed_roots(settings).folders == (a / "sub",)
        with pytest.raises(InvalidInput, match="outside the allowed roots"):
            resolve_allowed(a, settings)
        with pytest.raises(InvalidInput, match="outside the allowed roots"):
            resolve_allowed(b, settings)
    assert resolve_allowed(a, settings) == a
    with pytest.raises(InvalidInput, match="outside the allowed roots"):  # never says it is missing
        resolve_allowed(tmp_path / "missing", settings)


def test_text_checks_name_the_argument() -> None:
    with pytest.raises(InvalidInput, match=r"query contains a NUL character \(\\x00\) at position 3"):
        check_text("query", "abc\x00")
    with pytest.raises(InvalidInput, match="prompt contains a lone UTF-16 surrogate"):
        check_text("prompt", "x\ud800")
    with pytest.raises(InvalidInput, match="over the 10 limit"):
        check_text("goal", "x" * 11, 10)
    with pytest.raises(InvalidInput, match=r"subtasks\[0\]\.title contains a NUL"):
        check_arguments({"subtasks": [{"title": "a\x00"}]})
    with pytest.raises(InvalidInput, match="nested more than 32 levels"):
        deep: object = "x"
        for _ in range(100):
            deep = [deep]
        check_arguments({"path": deep})
    assert quoted("x" * 1000).endswith("… (1,000 characters)") and len(quoted("x" * 1000)) < 240


class _Arguments(BaseModel):
    query: str = Field(max_length=10)
    top_k: int = 10


def test_errors_are_one_bounded_sentence() -> None:
    from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError

    huge = "q" * 5_000_000
    try:
        _Arguments.model_validate({"query": huge, "top_k": "many"})
    except ValidationError as exc:
        wrapped = ToolError(f"Error executing tool semantic_search: {exc}")
        wrapped.__cause__ = exc
    message = tool_error_message("semantic_search", wrapped, {"query": huge, "top_k": "many"})
    assert message.startswith("invalid arguments for semantic_search: query has 5,000,000 characters, over")
    assert "top_k: Input should be a valid integer" in message and "'many'" in message
    assert len(message) < 400 and "pydantic" not in message

    crash = UnexpectedToolError("Error executing tool analyze_code")
    crash.__cause__ = UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
    assert "not valid Unicode" in tool_error_message("analyze_code", crash)
    crash.__cause__ = KeyError("x")
    assert "internal error (KeyError" in tool_error_message("analyze_code", crash)

    echoed = bounded_message(f"unknown language {huge!r}", {"language": huge})
    assert len(echoed) < 300 and "(5,000,000 characters)" in echoed
    assert len(bounded_message("y" * 50_000)) <= 1000
