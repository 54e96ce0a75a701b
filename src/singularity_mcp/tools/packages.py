"""MCP face of package intelligence: the `package_lookup` tool."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent
from pydantic import Field

from singularity_mcp.core import Core
from singularity_mcp.errors import InvalidInput
from singularity_mcp.packages import package_service, summary
from singularity_mcp.packages.models import PackageLookupResult
from singularity_mcp.tools._common import hints, tool_errors

if TYPE_CHECKING:
    pass

MAX_PACKAGE_QUERY_CHARS = 2_000


def register(server: MCPServer, core: Core) -> None:
    @server.tool(annotations=hints("Look up packages", open_world=True))
    @tool_errors
    async def package_lookup(
        name: Annotated[
            str | None, Field(description="A package's exact name (e.g. requests, express, serde, phoenix).")
        ] = None,
        query: Annotated[
            str | None,
            Field(
                description=f"What the package should do (at most {MAX_PACKAGE_QUERY_CHARS:,} characters).",
                max_length=MAX_PACKAGE_QUERY_CHARS,
            ),
        ] = None,
        path: Annotated[
            str | None, Field(description="A project folder whose manifests to audit (absolute path).")
        ] = None,
        ecosystem: Annotated[
            str | None,
            Field(description="pypi, npm, crates or hex; with `name`, omit it to ask every registry."),
        ] = None,
        version: Annotated[
            str | None, Field(description="With `name`: the version to describe (default: the latest).")
        ] = None,
        top_k: Annotated[int, Field(description="With `query`: how many packages to return (1-50).")] = 10,
        license: Annotated[
            str | None,
            Field(description='With `query`: keep packages whose licence contains this (e.g. "MIT").'),
        ] = None,
        min_downloads: Annotated[
            int | None, Field(description="With `query`: keep packages with at least this many downloads.")
        ] = None,
    ) -> Annotated[CallToolResult, PackageLookupResult]:
        """Package facts from PyPI, npm, crates.io and Hex, with known vulnerabilities (OSV).

        Give ONE of:
        - `name` (+ optional `ecosystem`: pypi, npm, crates, hex; `version`, default the latest): latest
          version, recent releases with dates, description, licence, homepage, repository, downloads,
          dependencies, deprecated/yanked status and advisories for that version. Without `ecosystem`
          every registry is asked; others holding the name are listed in `also_found_in`.
        - `query` (what the package should do): packages ranked by meaning (`similarity`) over every
          package looked up before plus npm, crates.io and Hex search; filters `ecosystem`, `license`
          (substring, e.g. "MIT"), `min_downloads`; `top_k` results.
        - `path` to a project folder: an audit of its manifests (pyproject.toml, requirements*.txt,
          package.json, Cargo.toml, mix.exs, go.mod): per dependency the version its requirement
          selects (`wanted`), `latest`, `outdated`, licence and advisories.
        Use it before adding or upgrading a dependency. Answers come from a local cache (marked
        `stale` when older than the TTL, refreshed in the background; served offline). For the
        project's own code use semantic_search or analyze_code instead.
        """
        from singularity_mcp.packages import parse_ecosystem

        given = [n for n, v in (("name", name), ("query", query), ("path", path)) if v is not None]
        if len(given) != 1:
            raise InvalidInput(
                "pass exactly one of name (a package), query (what it should do) or path (a project)"
            )
        eco = parse_ecosystem(ecosystem)
        service = await package_service(core)
        if name is not None:
            result = await service.lookup(name, eco, version)
        elif query is not None:
            result = await service.search(
                query, ecosystem=eco, license=license, min_downloads=min_downloads, top_k=top_k
            )
        else:
            from singularity_mcp.paths import allowed_roots, resolve_allowed

            assert path is not None
            result = await service.audit(resolve_allowed(path, core.settings), allowed_roots(core.settings))
        return CallToolResult(
            content=[TextContent(type="text", text=summary(result))],
            structured_content=result.model_dump(mode="json", exclude_none=True),
        )
