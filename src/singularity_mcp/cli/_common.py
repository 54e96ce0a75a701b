"""Helpers shared by the command groups: running async work with a `Core`, printing JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel

from singularity_mcp.config import Settings
from singularity_mcp.core import Core

T = TypeVar("T")


def run_with_core(settings: Settings, work: Callable[[Core], Awaitable[T]]) -> T:
    """Run `work(core)` on a fresh event loop and close the core afterwards."""

    async def runner() -> T:
        async with asynccontextmanager(Core(settings).run)() as core:
            return await work(core)

    try:
        return anyio.run(runner)
    except BaseExceptionGroup as group:  # the core's task group wraps what the work raised
        raise _sole_exception(group) from None


def _sole_exception(group: BaseExceptionGroup) -> BaseException:
    """The one real exception inside (nested) single-member exception groups, else the group itself."""
    while isinstance(group, BaseExceptionGroup) and len(group.exceptions) == 1:
        group = group.exceptions[0]
    return group


def print_json(value: Any) -> None:
    """Print a model, dict or list as JSON on stdout."""
    if isinstance(value, BaseModel):
        text = value.model_dump_json(indent=2)
    else:
        text = json.dumps(value, indent=2, default=str)
    sys.stdout.write(text + "\n")
