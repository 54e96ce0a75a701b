"""Replays every read-outside-the-roots case of issue 14 through MCP (the SDK's in-memory client); any
leak of an outside file's name or content fails.

Each secret is a token written only into files outside the allowed roots (or outside the indexed folder);
the whole answer (structured content and text) must never contain it.
"""

from __future__ import annotations

import json
import os
import socket
import textwrap
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult

from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from tests.faults.conftest import call, in_memory, refused, restricted, text_of

pytestmark = pytest.mark.anyio


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def everything(result: CallToolResult | dict[str, Any]) -> str:
    """All a client sees of an answer, as one string to search for leaks."""
    if isinstance(result, dict):
        return json.dumps(result)
    return json.dumps(result.structured_content or {}) + text_of(result)


async def code_paths(client: Client, query: str, **arguments: Any) -> set[str]:
    data = await call(client, "semantic_search", query=query, top_k=50, **arguments)
    return {hit["path"] for hit in data["results"] if hit["kind"] == "code"}


async def test_search_without_path_returns_only_allowed_roots(
    settings: Settings, database: object, tmp_path: Path
) -> None:
    outside = write(tmp_path / "outside", {"vault.py": "def open_quokka_vault():\n    return 'VAULT-91'\n"})
    inside = write(tmp_path / "inside", {"gate.py": "def open_quokka_gate():\n    return 'gate'\n"})
    parent = write(
        tmp_path / "parent",
        {
            "allowed/door.py": "def open_quokka_door():\n    return 'door'\n",
            "hidden/hatch.py": "def open_quokka_hatch():\n    return 'HATCH-17'\n",
        },
    )
    async with in_memory(settings) as other:  # another process, without allowed roots, indexes all three
        for root in (outside, inside, parent):
            assert (await call(other, "index_codebase", path=str(root)))["status"] == "done"
        assert str(outside / "vault.py") in await code_paths(other, "open quokka vault", scope="code")

    async with in_memory(restricted(settings, inside, parent / "allowed")) as client:
        allowed = (str(inside) + os.sep, str(parent / "allowed") + os.sep)
        for arguments in ({"scope": "code"}, {"scope": "all"}, {"scope": "code", "language": "python"},
                          {"scope": "code", "kind": "function"}):  # fmt: skip
            for query in ("open quokka vault", "open quokka hatch", "open quokka gate door"):
                data = await call(client, "semantic_search", query=query, top_k=50, **arguments)
                paths = {hit["path"] for hit in data["results"] if hit["kind"] == "code"}
                assert all(p.startswith(allowed) for p in paths), (arguments, paths)
                assert "VAULT-91" not in everything(data) and "HATCH-17" not in everything(data)
        found = await code_paths(client, "open quokka gate door", scope="code")
        # an indexed parent of an allowed root is searched below that root only
        assert {str(inside / "gate.py"), str(parent / "allowed" / "door.py")} <= found

        status = await call(client, "index_status")
        listed = {entry["repo"] for entry in status["roots"]}
        assert str(inside) in listed and not listed & {str(outside), str(parent)}

        message = await refused(client, "semantic_search", query="vault", scope="code", path=str(outside))
        assert "outside the allowed roots" in message
        message = await refused(client, "index_status", path=str(outside))
        assert "outside the allowed roots" in message

    async with in_memory(restricted(settings, tmp_path / "nothing-indexed-here")) as client:
        message = await refused(client, "semantic_search", query="open quokka vault", scope="code")
        assert "nothing is indexed inside the allowed roots" in message


async def test_per_request_roots_narrow_the_search(core: Core, tmp_path: Path) -> None:
    """`restrict_roots` (the hook for per-token roots on a team server) narrows every query."""
    from singularity_mcp.paths import restrict_roots
    from singularity_mcp.search import code_indexer, search_everything

    mine = write(tmp_path / "mine", {"a.py": "def wombat_ledger_mine():\n    return 1\n"})
    theirs = write(tmp_path / "theirs", {"b.py": "def wombat_ledger_theirs():\n    return 2\n"})
    indexer = await code_indexer(core)
    for root in (mine, theirs):
        run, _ = indexer.begin(root)
        await indexer.execute(run)
    with restrict_roots([mine]):
        result = await search_everything(core, "wombat ledger", "code", None, None, None, 50)
    paths = {hit.path for hit in result.results}
    assert paths and all(p.startswith(str(mine) + os.sep) for p in paths), paths
    everywhere = await search_everything(core, "wombat ledger", "code", None, None, None, 50)
    assert str(theirs / "b.py") in {hit.path for hit in everywhere.results}


@pytest.mark.parametrize("with_roots", [True, False], ids=["allowed-roots", "no-allowed-roots"])
async def test_symlink_swapped_in_after_indexing_is_not_followed(
    settings: Settings, database: object, tmp_path: Path, with_roots: bool
) -> None:
    secret = write(
        tmp_path / "secret",
        {
            "creds.py": "def load_numbat_settings():\n    return 'CREDS-4417 numbat settings'\n",
            "pkg/util.py": "def numbat_helper_util():\n    return 'UTIL-5523 numbat helper'\n",
        },
    )
    root = write(
        tmp_path / "root",
        {
            "settings.py": "def load_numbat_settings():\n    return {'debug': True}\n",
            "pkg/util.py": "def numbat_helper_util():\n    return 'fine'\n",
            "main.py": "def numbat_main():\n    return load_numbat_settings()\n",
        },
    )
    server_settings = restricted(settings, root) if with_roots else settings
    async with in_memory(server_settings) as client:
        await call(client, "index_codebase", path=str(root))
        assert str(root / "settings.py") in await code_paths(client, "load numbat settings", path=str(root))
        # a file, and a folder, replaced by symlinks to files outside (the index still holds the old rows)
        (root / "settings.py").unlink()
        (root / "settings.py").symlink_to(secret / "creds.py")
        for child in (root / "pkg").iterdir():
            child.unlink()
        (root / "pkg").rmdir()
        (root / "pkg").symlink_to(secret / "pkg")

        for arguments in ({"scope": "code"}, {"scope": "code", "path": str(root)}, {"scope": "all"}):
            data = await call(client, "semantic_search", query="load numbat settings helper util", top_k=50,
                              **arguments)  # fmt: skip
            leaked = everything(data)
            assert "CREDS-4417" not in leaked and "UTIL-5523" not in leaked, arguments
            paths = {hit["path"] for hit in data["results"] if hit["kind"] == "code"}
            assert not paths & {str(root / "settings.py"), str(root / "pkg" / "util.py")}, paths

        answer = await client.call_tool(
            "ask_agent", {"prompt": "how are numbat settings loaded?", "path": str(root), "use_llm": False}
        )
        assert not answer.is_error, text_of(answer)
        assert "CREDS-4417" not in everything(answer) and "UTIL-5523" not in everything(answer)

        status = await call(client, "index_status", path=str(root))
        assert status["roots"][0]["files"] == 1  # only main.py is left in the index


async def test_code_given_to_the_model_never_comes_from_outside(
    settings: Settings, database: object, tmp_path: Path
) -> None:
    """The code context ask_agent builds for the LLM re-reads the hits' files: only inside the roots."""
    from singularity_mcp.agent import decide

    secret = write(tmp_path / "secret", {"keys.py": "def platypus_key_loader():\n    return 'KEY-8812'\n"})
    root = write(tmp_path / "root", {"keys.py": "def platypus_key_loader():\n    return 'public'\n"})
    async with asynccontextmanager(Core(restricted(settings, root)).run)() as core:
        from singularity_mcp.search import code_indexer

        indexer = await code_indexer(core)
        run, _ = indexer.begin(root)
        await indexer.execute(run)
        prompt = "Explain how platypus_key_loader finds its keys, step by step, in detail."
        before = (await decide(core, prompt, path=str(root), can_sample=True)).request
        assert before is not None and "'public'" in before.prompt
        (root / "keys.py").unlink()
        (root / "keys.py").symlink_to(secret / "keys.py")
        after = (await decide(core, prompt, path=str(root), can_sample=True)).request
        assert after is not None and "KEY-8812" not in after.prompt and "'public'" not in after.prompt


async def test_package_audit_does_not_follow_a_manifest_symlinked_outside(
    settings: Settings, database: object, tmp_path: Path
) -> None:
    elsewhere = write(tmp_path / "elsewhere", {"requirements.txt": "leaky-secret-package==1.0\n"})
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").symlink_to(elsewhere / "requirements.txt")
    for server_settings in (restricted(settings, project), settings):
        async with in_memory(server_settings) as client:
            result = await client.call_tool("package_lookup", {"path": str(project)})
            assert "leaky-secret-package" not in everything(result), everything(result)
            if not result.is_error:
                audit = (result.structured_content or {})["audit"]
                assert audit["dependencies"] == []
                assert any("outside" in note for note in result.structured_content["notes"])


async def test_special_files_are_skipped_without_being_opened(
    settings: Settings, database: object, tmp_path: Path
) -> None:
    folder = write(tmp_path / "f", {"ok.py": "def fine(x):\n    if x:\n        return 1\n    return 2\n"})
    os.mkfifo(folder / "pipe.py")  # a language by its name: the walkers used to open it and block
    os.mkfifo(folder / "runme")  # no extension: its first bytes were read to look for a shebang
    os.mkfifo(folder / ".gitignore")
    os.mkfifo(folder / "requirements.txt")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "s.py"))
    try:
        async with in_memory(settings) as client:
            with anyio.fail_after(60):
                folder_result = await call(client, "analyze_code", path=str(folder))
                assert folder_result["files_analyzed"] == 1
                indexed = await call(client, "index_codebase", path=str(folder))
                assert indexed["status"] == "done" and indexed["files_indexed"] == 1
                for name, kind in (("pipe.py", "FIFO"), ("s.py", "socket")):
                    message = await refused(client, "analyze_code", path=str(folder / name))
                    assert kind in message, message
                message = await refused(client, "analyze_code", path="/dev/zero", language="python")
                assert "device" in message
                audit = await client.call_tool("package_lookup", {"path": str(folder)})
                assert audit.is_error and "no manifest" in text_of(audit)
    finally:
        sock.close()


async def test_hostile_paths_get_one_readable_sentence(
    settings: Settings, database: object, tmp_path: Path
) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    async with in_memory(settings) as client:
        cases = {
            "loop of symbolic links": {"path": str(tmp_path / "a")},
            "input/output error": {"path": "/proc/self/mem", "language": "python"},
            "over the 4096-character limit": {"path": "/" + "x" * 5000},
            "over 255 bytes": {"path": "/tmp/" + "y" * 300 + "/z.py"},
            "NUL character": {"path": str(tmp_path) + "\x00/etc/passwd"},
            "lone UTF-16 surrogate": {"path": str(tmp_path) + "/\ud800.py"},
        }
        for expected, arguments in cases.items():
            message = await refused(client, "analyze_code", **arguments)
            assert expected in message, (expected, message)
            assert "x" * 300 not in message and "y" * 300 not in message  # at most ~200 characters quoted
        for tool, arguments in (
            ("index_codebase", {"path": str(tmp_path / "a")}),
            ("package_lookup", {"path": str(tmp_path / "a")}),
            ("ask_agent", {"prompt": "why?", "path": str(tmp_path / "a"), "use_llm": False}),
        ):
            assert "loop of symbolic links" in await refused(client, tool, **arguments)
        async with in_memory(restricted(settings, tmp_path / "inside")) as boxed:
            message = await refused(boxed, "analyze_code", path="/proc/self/mem", language="python")
            assert "outside the allowed roots" in message
