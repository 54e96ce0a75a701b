"""Every place we reach into the MCP SDK's private parts (mcp 2.3), in one module.

The SDK has no public API yet for these: wrapping a request handler that MCPServer registers itself
(`resources/list`, `completion/complete`), serving a low-level server on our own stdio transport, telling
handshake-era connections that the resource list changed, and publishing on the 2026-07-28 subscription
bus. `tests/foundation/test_sdk_seams.py` fails loudly when an SDK upgrade moves any of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.mcpserver import MCPServer

Handler = Callable[[Any, Any], Awaitable[Any]]


def lowlevel(server: MCPServer) -> Any:
    """The low-level server behind an MCPServer (request handlers, `run`)."""
    return server._lowlevel_server


def wrap_request_handler(
    server: MCPServer, method: str, params_type: type, wrap: Callable[[Handler | None], Handler]
) -> None:
    """Replace the handler of `method` with `wrap(previous handler or None)`."""
    registry = lowlevel(server)
    previous = registry.get_request_handler(method)
    handler = wrap(previous.handler if previous is not None else None)
    registry.add_request_handler(
        method, previous.params_type if previous is not None else params_type, handler
    )


def session_connection(session: Any) -> Any:
    """The connection behind a per-request ServerSession proxy (lives as long as the client), or None."""
    return getattr(session, "_connection", None)


def subscription_bus(server: MCPServer) -> Any:
    """The 2026-07-28 `subscriptions/listen` bus of an MCPServer, or None."""
    return getattr(server, "_subscriptions", None)
