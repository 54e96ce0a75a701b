"""MCP face of symbol navigation: find_symbol, find_references, repo_map."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from singularity_mcp.search.symbol_models import FindReferencesResult, FindSymbolResult, RepoMapResult
from singularity_mcp.tools._common import hints, tool_errors

if TYPE_CHECKING:
    from singularity_mcp.core import Core


def register(server: MCPServer, core: Core) -> None:
    @server.tool(annotations=hints("Find a symbol's definition"))
    @tool_errors
    async def find_symbol(
        name: Annotated[
            str,
            Field(
                description="The identifier to find: a plain name ('parse_config') or a qualified one "
                "('Parser.parse', 'pkg::Parser::parse' - the last parts must match)."
            ),
        ],
        path: Annotated[
            str | None, Field(description="Limit to this indexed folder or a sub-folder of it; omit for all.")
        ] = None,
        kind: Annotated[
            str | None,
            Field(
                description="Only definitions of this kind: function, method, class, struct, interface, "
                "enum, module, type, ..."
            ),
        ] = None,
    ) -> FindSymbolResult:
        """Jump to where a named function, method, class or type is defined: file, line range and
        signature line, from the symbol index of indexed codebases.

        Use this when you know (or half-know) a name and want its definition - it is exact and instant,
        unlike semantic_search, which is for finding code by description. When nothing has that exact
        name, it returns the closest names and says match="fuzzy"; check them before relying on them.
        Then read just the returned line range instead of whole files. For the places that use a name,
        call find_references; for an overview of an unfamiliar codebase, call repo_map. The folder must
        be indexed first (index_codebase); results are checked against the files on disk.
        """
        from singularity_mcp.search import find_symbol as find

        return await find(core, name, path=path, kind=kind)

    @server.tool(annotations=hints("Find the references to a name"))
    @tool_errors
    async def find_references(
        name: Annotated[
            str,
            Field(
                description="The identifier whose uses you want ('parse_config'); for a qualified name "
                "('Parser.parse') its last part is looked up."
            ),
        ],
        path: Annotated[
            str | None, Field(description="Limit to this indexed folder or a sub-folder of it; omit for all.")
        ] = None,
    ) -> FindReferencesResult:
        """List every line in code that uses a name - calls, type uses, imports, attribute accesses - grouped
        by file, each with its text and the definition it sits in; plus where the name is defined.

        Use this before changing or removing a function, class or field, to see who depends on it (what
        you would otherwise grep for; comments and strings are left out). It matches the identifier
        exactly (case-sensitive) in every indexed file, so same-named members of other classes appear
        too: tell them apart by the line text. For code about a topic rather than a name, use
        semantic_search; for the definition only, find_symbol. Capped at 100 lines (narrow with path).
        """
        from singularity_mcp.search import find_references as find

        return await find(core, name, path=path)

    @server.tool(annotations=hints("Map a codebase"))
    @tool_errors
    async def repo_map(
        path: Annotated[
            str, Field(description="Absolute path of an indexed folder (or a sub-folder of one).")
        ],
        focus: Annotated[
            str | None,
            Field(
                description="What you are working on: file paths, identifiers, and/or a sentence. The map "
                "leans toward these files and the code they connect to."
            ),
        ] = None,
        token_budget: Annotated[
            int, Field(description="Size of the map in tokens (64-16000).", ge=64, le=16000)
        ] = 2000,
    ) -> RepoMapResult:
        """Get a compact map of a codebase: its most important files, each with the signature lines of its
        key definitions (with line numbers), ranked by how much the rest of the code references them.

        Call this first on an unfamiliar codebase or before a change that spans files: it replaces
        reading many files to learn the layout, within a fixed token budget. Pass focus (the files or
        identifiers you are working on, or a sentence describing the task) to rank toward the related
        code. To find code by meaning use semantic_search; to jump to one name, find_symbol. The folder
        must be indexed first (index_codebase).
        """
        from singularity_mcp.search import repo_map as build_map

        return await build_map(core, path, focus=focus, token_budget=token_budget)
