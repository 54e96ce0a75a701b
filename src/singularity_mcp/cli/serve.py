"""`singularity-mcp serve`: run the MCP server over stdio (default) or streamable HTTP."""

from __future__ import annotations

import argparse
import logging

import anyio

from singularity_mcp.config import Settings
from singularity_mcp.server import build_server, serve_http

logger = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("serve", help="run the MCP server (stdio by default)")
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--host", help="HTTP bind address (default SINGULARITY_HTTP_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="HTTP port (default SINGULARITY_HTTP_PORT, 8765)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.host:
        settings = settings.model_copy(update={"http_host": args.host})
    if args.port:
        settings = settings.model_copy(update={"http_port": args.port})
    server = build_server(settings)
    if args.transport == "stdio":
        anyio.run(server.run_stdio_async)
    else:
        tokens = settings.http_token is not None or bool(settings.http_tokens)
        if not tokens and settings.http_host not in ("127.0.0.1", "localhost", "::1"):
            logger.warning("serving HTTP on %s without SINGULARITY_HTTP_TOKEN", settings.http_host)
        logger.info("serving MCP over HTTP at http://%s:%s/mcp", settings.http_host, settings.http_port)
        anyio.run(serve_http, server, settings)
    return 0
