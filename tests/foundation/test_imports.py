"""Each capability package is reached through its public names: no module imports another package's private
module (`singularity_mcp.<pkg>._x`). The root package's own helpers (`singularity_mcp._rows`, `_text`, ...)
serve every package. Tests may reach into private modules; the code may not."""

from __future__ import annotations

import ast
from pathlib import Path

import singularity_mcp

SRC = Path(singularity_mcp.__file__).parent


def _imported_modules(tree: ast.Module) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            if not any(part.startswith("_") for part in node.module.split(".")):
                # `from singularity_mcp.search import _indexer` imports a private module too
                found.extend((node.lineno, f"{node.module}.{a.name}") for a in node.names if a.name[0] == "_")
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def cross_package_private_imports(src: Path) -> list[str]:
    """`path:line -> module` for each import of another package's private module under `src`."""
    problems = []
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src)
        own = rel.parts[0] if len(rel.parts) > 1 else None  # None: a module of the root package
        for line, module in _imported_modules(ast.parse(path.read_text(), str(path))):
            parts = module.split(".")
            if parts[0] != "singularity_mcp" or len(parts) < 3:
                continue
            package, rest = parts[1], parts[2:]
            if package.startswith("_") or not rest[0].startswith("_"):
                continue  # a root helper, or a public module of the package
            if package != own:
                problems.append(f"{rel}:{line} -> {module}")
    return problems


def test_no_module_imports_another_packages_private_module() -> None:
    assert cross_package_private_imports(SRC) == []


def test_the_check_finds_one(tmp_path: Path) -> None:
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "index.py").write_text(
        "from singularity_mcp.search._indexer import format_seconds\n"
        "from singularity_mcp.search import index_repository\n"
        "from singularity_mcp.cli._common import print_json\n"
        "from singularity_mcp._rows import one_row\n"
        "import singularity_mcp.analysis._queries\n"
        "from singularity_mcp.knowledge import _store\n"
    )
    assert cross_package_private_imports(tmp_path) == [
        "cli/index.py:1 -> singularity_mcp.search._indexer",
        "cli/index.py:5 -> singularity_mcp.analysis._queries",
        "cli/index.py:6 -> singularity_mcp.knowledge._store",
    ]
