"""What every tool module shares: mapping our errors to MCP tool errors, and bounded text."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from mcp.server.mcpserver.exceptions import ToolError

from singularity_mcp.errors import SingularityError

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


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


def trim(text: str, limit: int, hint: str = "…") -> str:
    """Cut `text` to at most `limit` characters, marking the cut."""
    return text if len(text) <= limit else text[: max(0, limit - len(hint))] + hint
