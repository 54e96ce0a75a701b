"""MCP wiring only: the server, its lifespan, the capability registrations and the transports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings

from singularity_mcp import __version__
from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.tools import agent, analysis, knowledge, packages, planning, search, symbols
from singularity_mcp.tools._common import ToolServer

INSTRUCTIONS = """\
singularity-mcp gives you a local index and analysis of the user's codebases plus planning, package and
knowledge tools. Prefer semantic_search over reading many files to find code; call index_codebase once for
a folder before searching it. Use analyze_code for complexity/definitions, plan_task to break work into an
ordered DAG and ask what is ready next, package_lookup before adding or upgrading a dependency, and
ask_agent for an answer from rules, the answer cache or an LLM."""


def build_server(settings: Settings) -> MCPServer:
    """Create the MCP server with every capability registered. Touches neither database nor model."""
    core = Core(settings)

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[Core]:
        async with asynccontextmanager(core.run)():
            yield core

    server: MCPServer = ToolServer(  # tool errors mapped to readable messages in one place
        "singularity-mcp",
        title="Singularity MCP",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        log_level=settings.log_level,
    )
    _register_capabilities(server, core)
    _register_health(server, core)
    return server


def _register_capabilities(server: MCPServer, core: Core) -> None:
    # One line per capability (tools, resources, prompts live in singularity_mcp/tools/<capability>.py).
    analysis.register(server, core)
    search.register(server, core)
    symbols.register(server, core)
    packages.register(server, core)
    agent.register(server, core)
    planning.register(server, core)
    knowledge.register(server, core)


HEALTH_PATHS = ("/health", "/health/live")


def _register_health(server: MCPServer, core: Core) -> None:
    """`/health` (readiness: 200 or 503 with each check) and `/health/live`; no token, nothing sensitive."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    @server.custom_route("/health", methods=["GET"], include_in_schema=False)
    async def health(_: Request) -> JSONResponse:
        from singularity_mcp.health import readiness

        report = await readiness(core)
        return JSONResponse(report.as_dict(), status_code=200 if report.ready else 503)

    @server.custom_route("/health/live", methods=["GET"], include_in_schema=False)
    async def live(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """Host/Origin validation (DNS-rebinding protection): loopback only, plus configured origins."""
    loopback = ["127.0.0.1", "localhost", "[::1]"]
    hosts = [f"{h}:*" for h in loopback] + loopback
    if settings.http_host not in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "::"):
        hosts += [settings.http_host, f"{settings.http_host}:*"]
    origins = [f"http://{h}:*" for h in loopback] + [f"http://{h}" for h in loopback]
    origins += list(settings.http_allowed_origins)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def http_app(server: MCPServer, settings: Settings):
    """The streamable HTTP ASGI app, with Origin validation and the bearer tokens (each with its roots)."""
    from singularity_mcp.http_auth import TokenAuthMiddleware, TokenTable

    app = server.streamable_http_app(transport_security=transport_security(settings), host=settings.http_host)
    tokens = TokenTable(settings)
    if tokens:
        return TokenAuthMiddleware(app, tokens, open_paths=HEALTH_PATHS)
    return app


async def serve_http(server: MCPServer, settings: Settings) -> None:
    import uvicorn

    config = uvicorn.Config(
        http_app(server, settings),
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        log_config=None,
        lifespan="on",
    )
    await uvicorn.Server(config).serve()
