"""What every tool module shares: the one place tool errors are mapped, argument hygiene, bounded text.

Every tool call goes through `ToolServer.call_tool`: the raw arguments are checked first (no NUL, no lone
surrogate, no string over `MAX_ARGUMENT_CHARS`, no nesting deeper than `MAX_NESTING`), then whatever goes
wrong becomes one readable sentence (`tool_error_message`): our own errors keep their message, argument
validation errors name the argument and what it should be instead of a pydantic dump, crashes say what
kind of input could not be processed. No message quotes more than `QUOTE_CHARS` of any argument or
exceeds `MAX_ERROR_CHARS`.
"""

from __future__ import annotations

import functools
import logging
import reprlib
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sized
from typing import Any, ParamSpec, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.shared.exceptions import MCPError
from mcp.types import ToolAnnotations
from pydantic import ValidationError

from singularity_mcp._text import trim
from singularity_mcp.errors import QUOTE_CHARS, InvalidInput, SingularityError, check_text, quoted

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

MAX_ARGUMENT_CHARS = 1_000_000
"""Any string anywhere in a tool's arguments (tools document tighter limits for their own arguments)."""
MAX_NESTING = 32
"""Lists and objects nested deeper than this in the arguments are refused."""
MAX_ERROR_CHARS = 1000
"""Longest tool error message."""
_MAX_PROBLEMS = 3  # validation problems spelled out per message

_brief = reprlib.Repr()
_brief.maxstring = 60
_brief.maxother = 60
_brief.maxlist = _brief.maxtuple = _brief.maxdict = _brief.maxset = 4
_brief.maxlevel = 2


def hints(
    title: str, *, read_only: bool = True, idempotent: bool = True, open_world: bool = False
) -> ToolAnnotations:
    """A tool's annotations: how it touches the user's world, for clients that decide what to confirm.

    `read_only`: changes nothing the user owns (reading or refreshing our own index counts as reading).
    Nothing here is destructive: no tool deletes or overwrites the user's files.
    `open_world`: talks to services outside this machine (package registries, an LLM).
    """
    return ToolAnnotations(
        title=title,
        read_only_hint=read_only,
        destructive_hint=False,
        idempotent_hint=idempotent,
        open_world_hint=open_world,
    )


def tool_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Turn a `SingularityError` raised by a tool body into an MCP tool error (isError) with its message.

    Apply it under `@server.tool()`:

        @server.tool()
        @tool_errors
        async def my_tool(...) -> MyResult: ...
    """

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except SingularityError as exc:
            raise ToolError(str(exc)) from exc

    return wrapper


# --- argument hygiene ---------------------------------------------------------------------------------------


def _walk(arguments: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, text) for every string in the arguments, keys included; iterative, so depth cannot blow the
    stack, and refusing nesting deeper than `MAX_NESTING`."""
    stack: list[tuple[str, Any, int]] = [(str(k), v, 1) for k, v in arguments.items()]
    for key in arguments:
        yield "argument name", str(key)
    while stack:
        where, value, depth = stack.pop()
        if isinstance(value, str):
            yield where, value
        elif isinstance(value, Mapping | list | tuple):
            if depth >= MAX_NESTING:
                raise InvalidInput(
                    f"{where} is nested more than {MAX_NESTING} levels deep: pass a flatter value"
                )
            if isinstance(value, Mapping):
                for key, item in value.items():
                    yield f"a key in {where}", str(key)
                    stack.append((f"{where}.{key}"[:80], item, depth + 1))
            else:
                stack.extend((f"{where}[{i}]"[-80:], item, depth + 1) for i, item in enumerate(value))


def check_arguments(arguments: Mapping[str, Any]) -> None:
    """Refuse, naming the argument: NUL characters (PostgreSQL cannot store them), lone surrogates (not
    valid Unicode), strings over `MAX_ARGUMENT_CHARS`, nesting deeper than `MAX_NESTING`."""
    for where, text in _walk(arguments):
        check_text(where, text, MAX_ARGUMENT_CHARS)


# --- error messages -----------------------------------------------------------------------------------------


def _validation_message(tool: str, error: ValidationError) -> str:
    problems = []
    errors = error.errors(include_url=False)
    for err in errors[:_MAX_PROBLEMS]:
        where = ".".join(str(part) for part in err["loc"]) or "the arguments"
        kind, value = err["type"], err.get("input")
        limit = (err.get("ctx") or {}).get("max_length")
        if kind == "missing":
            problems.append(f"{where} is required")
        elif kind in ("string_too_long", "too_long") and limit is not None and isinstance(value, Sized):
            unit = "characters" if kind == "string_too_long" else "items"
            problems.append(f"{where} has {len(value):,} {unit}, over the limit of {limit:,}")
        else:
            problems.append(f"{where}: {err['msg'].rstrip('.')} (got {_brief.repr(value)})")
    if len(errors) > _MAX_PROBLEMS:
        problems.append(f"and {len(errors) - _MAX_PROBLEMS} more")
    return (
        f"invalid arguments for {tool}: {'; '.join(problems)}. "
        "Fix them and call again (the tool's input schema lists every argument)."
    )


def _crash_message(tool: str, cause: BaseException | None) -> str:
    if isinstance(cause, UnicodeError):
        return (
            f"{tool} could not process a text argument that is not valid Unicode (a lone surrogate?): "
            "send valid UTF-8 text"
        )
    if isinstance(cause, RecursionError):
        return f"{tool} could not process an input nested this deeply: pass a smaller or flatter input"
    if isinstance(cause, MemoryError):
        return f"{tool} ran out of memory on this input: pass a smaller input"
    if isinstance(cause, OSError):
        reason = cause.strerror or type(cause).__name__
        return f"{tool} could not read a file ({reason}): check the path, it must name a regular file you may read"
    kind = type(cause).__name__ if cause is not None else "an unknown error"
    return (
        f"{tool} failed with an internal error ({kind}; the server log has the details): try again, "
        "and report it if it keeps failing"
    )


def _strings(arguments: Mapping[str, Any]) -> Iterator[str]:
    try:
        for _, text in _walk(arguments):
            yield text
    except InvalidInput:
        return


def bounded_message(message: str, arguments: Mapping[str, Any] | None = None) -> str:
    """`message` quoting at most `QUOTE_CHARS` of any argument, and at most `MAX_ERROR_CHARS` long."""
    for text in _strings(arguments or {}):
        if len(text) <= QUOTE_CHARS:
            continue
        for form in (text, repr(text)[1:-1]):
            if form in message:
                message = message.replace(form, f"{form[:QUOTE_CHARS]}… ({len(text):,} characters)")
    return trim(message, MAX_ERROR_CHARS)


def tool_error_message(tool: str, exc: Exception, arguments: Mapping[str, Any] | None = None) -> str:
    """One readable sentence for a failed tool call (what was wrong and what to do)."""
    cause = exc.__cause__
    if isinstance(exc, SingularityError):
        message = str(exc)
    elif isinstance(cause, ValidationError):
        message = _validation_message(tool, cause)
    elif isinstance(cause, SingularityError):
        message = str(cause)
    elif isinstance(exc, UnexpectedToolError) or not isinstance(exc, ToolError):
        while isinstance(cause, UnexpectedToolError) and cause.__cause__ is not None:
            cause = cause.__cause__  # a nested tool's crash: say what really went wrong
        message = _crash_message(tool, cause if isinstance(exc, ToolError) else exc)
    else:
        message = str(exc).removeprefix(f"Error executing tool {tool}: ")
    return bounded_message(message, arguments)


class ToolServer(MCPServer):
    """The MCP server with every tool call's arguments checked and every failure mapped to a readable
    `isError` result (see the module docstring)."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        shown = quoted(name, 80)
        if self._tool_manager.get_tool(name) is None:
            raise ToolError(f"unknown tool {shown}: tools/list names the tools this server has")
        try:
            check_arguments(arguments)
            return await super().call_tool(name, arguments, context)
        except MCPError:
            raise
        except Exception as exc:
            message = tool_error_message(name, exc, arguments)
            if isinstance(exc, UnexpectedToolError) or not isinstance(exc, ToolError | SingularityError):
                logger.error("tool %s crashed: %s", shown, message, exc_info=exc)
            raise ToolError(message) from None
