"""`singularity-mcp serve`: run the MCP server over stdio (default) or streamable HTTP."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys

import anyio

from singularity_mcp.config import Settings
from singularity_mcp.lifecycle import exit_process, run_until_stopped
from singularity_mcp.server import build_server, http_server, serve_stdio

logger = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("serve", help="run the MCP server (stdio by default)")
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--host", help="HTTP bind address (default SINGULARITY_HTTP_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="HTTP port (default SINGULARITY_HTTP_PORT, 8765)")
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="allow HTTP on a non-loopback address without SINGULARITY_HTTP_TOKEN (anyone who can reach "
        "the port can call every tool)",
    )
    parser.set_defaults(func=run)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (localhost, 127.0.0.0/8, ::1)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.host:
        settings = settings.model_copy(update={"http_host": args.host})
    if args.port:
        settings = settings.model_copy(update={"http_port": args.port})
    tokens = settings.http_token is not None or bool(settings.http_tokens)
    if args.transport == "http" and not tokens and not is_loopback(settings.http_host):
        if not args.insecure:
            print(
                f"singularity-mcp: refusing to serve HTTP on {settings.http_host} without a token: anyone who "
                "can reach it could call every tool. Set SINGULARITY_HTTP_TOKEN (or [[http_tokens]]), bind to 127.0.0.1, or pass "
                "--insecure if the network is trusted.",
                file=sys.stderr,
            )
            return 2
        logger.warning("serving HTTP on %s without SINGULARITY_HTTP_TOKEN (--insecure)", settings.http_host)
    server = build_server(settings)
    if args.transport == "stdio":
        anyio.run(run_until_stopped, lambda: serve_stdio(server))
    else:
        uvicorn_server = http_server(server, settings)

        def stop() -> None:
            uvicorn_server.should_exit = True

        logger.info("serving MCP over HTTP at http://%s:%s/mcp", settings.http_host, settings.http_port)
        anyio.run(run_until_stopped, uvicorn_server.serve, stop)
    # Everything is closed and the database released by now; don't wait on worker threads still inside
    # a blocking call (see lifecycle).
    exit_process(0)
    return 0
