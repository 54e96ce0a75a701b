"""MCP wiring only: the server, its lifespan, the capability registrations and the transports."""

from __future__ import annotations

import contextlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings

from singularity_mcp import __version__
from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.tools import agent, analysis, knowledge, packages, planning, search

if TYPE_CHECKING:
    import uvicorn

_HTTP_GRACE_S = 1  # open streams get this long to finish when the server is told to stop

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

    server: MCPServer = MCPServer(
        "singularity-mcp",
        title="Singularity MCP",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        log_level=settings.log_level,
    )
    _register_capabilities(server, core)
    return server


def _register_capabilities(server: MCPServer, core: Core) -> None:
    # One line per capability (tools, resources, prompts live in singularity_mcp/tools/<capability>.py).
    analysis.register(server, core)
    search.register(server, core)
    packages.register(server, core)
    agent.register(server, core)
    planning.register(server, core)
    knowledge.register(server, core)


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


class BearerTokenMiddleware:
    """Reject HTTP requests without `Authorization: Bearer <token>` (401)."""

    def __init__(self, app, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                body = json.dumps(
                    {"error": "missing or wrong bearer token (SINGULARITY_HTTP_TOKEN)"}
                ).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b"Bearer"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def http_app(server: MCPServer, settings: Settings):
    """The streamable HTTP ASGI app, with Origin validation and the optional bearer token."""
    app = server.streamable_http_app(transport_security=transport_security(settings), host=settings.http_host)
    if settings.http_token is not None:
        return BearerTokenMiddleware(app, settings.http_token.get_secret_value())
    return app


async def serve_stdio(server: MCPServer) -> None:
    """Serve one client over stdin/stdout until end of input (or until cancelled)."""
    from singularity_mcp._stdio import stdio_transport

    lowlevel = server._lowlevel_server
    async with stdio_transport() as (read_stream, write_stream):
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())


def http_server(server: MCPServer, settings: Settings) -> uvicorn.Server:
    """The uvicorn server for the HTTP transport. Signals are left to the caller
    (`lifecycle.run_until_stopped`), which asks it to exit through `should_exit`."""
    import uvicorn

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    config = uvicorn.Config(
        http_app(server, settings),
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=_HTTP_GRACE_S,
    )
    return _Server(config)
