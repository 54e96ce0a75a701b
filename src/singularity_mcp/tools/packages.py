"""MCP face of package intelligence: the `package_lookup` tool."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent
from pydantic import Field

from singularity_mcp.core import Core
from singularity_mcp.errors import InvalidInput
from singularity_mcp.packages.models import ADVISORIES_NOT_CHECKED, AuditEntry, PackageLookupResult
from singularity_mcp.tools._common import hints, tool_errors, trim

if TYPE_CHECKING:
    from singularity_mcp.packages import PackageService

MAX_AUDIT_LINES = 40
MAX_PACKAGE_QUERY_CHARS = 2_000


async def package_service(core: Core) -> PackageService:
    """The process-wide service (HTTP clients, cache on the core's database), built on first use."""

    async def build(core: Core) -> PackageService:
        from singularity_mcp.packages import PackageService

        database = await core.database()
        service = PackageService.from_settings(
            database.pool, core.settings, embedder=core.embedder, spawn=core.start_background
        )
        core.on_close(service.aclose)
        return service

    return await core.service("packages", build)


def summary(result: PackageLookupResult) -> str:
    """A short text version of the result for readers without structured content."""
    if result.mode == "package":
        head = f"{result.ecosystem} {result.name} {result.version or ''}".strip()
        if result.version != result.latest_version:
            head += f" (latest {result.latest_version})"
        lines = [head + (" [stale]" if result.stale else "")]
        if result.description:
            lines.append(trim(result.description, 300))
        lines.append(
            f"licence: {result.license or 'unknown'}; downloads: "
            + (f"{result.downloads:,} ({result.downloads_period})" if result.downloads is not None else "n/a")
        )
        if result.deprecated:
            lines.append(f"DEPRECATED: {result.deprecated}")
        if result.advisories:
            ids = ", ".join(a.id for a in result.advisories[:10])
            lines.append(f"{len(result.advisories)} advisories: {ids}")
        elif result.advisories_source:
            lines.append(f"no known advisories ({result.advisories_source})")
        else:
            lines.append("advisories: not checked")
        if result.dependencies is not None:
            lines.append(f"{len(result.dependencies)} dependencies")
    elif result.mode == "search":
        lines = [
            f"{h.ecosystem} {h.name} {h.latest_version or ''} ({h.similarity:.2f}): {trim(h.description, 100)}"
            for h in result.results or []
        ] or ["no matches"]
    else:
        audit = result.audit
        assert audit is not None
        total, unchecked = len(audit.dependencies), audit.advisories_unchecked
        if total and unchecked == total:
            advisories = "advisories not checked"
        elif unchecked:
            advisories = f"{audit.vulnerable} of the {total - unchecked} checked with advisories ({unchecked} not checked)"
        else:
            advisories = f"{audit.vulnerable} with advisories"
        lines = [
            f"{total} dependencies in {', '.join(audit.manifests)}: {advisories}, {audit.outdated} outdated, "
            f"{audit.errors} not fully checked"
        ]
        # The advisory service being out of reach is one cause: said once, not once per dependency.
        advisory_errors = [
            d.error for d in audit.dependencies if d.error and d.error.startswith(ADVISORIES_NOT_CHECKED)
        ]
        if advisory_errors:
            lines.append(trim(advisory_errors[0], 240))

        def own_error(d: AuditEntry) -> str | None:
            return None if d.error is None or d.error.startswith(ADVISORIES_NOT_CHECKED) else d.error

        flagged = [
            d for d in audit.dependencies if d.advisories or d.outdated or d.deprecated or own_error(d)
        ]
        for d in flagged[:MAX_AUDIT_LINES]:
            problems = []
            if d.advisories:
                problems.append(
                    f"{len(d.advisories)} advisories ({', '.join(a.id for a in d.advisories[:3])})"
                )
            if d.outdated:
                problems.append(f"latest {d.latest} outside {d.requirement!r}")
            if d.deprecated:
                problems.append(d.deprecated)
            if error := own_error(d):
                problems.append(trim(error, 120))
            lines.append(f"{d.ecosystem} {d.name} {d.wanted or '?'}: {'; '.join(problems)}")
        if len(flagged) > MAX_AUDIT_LINES:
            lines.append(f"… {len(flagged) - MAX_AUDIT_LINES} more in the structured result")
    lines += result.notes
    return "\n".join(lines)


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
        from singularity_mcp.packages._names import parse_ecosystem

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
