"""Who is calling over HTTP, and which folders they may read: bearer tokens with per-token roots.

A team server has several callers. Each token in the table (`http_tokens` in the config file, plus the
single `SINGULARITY_HTTP_TOKEN` if set) has a name for the logs and its own roots. The token a request
presents is hashed and its digest compared in constant time with every entry (no early exit), so neither
the tokens nor their digests can be found by timing; the tokens themselves are never stored or logged.

For the request, the matched caller's roots narrow the allowed roots (`paths.restrict_roots`, a context
variable; never wider than `SINGULARITY_ALLOWED_ROOTS`). The MCP SDK hands the sender's context to the task
that runs each message, so every read and query the tool makes (`paths.allowed_roots`) sees the caller's
roots. Calls that name a `path` outside those roots are refused here with 403 before they reach a tool; the
tools check again, and search, status and the rest filter what the index holds, on their own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from singularity_mcp._asgi import read_body, replay, send_json
from singularity_mcp.errors import quoted
from singularity_mcp.paths import AllowedRoots, outside_roots, restrict_roots

if TYPE_CHECKING:
    from singularity_mcp.config import Settings

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 4 * 1024 * 1024  # the MCP SDK's own limit on a request body
PATH_METHODS = ("tools/call", "prompts/get")  # requests whose `arguments.path` names a folder or file


@dataclass(frozen=True)
class Caller:
    """An authenticated HTTP caller. `roots` None: the process's allowed roots (the single legacy token)."""

    name: str
    roots: tuple[Path, ...] | None


class TokenTable:
    """The accepted tokens, by the sha256 digest of each."""

    def __init__(self, settings: Settings) -> None:
        self._entries: list[tuple[bytes, Caller]] = []
        if settings.http_token is not None:
            digest = hashlib.sha256(settings.http_token.get_secret_value().encode()).digest()
            self._entries.append((digest, Caller("default", None)))
        for token in settings.http_tokens:
            self._entries.append(
                (bytes.fromhex(token.token_sha256), Caller(token.name, token.resolved_roots))
            )

    def __bool__(self) -> bool:
        return bool(self._entries)

    def identify(self, authorization: bytes) -> Caller | None:
        """The caller whose token `Authorization: Bearer <token>` carries, or None."""
        scheme, _, token = authorization.partition(b" ")
        if scheme.lower() != b"bearer" or not token.strip():
            return None
        presented = hashlib.sha256(token.strip()).digest()
        found: Caller | None = None
        for digest, caller in self._entries:  # every entry, whatever matched before: constant time
            if hmac.compare_digest(presented, digest) and found is None:
                found = caller
        return found


def requested_paths(body: bytes) -> list[str]:
    """The `path` arguments of the tool calls and prompt requests in a JSON-RPC body (one or a batch)."""
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []  # not ours to judge: the transport answers malformed JSON itself
    messages = decoded if isinstance(decoded, list) else [decoded]
    paths = []
    for message in messages:
        if not isinstance(message, dict) or message.get("method") not in PATH_METHODS:
            continue
        params = message.get("params")
        arguments = params.get("arguments") if isinstance(params, dict) else None
        if (
            isinstance(arguments, dict)
            and isinstance(arguments.get("path"), str)
            and arguments["path"].strip()
        ):
            paths.append(arguments["path"])
    return paths


async def _respond(
    send: Any, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send_json(send, status, {"error": message}, headers)


class TokenAuthMiddleware:
    """ASGI middleware: 401 without a known token, 403 for a `path` outside the caller's roots, and the
    caller's roots in effect for everything the request leads to. `open_paths` need no token."""

    def __init__(self, app: Any, table: TokenTable, open_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.table = table
        self.open_paths = open_paths

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan" or (scope["type"] == "http" and scope.get("path") in self.open_paths):
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # websockets: the MCP app has none, and none gets past without a token
            await send({"type": "websocket.close", "code": 1008})
            return
        client = (scope.get("client") or ("?", 0))[0]
        headers = dict(scope.get("headers") or [])
        caller = self.table.identify(headers.get(b"authorization", b""))
        if caller is None:
            logger.warning(
                "HTTP %s %s from %s: missing or unknown bearer token",
                scope.get("method"),
                scope.get("path"),
                client,
            )
            await _respond(send, 401, "missing or wrong bearer token", [(b"www-authenticate", b"Bearer")])
            return
        if scope.get("method") == "POST" and caller.roots is not None:
            body = await read_body(receive, MAX_BODY_BYTES)
            if body.over_limit:
                await _respond(send, 413, f"request body over {MAX_BODY_BYTES} bytes")
                return
            receive = replay(body, receive)  # a disconnected client's app sees what came, and gives up
            roots = AllowedRoots(caller.roots)
            refused = [p for p in requested_paths(body.data) if outside_roots(p, roots)]
            if refused:
                logger.warning("token %s: refused a path outside its roots (from %s)", caller.name, client)
                await _respond(
                    send,
                    403,
                    f"{quoted(refused[0])} is outside the folders token {caller.name!r} may read "
                    f"({', '.join(str(r) for r in caller.roots)})",
                )
                return
        logger.debug("HTTP %s %s by token %s", scope.get("method"), scope.get("path"), caller.name)
        with restrict_roots(caller.roots) if caller.roots is not None else nullcontext():
            await self.app(scope, receive, send)
