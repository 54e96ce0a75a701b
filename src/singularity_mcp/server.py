"""MCP wiring only: the server, its lifespan, the capability registrations and the transports."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, TransportSecuritySettings

from singularity_mcp import __version__
from singularity_mcp._asgi import read_body, replay, send_json
from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.tools import ToolServer, agent, analysis, knowledge, packages, planning, search, symbols

if TYPE_CHECKING:
    import uvicorn

_HTTP_GRACE_S = 1  # open streams get this long to finish when the server is told to stop

INSTRUCTIONS = """\
singularity-mcp gives you a local index and analysis of the user's codebases plus planning, package and
knowledge tools. Call index_codebase once for a folder before searching it. To find code by what it does,
use semantic_search; to jump to a named symbol's definition or every use of it, find_symbol and
find_references; to get your bearings in an unfamiliar codebase, repo_map (its key definitions, ranked,
within a token budget) — all cheaper than reading many files. Use analyze_code for complexity/definitions,
plan_task to break work into an ordered DAG and ask what is ready next, package_lookup before adding or
upgrading a dependency, and ask_agent for an answer from rules, the answer cache or an LLM."""


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


class DuplicateRequestIdGuard:
    """Answer a request whose JSON-RPC id is already in flight in the same session with an error (409).

    The SDK's streamable HTTP transport keys each open response stream by request id, so a second
    concurrent request with the same id replaces the first one's stream and one of the two is never
    answered (mcp 2.3). JSON-RPC ids must be unique among a client's pending requests; this refuses the
    second one up front, with a message that says so, and lets the first finish normally.
    Bodies over the SDK's size limit pass through unread (it answers them 413).
    """

    def __init__(self, app, max_body: int = DEFAULT_MAX_REQUEST_BODY_SIZE) -> None:
        self.app = app
        self._max_body = max_body
        self._in_flight: set[tuple[str, str]] = set()

    async def __call__(self, scope, receive, send) -> None:
        headers = dict(scope.get("headers") or []) if scope["type"] == "http" else {}
        session = headers.get(b"mcp-session-id")
        if scope["type"] != "http" or scope.get("method") != "POST" or not session:
            await self.app(scope, receive, send)
            return
        body = await read_body(receive, self._max_body)
        replayed = replay(body, receive)
        key = _request_key(body.data) if body.complete and not body.over_limit else None
        if key is None:
            await self.app(scope, replayed, send)
            return
        in_flight = (session.decode("latin-1"), key[0])
        if in_flight in self._in_flight:
            await send_json(
                send,
                409,
                {
                    "jsonrpc": "2.0",
                    "id": key[1],
                    "error": {
                        "code": -32600,
                        "message": f"Invalid request: id {key[0][:200]} is already in use by a request still "
                        "in flight in this session; give each pending request its own id",
                    },
                },
            )
            return
        self._in_flight.add(in_flight)

        async def answering(message) -> None:
            # The id is free once its answer leaves, not once the app returns (which may be after the
            # client has the answer and sent its next request with the same id).
            if message["type"] == "http.response.body" and (
                not message.get("more_body", False) or _answers(message.get("body", b""), key[0])
            ):
                self._in_flight.discard(in_flight)
            await send(message)

        try:
            await self.app(scope, replayed, answering)
        finally:
            self._in_flight.discard(in_flight)


def _request_key(body: bytes) -> tuple[str, Any] | None:
    """(a comparable form of the id, the id) for a single JSON-RPC request; None for anything else."""
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict) or "method" not in message:
        return None
    request_id = message.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, str | int):
        return None
    return json.dumps(request_id), request_id


def _answers(body: bytes, request_key: str) -> bool:
    """Whether a response body (JSON, or server-sent events) carries the answer to the request whose id
    is `request_key` (as `_request_key` writes it)."""
    if b'"id"' not in body:
        return False
    lines = [line[5:] for line in body.splitlines() if line.startswith(b"data:")] or [body]
    for data in lines:
        try:
            message = json.loads(data)
        except ValueError:
            continue
        if (
            isinstance(message, dict)
            and ("result" in message or "error" in message)
            and json.dumps(message.get("id")) == request_key
        ):
            return True
    return False


def http_app(server: MCPServer, settings: Settings):
    """The streamable HTTP ASGI app: Origin validation, unique request ids, and the bearer tokens (each
    with its roots; /health needs none)."""
    from singularity_mcp.http_auth import TokenAuthMiddleware, TokenTable

    app = server.streamable_http_app(transport_security=transport_security(settings), host=settings.http_host)
    guarded = DuplicateRequestIdGuard(app)
    tokens = TokenTable(settings)
    if tokens:
        return TokenAuthMiddleware(guarded, tokens, open_paths=HEALTH_PATHS)
    return guarded


async def serve_stdio(server: MCPServer) -> None:
    """Serve one client over stdin/stdout until end of input (or until cancelled)."""
    from singularity_mcp._stdio import stdio_transport
    from singularity_mcp.tools import lowlevel

    inner = lowlevel(server)
    async with stdio_transport() as (read_stream, write_stream):
        await inner.run(read_stream, write_stream, inner.create_initialization_options())


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
