"""find_symbol / find_references / repo_map through MCP (the SDK's in-memory client on the real server,
real embedded PostgreSQL, real tree-sitter, the real tokenizer)."""

from __future__ import annotations

import os
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from singularity_mcp.config import Settings
from singularity_mcp.server import build_server
from tests.conftest import make_settings

pytestmark = pytest.mark.anyio

FILES = {
    "shop/pricing.py": '''
        """Prices and discounts."""


        class PriceBook:
            def price_of(self, sku: str) -> float:
                return 10.0


        def apply_discount(amount: float, percent: float) -> float:
            # apply_discount is mentioned here only in a comment
            return amount * (1 - percent / 100)
        ''',
    "shop/cart.py": """
        from shop.pricing import PriceBook, apply_discount


        class Cart:
            def __init__(self) -> None:
                self.book = PriceBook()

            def total(self, skus: list[str]) -> float:
                gross = sum(self.book.price_of(s) for s in skus)
                return apply_discount(gross, 5)
        """,
    "shop/checkout.py": """
        from shop.cart import Cart


        def checkout(skus):
            note = "apply_discount in a string"
            return Cart().total(skus)
        """,
    "web/app.js": """
        import { formatPrice } from "./format.js";

        export function renderTotal(total) {
          return formatPrice(total);
        }
        """,
    "web/format.js": """
        export function formatPrice(value) {
          return "$" + value.toFixed(2);
        }
        """,
}


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text
    return result.structured_content


async def error(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error
    return result.content[0].text


@pytest.fixture(scope="module")
async def client(settings: Settings, embedder: object, database: object) -> AsyncIterator[Client]:
    async with Client(build_server(settings)) as session:
        yield session


@pytest.fixture
async def repo(client: Client, tmp_path: Path) -> Path:
    root = write(tmp_path / "repo", FILES)
    data = await call(client, "index_codebase", path=str(root))
    assert data["status"] == "done" and data["files_indexed"] == 5
    return root


async def test_tools_are_listed_with_annotations(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    for name in ("find_symbol", "find_references", "repo_map"):
        tool = tools[name]
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
        assert all(p.get("description") for p in tool.input_schema["properties"].values()), name
        assert "semantic_search" in tool.description  # says when to use it instead
    assert tool.output_schema is not None


async def test_find_symbol_exact_qualified_kind_and_fuzzy(client: Client, repo: Path) -> None:
    data = await call(client, "find_symbol", name="apply_discount", path=str(repo))
    assert data["match"] == "exact"
    (hit,) = data["symbols"]
    assert hit["path"] == str(repo / "shop/pricing.py") and hit["kind"] == "function"
    assert (hit["start_line"], hit["end_line"]) == (9, 11)
    assert hit["signature"] == "def apply_discount(amount: float, percent: float) -> float"

    data = await call(client, "find_symbol", name="Cart.total", path=str(repo))
    assert data["match"] == "qualified"
    assert [s["qualified_name"] for s in data["symbols"]] == ["Cart.total"]

    data = await call(client, "find_symbol", name="total", path=str(repo), kind="class")
    assert data["symbols"] == [] or all(s["kind"] == "class" for s in data["symbols"])

    data = await call(client, "find_symbol", name="apply_discounts", path=str(repo))
    assert data["match"] == "fuzzy"
    assert data["symbols"][0]["name"] == "apply_discount"
    assert any("fuzzy" in n for n in data["notes"])

    data = await call(client, "find_symbol", name="qqqqqqq", path=str(repo))
    assert data["match"] == "none" and data["symbols"] == []


async def test_find_references_grouped_with_enclosing_and_text(client: Client, repo: Path) -> None:
    data = await call(client, "find_references", name="apply_discount", path=str(repo))
    files = {Path(f["path"]).relative_to(repo).as_posix(): f["references"] for f in data["files"]}
    assert set(files) == {"shop/cart.py"}  # not the comment in pricing.py, not the string in checkout.py
    lines = files["shop/cart.py"]
    assert [(r["line"], r["enclosing"]) for r in lines] == [(1, ""), (10, "Cart.total")]
    assert lines[1]["text"] == "return apply_discount(gross, 5)" and lines[1]["kind"] == "call"
    assert data["total"] == 2 and not data["truncated"]
    assert [d["path"] for d in data["definitions"]] == [str(repo / "shop/pricing.py")]

    js = await call(client, "find_references", name="formatPrice", path=str(repo / "web"))
    assert [Path(f["path"]).name for f in js["files"]] == ["app.js"]
    assert [r["line"] for r in js["files"][0]["references"]] == [1, 4]


async def test_results_are_fresh(client: Client, repo: Path) -> None:
    cart = repo / "shop/cart.py"
    text = cart.read_text().replace(
        "return apply_discount(gross, 5)",
        "net = apply_discount(gross, 5)\n        return apply_discount(net, 1)",
    )
    cart.write_text(text)
    os.utime(cart, ns=(cart.stat().st_atime_ns, cart.stat().st_mtime_ns + 1_000_000))
    data = await call(client, "find_references", name="apply_discount", path=str(repo))
    (entry,) = data["files"]
    assert [r["line"] for r in entry["references"]] == [1, 10, 11]
    assert any("re-indexed" in n for n in data["notes"])

    (repo / "shop/pricing.py").unlink()
    data = await call(client, "find_symbol", name="apply_discount", path=str(repo))
    assert data["match"] != "exact" and all("pricing.py" not in s["path"] for s in data["symbols"])


async def test_repo_map_ranks_referenced_code_and_fits_budget(client: Client, repo: Path) -> None:
    data = await call(client, "repo_map", path=str(repo))
    assert data["tokens"] <= data["token_budget"] == 2000
    assert data["files_total"] == 5 and set(data["files"]) == set(FILES)
    # pricing.py is referenced by cart.py, which checkout.py references: it outranks the leaf
    assert data["files"].index("shop/pricing.py") < data["files"].index("shop/checkout.py")
    assert "shop/pricing.py:" in data["text"]
    assert "def apply_discount(amount: float, percent: float) -> float" in data["text"]

    small = await call(client, "repo_map", path=str(repo), token_budget=64)
    assert 0 < small["tokens"] <= 64 and small["definitions"] < data["definitions"]
    assert any("raise token_budget" in n for n in small["notes"])

    focused = await call(client, "repo_map", path=str(repo), focus="web/format.js", token_budget=64)
    assert focused["files"][0] in ("web/format.js", "web/app.js")
    sentence = await call(
        client, "repo_map", path=str(repo), focus="how prices are formatted", token_budget=64
    )
    assert "web/format.js" in sentence["files"]


async def test_bad_input_gets_a_tool_error(client: Client, repo: Path, tmp_path: Path) -> None:
    assert "empty" in await error(client, "find_symbol", name="  ")
    assert "not an identifier" in await error(client, "find_references", name="two words")
    assert "token_budget" in await error(client, "repo_map", path=str(repo), token_budget=10)
    elsewhere = tmp_path / "not-indexed"
    elsewhere.mkdir()
    assert "index_codebase" in await error(client, "repo_map", path=str(elsewhere))
    docs = write(tmp_path / "docs-only", {"README.md": "# Nothing to define here\n"})
    await call(client, "index_codebase", path=str(docs))
    assert "symbol index of this folder is empty" in await error(
        client, "find_symbol", name="x", path=str(docs)
    )


async def test_allowed_roots_are_honoured(data_dir: Path, repo: Path, tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", {"secret.py": "def apply_discount():\n    return 0\n"})
    fenced = make_settings(data_dir, allowed_roots=[repo])
    async with Client(build_server(make_settings(data_dir))) as open_client:
        await call(open_client, "index_codebase", path=str(outside))
    async with Client(build_server(fenced)) as client:
        assert "outside the allowed roots" in await error(client, "find_symbol", name="x", path=str(outside))
        data = await call(client, "find_symbol", name="apply_discount")
        assert data["symbols"] and all(s["path"].startswith(str(repo)) for s in data["symbols"])
        refs = await call(client, "find_references", name="apply_discount")
        assert all(f["path"].startswith(str(repo)) for f in refs["files"])
        assert "outside the allowed roots" in await error(client, "repo_map", path=str(outside))
