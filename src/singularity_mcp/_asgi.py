"""ASGI plumbing shared by the HTTP middlewares: read a request body once, hand it on, answer in JSON."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

Receive = Callable[[], Awaitable[dict[str, Any]]]


@dataclass
class Body:
    """What was read of a request body: its chunks, whether that is all of it, and whether reading
    stopped because it passed the limit (else, when incomplete, because the client went away)."""

    chunks: list[bytes]
    complete: bool
    over_limit: bool = False

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


async def read_body(receive: Receive, limit: int) -> Body:
    """Read the body until its end, a disconnect, or more than `limit` bytes (the rest left unread).
    An oversized body is marked `over_limit` even when its last chunk brought it there."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return Body(chunks, complete=False)
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return Body(chunks, complete=not message.get("more_body", False), over_limit=True)
        if not message.get("more_body", False):
            return Body(chunks, complete=True)


def replay(body: Body, receive: Receive) -> Receive:
    """A `receive` that hands the app the chunks already read, then reads on."""
    pending = list(body.chunks)

    async def replayed() -> dict[str, Any]:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending) or not body.complete}
        return await receive()

    return replayed


async def send_json(
    send: Callable[[dict[str, Any]], Awaitable[None]],
    status: int,
    payload: Any,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(payload).encode()})
