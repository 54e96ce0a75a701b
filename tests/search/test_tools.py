"""index_codebase / index_status / semantic_search through the real MCP client over stdio."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import pytest
from mcp.client.session import ClientSession

from tests.search.conftest import write_repo

pytestmark = pytest.mark.anyio


async def call(client: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text
    return result.structured_content


async def search(client: ClientSession, query: str, **arguments: Any) -> list[dict[str, Any]]:
    data = await call(client, "semantic_search", query=query, scope="code", **arguments)
    return data["results"]


def rel(hit: dict[str, Any], root: Path) -> str:
    return Path(hit["path"]).relative_to(root).as_posix()


async def test_tools_are_listed(client: ClientSession) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert {"index_codebase", "index_status", "semantic_search"} <= set(tools)
    schema = tools["semantic_search"].input_schema["properties"]
    assert {"query", "scope", "path", "language", "artifact_type", "top_k"} <= set(schema)
    assert "index_codebase" in tools["semantic_search"].description


async def test_index_then_search_with_progress(client: ClientSession, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo")
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    result = await client.call_tool("index_codebase", {"path": str(root)}, progress_callback=on_progress)
    assert not result.is_error, result.content[0].text
    data = result.structured_content
    assert data["status"] == "done" and data["repo"] == str(root)
    assert data["files_indexed"] == 5  # 3 code files + docs; vendored, ignored, binary, lock skipped
    assert data["files_skipped"] == 1  # assets/logo.py: binary, found out when read
    assert data["preflight"]["by_language"] == {"python": 3, "javascript": 1, "go": 1, "markdown": 1}
    assert data["chunks"] > 0 and data["vectors_filled"] == data["chunks"]
    assert progress and progress[-1][0] == 100.0
    assert any(m and "files to index" in m for _, _, m in progress)  # the pre-flight summary
    preflight = next(m for _, _, m in progress if m and "files to index" in m)
    assert "(parse " in preflight and ", embed " in preflight and "rates" in preflight  # the estimate's parts
    values = [v for v, _, _ in progress]
    assert all(a < b for a, b in itertools.pairwise(values)), progress  # strictly increasing (MCP)

    hits = await search(client, "how much does it cost to ship a parcel", path=str(root))
    assert rel(hits[0], root) == "billing/shipping.py"
    assert hits[0]["symbol"] == "compute_shipping_cost"
    assert hits[0]["start_line"] <= 7 <= hits[0]["end_line"]
    assert "weight_kg * RATE_PER_KG" in hits[0]["snippet"]
    paths = {rel(h, root) for h in await search(client, "leftpad vendored ignored", path=str(root), top_k=50)}
    assert not paths & {"node_modules/leftpad/index.js", "generated/skipme.py", "assets/logo.py"}

    status = await call(client, "index_status", path=str(root))
    (entry,) = status["roots"]
    assert entry["state"] == "ready" and entry["files"] == 5
    assert entry["chunks"] == entry["chunks_embedded"] == data["chunks"]
    assert entry["languages"] == {"python": 2, "javascript": 1, "go": 1, "markdown": 1}


async def test_identifier_search_splits_camel_and_snake(client: ClientSession, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo")
    await call(client, "index_codebase", path=str(root))
    # (query, file, a line inside the definition): small neighbours may share one chunk, so the check is
    # on the hit's file and line range rather than on the chunk's symbol.
    for query, file, line in [
        ("RetryWithBackoff", "server/health.go", 13),
        ("retry backoff", "server/health.go", 13),
        ("invoice_total_with_tax", "billing/invoice.py", 12),
        ("parse query string", "web/static/carousel.js", 12),
        ("ParcelTracker depot", "billing/shipping.py", 20),
    ]:
        top = (await search(client, query, path=str(root)))[0]
        assert rel(top, root) == file and top["start_line"] <= line <= top["end_line"], (query, top)


async def test_exact_identifier_beats_its_split_words_in_other_languages(
    client: ClientSession, tmp_path: Path
) -> None:
    """A query naming a definition exactly (any case convention) ranks that definition first, above
    chunks that only share the identifier's words, in another language or as a one-line chunk."""
    files = {
        "pip/req.py": """
            def parse_requirements(lines):
                requirements = [line.strip() for line in lines if line.strip()]
                return requirements


            def get_requirement(name):
                return Requirement(name)
            """,
        "web/reqs.js": """
            export function listRequirements(get) {
              const requirement = get("requirement");
              const requirements = get("requirements");
              return [requirement, requirements, get(requirement), get(requirements)];
            }
            """,
    }
    root = write_repo(tmp_path / "repo", files)
    await call(client, "index_codebase", path=str(root))
    for query in (
        "get_requirement",
        "getRequirement",
        "GetRequirement returns the requirement",
        "get-requirement",
    ):
        top = (await search(client, query, path=str(root)))[0]
        assert rel(top, root) == "pip/req.py" and top["symbol"] == "get_requirement", (query, top)


async def test_edit_then_search_is_fresh_and_delete_is_gone(client: ClientSession, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo")
    await call(client, "index_codebase", path=str(root))
    hits = await search(client, "image carousel slides rotation", path=str(root))
    assert rel(hits[0], root) == "web/static/carousel.js"
    end_before = hits[0]["end_line"]

    carousel = root / "web/static/carousel.js"
    text = carousel.read_text()
    carousel.write_text("// moved down by three lines\n\n\n" + text.replace("index = 0", "index = startAt"))
    os.utime(carousel, ns=(carousel.stat().st_atime_ns, carousel.stat().st_mtime_ns + 5_000_000))
    data = await call(
        client, "semantic_search", query="image carousel slides rotation", scope="code", path=str(root)
    )
    top = data["results"][0]
    assert rel(top, root) == "web/static/carousel.js"
    assert "startAt" in top["snippet"] and "index = 0" not in top["snippet"]
    assert top["end_line"] == end_before + 3  # three lines were added above
    assert any("re-indexed" in note for note in data["notes"])

    (root / "server/health.go").unlink()
    hits = await search(client, "liveness probe health handler", path=str(root), top_k=50)
    assert all(rel(h, root) != "server/health.go" for h in hits)
    status = await call(client, "index_status", path=str(root))
    assert status["roots"][0]["languages"].get("go") is None


async def test_reindex_without_changes_embeds_nothing(client: ClientSession, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo")
    first = await call(client, "index_codebase", path=str(root))
    again = await call(client, "index_codebase", path=str(root))
    assert again["status"] == "done"
    assert again["files_indexed"] == 0 and again["vectors_filled"] == 0
    assert again["files_unchanged"] == first["files_indexed"]
    assert again["chunks"] == first["chunks"]

    (root / "billing/new_module.py").write_text("def brand_new_function():\n    return 42\n")
    (root / "docs/notes.md").unlink()
    third = await call(client, "index_codebase", path=str(root))
    assert third["files_indexed"] == 1 and third["files_removed"] == 1
    assert 0 < third["vectors_filled"] <= 2


async def test_filters_by_language_and_subfolder(client: ClientSession, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo")
    await call(client, "index_codebase", path=str(root))
    hits = await search(client, "function", path=str(root), language="go", top_k=20)
    assert hits and all(h["language"] == "go" for h in hits)
    hits = await search(client, "price total cost", path=str(root / "billing"), top_k=20)
    assert hits and all(rel(h, root).startswith("billing/") for h in hits)
    hits = await search(client, "price total cost", path=str(root / "web"), top_k=20)
    assert all(rel(h, root).startswith("web/") for h in hits)
    hits = await search(client, "parcel", path=str(root), kind="class", top_k=20)
    assert hits and all(h["symbol_kind"] == "class" for h in hits)
    assert hits[0]["symbol"] == "ParcelTracker"


async def test_bad_input_is_a_tool_error(client: ClientSession, tmp_path: Path) -> None:
    missing = await client.call_tool("index_codebase", {"path": str(tmp_path / "nope")})
    assert missing.is_error and "does not exist" in missing.content[0].text
    (tmp_path / "f.py").write_text("x = 1\n")
    not_folder = await client.call_tool("index_codebase", {"path": str(tmp_path / "f.py")})
    assert not_folder.is_error and "not a folder" in not_folder.content[0].text
    empty = await client.call_tool("semantic_search", {"query": "  ", "scope": "code"})
    assert empty.is_error and "query is empty" in empty.content[0].text
    too_many = await client.call_tool("semantic_search", {"query": "x", "top_k": 500})
    assert too_many.is_error and "top_k" in too_many.content[0].text
    outside = await client.call_tool(
        "semantic_search", {"query": "x", "scope": "code", "path": str(tmp_path)}
    )
    assert outside.is_error and "index_codebase" in outside.content[0].text
    language = await client.call_tool(
        "semantic_search", {"query": "x", "scope": "code", "language": "klingon"}
    )
    assert language.is_error and "unknown language" in language.content[0].text


async def test_knowledge_is_its_own_section_and_path_means_code(
    client: ClientSession, tmp_path: Path
) -> None:
    root = write_repo(tmp_path / "repo")
    await call(client, "index_codebase", path=str(root))
    knowledge = await call(
        client, "semantic_search", query="retry with exponential backoff", scope="knowledge"
    )
    assert knowledge["results"] and {h["kind"] for h in knowledge["results"]} == {"knowledge"}
    assert all(h["uri"].startswith("knowledge://") for h in knowledge["results"])
    assert knowledge["knowledge"] == []

    # A path (or language, or kind) says the question is about code: no knowledge hits at all.
    for narrowing in ({"path": str(root)}, {"language": "go"}, {"kind": "function"}):
        narrowed = await call(
            client,
            "semantic_search",
            query="retry with exponential backoff",
            scope="all",
            top_k=6,
            **narrowing,
        )
        assert narrowed["results"] and {h["kind"] for h in narrowed["results"]} == {"code"}, narrowing
        assert narrowed["knowledge"] == []
    both = await call(client, "semantic_search", query="retry with exponential backoff", scope="all", top_k=6)
    assert {h["kind"] for h in both["results"]} == {"code"}  # never merged into one ranking
    assert 1 <= len(both["knowledge"]) <= 3 and {h["kind"] for h in both["knowledge"]} == {"knowledge"}
    code_only = await call(
        client, "semantic_search", query="retry with exponential backoff", scope="code", top_k=6
    )
    assert [h["path"] for h in both["results"]] == [h["path"] for h in code_only["results"]]
