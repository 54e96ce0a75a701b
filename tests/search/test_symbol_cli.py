"""`singularity-mcp symbols`, `refs` and `map` on the command line (run in this process, on the session's
embedded PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

from singularity_mcp.config import Settings
from tests.search.test_cli import cli
from tests.search.test_symbol_tools import FILES, write


def test_symbols_refs_map(settings: Settings, search_env: dict[str, str], tmp_path: Path) -> None:
    root = write(tmp_path / "repo", FILES)
    indexed = cli(settings, search_env, "index", str(root), "--json")
    assert indexed.returncode == 0, indexed.stderr

    found = cli(settings, search_env, "symbols", "Cart.total", "--path", str(root), "--json")
    assert found.returncode == 0, found.stderr
    (symbol,) = json.loads(found.stdout)["symbols"]
    assert symbol["path"] == str(root / "shop/cart.py") and symbol["start_line"] == 8

    human = cli(settings, search_env, "refs", "apply_discount", "--path", str(root))
    assert human.returncode == 0, human.stderr
    assert f"defined at {root / 'shop/pricing.py'}:9" in human.stdout
    assert "return apply_discount(gross, 5)  [Cart.total]" in human.stdout
    assert "2 reference lines in 1 files" in human.stdout

    missing = cli(settings, search_env, "symbols", "qqqqqqq", "--path", str(root))
    assert missing.returncode == 1 and "no definition named" in missing.stdout

    mapped = cli(settings, search_env, "map", str(root), "--tokens", "200")
    assert mapped.returncode == 0, mapped.stderr
    assert "shop/pricing.py:" in mapped.stdout and "def apply_discount(" in mapped.stdout

    bad = cli(settings, search_env, "map", str(root), "--tokens", "5")
    assert bad.returncode == 1 and "token_budget must be between" in bad.stderr
