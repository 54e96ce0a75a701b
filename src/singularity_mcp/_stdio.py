"""The stdio transport: newline-delimited JSON-RPC on stdin/stdout, where every request gets an answer.

The SDK's `stdio_server` (mcp 2.3) hands a line it cannot validate to the session as an exception, which
the dispatcher logs and drops: a malformed line, a request whose `params` is a string or whose `id` is an
object, and any string with a lone UTF-16 surrogate (`"\\ud800"`, which pydantic's JSON parser refuses)
never get a response, so the client waits forever. This transport answers those itself, on the same
writer as everything else, with the JSON-RPC error the spec names (-32700 parse error, -32600 invalid
request, -32602 invalid params), echoing the request's id when it has a usable one.

It also reads stdin in a way a signal can interrupt (the SDK's reader cannot be cancelled while it waits
for a line), and, like the SDK, points fd 0 at /dev/null and fd 1 at stderr while it serves, so stray
output from libraries or child processes cannot corrupt the protocol stream.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import IO, Any

import anyio
import anyio.to_thread
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.shared.message import SessionMessage
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorData,
    JSONRPCError,
    JSONRPCMessage,
    JSONRPCNotification,
    jsonrpc_message_adapter,
)

logger = logging.getLogger(__name__)

QUOTE_CHARS = 200  # how much of a rejected line an error message may quote
_DRAIN_S = 0.5  # at exit, how long the session's last answers may take to reach the client


def _quote(text: str) -> str:
    text = text.strip()
    return text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS] + f"… ({len(text)} chars)"


def _usable_id(value: Any) -> str | int | None:
    """A JSON-RPC id we can answer to: a string or an integer (not a bool, an object, a float)."""
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return None


def _lone_surrogate(value: Any, where: str = "") -> str | None:
    """The path of the first string (key or value) holding a lone UTF-16 surrogate, or None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where or "(message)"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _lone_surrogate(key, where) or _lone_surrogate(item, f"{where}.{key}" if where else key)
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _lone_surrogate(item, f"{where}[{i}]")
            if found:
                return found
    return None


def parse_line(line: bytes) -> tuple[JSONRPCMessage | None, JSONRPCError | None]:
    """One stdin line as (a message to dispatch, None) or (None, an error to answer at once).

    Valid messages pass through unchanged. Everything else that could be a request is answered; a
    rejected notification or response (nothing to answer) gives (None, None).
    """
    try:
        message = _validate(line)
    except _Rejected as rejected:
        return None, rejected.answer
    return message, None


class _Rejected(Exception):
    def __init__(self, answer: JSONRPCError | None) -> None:
        self.answer = answer


def _reject(request_id: str | int | None, code: int, message: str) -> _Rejected:
    return _Rejected(JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=message)))


def _validate(line: bytes) -> JSONRPCMessage | None:
    bad_utf8 = None
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_utf8 = f"byte 0x{line[exc.start]:02x} at offset {exc.start} is not valid UTF-8"
        text = line.decode("utf-8", errors="replace")
    if not text.strip():
        raise _Rejected(None)
    validation = None
    if bad_utf8 is None:
        try:
            message = jsonrpc_message_adapter.validate_json(text, by_name=False)
        except ValueError as exc:
            validation = exc
        else:
            # A request whose id is not a string or integer validates as a notification (extra fields are
            # allowed) and would never be answered.
            if (
                not isinstance(message, JSONRPCNotification)
                or '"id"' not in text
                or "id" not in json.loads(text)
            ):
                return message
    # Rejected: find out what the line was, to answer it with the right error and id.
    try:
        raw = json.loads(text)  # unlike pydantic's parser, accepts lone surrogates, so we can name them
    except ValueError as exc:
        raise _reject(
            None, PARSE_ERROR, f"Parse error: the line is not JSON ({exc}): {_quote(text)}"
        ) from None
    if isinstance(raw, list):
        raise _reject(
            None,
            INVALID_REQUEST,
            "Invalid request: JSON-RPC batches are not supported, send one message a line",
        )
    if not isinstance(raw, dict):
        raise _reject(None, INVALID_REQUEST, f"Invalid request: expected a JSON object, got {_quote(text)}")
    request_id = _usable_id(raw.get("id"))
    if "method" not in raw and ("result" in raw or "error" in raw):
        logger.warning("dropping a malformed response from the client: %s", _quote(text))
        raise _Rejected(None)  # a broken answer to one of our requests: nothing to answer
    is_notification = "id" not in raw
    surrogate = _lone_surrogate(raw)
    if bad_utf8 or surrogate:
        where = _quote(str(surrogate).encode("utf-8", "backslashreplace").decode("utf-8"))
        problem = (
            bad_utf8 or f"the string at {where} holds a lone UTF-16 surrogate, which is not valid Unicode"
        )
        reason = f"Invalid params: {problem}; send valid UTF-8 (surrogates only in pairs)"
        if is_notification:
            logger.warning("dropping notification %r: %s", raw.get("method"), reason)
            raise _Rejected(None)
        raise _reject(request_id, INVALID_PARAMS if request_id is not None else INVALID_REQUEST, reason)
    if is_notification:
        logger.warning("dropping malformed notification: %s", _quote(text))
        raise _Rejected(None)
    raise _reject(request_id, INVALID_REQUEST, f"Invalid request: {_first_problem(validation, raw)}")


def _first_problem(exc: ValueError | None, raw: dict[str, Any]) -> str:
    """One sentence for a JSON-RPC shape error (pydantic's union dump is long and repeats itself)."""
    if _usable_id(raw.get("id")) is None:
        return f"`id` must be a string or an integer, got {_quote(json.dumps(raw.get('id')))}"
    if raw.get("jsonrpc") != "2.0":
        return '`jsonrpc` must be "2.0"'
    if not isinstance(raw.get("method"), str):
        return "`method` must be a string"
    if "params" in raw and not isinstance(raw["params"], dict):
        return f"`params` must be an object, got {type(raw['params']).__name__}"
    return _quote(str(exc)) if exc else "not a JSON-RPC 2.0 message"


def _encode(message: JSONRPCMessage) -> bytes:
    """One message as a line of UTF-8 JSON; an answer that cannot be encoded becomes an error answer."""
    try:
        return (message.model_dump_json(by_alias=True, exclude_unset=True) + "\n").encode("utf-8")
    except (ValueError, UnicodeEncodeError) as exc:
        request_id = getattr(message, "id", None)
        logger.error("could not encode an outgoing message for id %r: %s", request_id, exc)
        if request_id is None:
            return b""
        fallback = JSONRPCError(
            jsonrpc="2.0",
            id=request_id,
            error=ErrorData(code=INTERNAL_ERROR, message="the answer could not be encoded as UTF-8 JSON"),
        )
        return (fallback.model_dump_json(by_alias=True, exclude_unset=True) + "\n").encode("utf-8")


def _claim_stdio() -> tuple[IO[bytes], IO[bytes], Callable[[], None]]:
    """Private duplicates of fds 0 and 1 for the wire; fd 0 then reads /dev/null and fd 1 writes stderr."""
    wire_in = os.dup(0)
    wire_out = os.dup(1)
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)

    def restore() -> None:
        with suppress(OSError):
            os.dup2(wire_in, 0)
            os.dup2(wire_out, 1)

    # closefd=False: a reader thread may still be blocked on the descriptor when the transport exits.
    return os.fdopen(wire_in, "rb", closefd=False), os.fdopen(wire_out, "wb", closefd=False), restore


@asynccontextmanager
async def stdio_transport(
    stdin: IO[bytes] | None = None, stdout: IO[bytes] | None = None
) -> AsyncIterator[tuple[MemoryObjectReceiveStream[Any], MemoryObjectSendStream[SessionMessage]]]:
    """Serve over the process's stdin/stdout (or the given binary streams): yields (read, write) streams
    for `Server.run`. Ends when stdin reaches EOF; cancelling the caller stops it at once."""
    restore: Callable[[], None] | None = None
    if stdin is None or stdout is None:
        stdin, stdout, restore = _claim_stdio()
    wire_in, wire_out = stdin, stdout
    read_writer, read_stream = anyio.create_memory_object_stream[Any](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)
    # Errors the transport answers itself go through the same writer as the session's messages.
    answer_writer = write_stream.clone()

    async def read_lines() -> None:
        async with read_writer, answer_writer:
            while True:
                # abandon_on_cancel: a signal must not wait for the client's next line.
                line = await anyio.to_thread.run_sync(wire_in.readline, abandon_on_cancel=True)
                if not line:
                    return
                message, answer = parse_line(line)
                if answer is not None:
                    logger.info("answering a rejected line: %s", answer.error.message)
                    await answer_writer.send(SessionMessage(answer))
                elif message is not None:
                    await read_writer.send(SessionMessage(message))

    current_write: anyio.Event | None = None  # set once the message being written is on the wire

    async def write_lines() -> None:
        nonlocal current_write
        async with write_reader:
            async for session_message in write_reader:
                current_write = anyio.Event()
                try:
                    data = _encode(session_message.message)
                    if data:
                        await anyio.to_thread.run_sync(_write_flush, wire_out, data, abandon_on_cancel=True)
                finally:
                    current_write.set()

    try:
        async with anyio.create_task_group() as task_group:
            reading = anyio.CancelScope()

            async def read_until_stopped() -> None:
                with reading:
                    await read_lines()

            task_group.start_soon(read_until_stopped)
            task_group.start_soon(write_lines)
            try:
                yield read_stream, write_stream
            finally:
                # Stop reading. The streams hold nothing (no buffer): a message the session sent is in
                # the writer's hands, so let it finish writing that one, bounded so a client that stopped
                # reading cannot hold the exit.
                reading.cancel()
                if current_write is not None:
                    with anyio.move_on_after(_DRAIN_S, shield=True):
                        await current_write.wait()
                task_group.cancel_scope.cancel()
    finally:
        if restore is not None:
            restore()


def _write_flush(wire: IO[bytes], data: bytes) -> None:
    wire.write(data)
    wire.flush()
