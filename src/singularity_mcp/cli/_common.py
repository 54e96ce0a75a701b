"""Helpers shared by the command groups: running async work with a `Core`, printing JSON."""

from __future__ import annotations

import json
import logging
import signal
import sys
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from types import FrameType
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel

from singularity_mcp.config import Settings
from singularity_mcp.core import Core

T = TypeVar("T")


def run_with_core(settings: Settings, work: Callable[[Core], Awaitable[T]]) -> T:
    """Run `work(core)` on a fresh event loop and close the core afterwards.

    Ctrl-C cancels the work and closes the core as usual, but quietly: see `quiet_shutdown`.
    """

    interrupted: list[int] = []

    async def runner() -> T:
        with _quiet_on_interrupt(interrupted):
            async with asynccontextmanager(Core(settings).run)() as core:
                return await work(core)

    try:
        result = anyio.run(runner)
    except BaseExceptionGroup as group:  # the core's task group wraps what the work raised
        raise _sole_exception(group) from None
    if interrupted:  # the cancellation was absorbed on the way out (e.g. mid-shutdown): still a Ctrl-C
        raise KeyboardInterrupt
    return result


def quiet_shutdown() -> None:
    """Silence logs and warnings for the rest of the process. After Ctrl-C the pool and the embedded
    server wind down mid-query; what they say then (connections closed under them, tasks cancelled) is
    noise to someone who asked to stop, who gets one line instead."""
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")


@contextmanager
def _quiet_on_interrupt(interrupted: list[int]) -> Iterator[None]:
    """Chain `quiet_shutdown` in front of the event loop's own SIGINT handler (which cancels the work),
    so the silence starts before the unwinding does; each SIGINT is noted in `interrupted`."""
    try:
        loop_handler = signal.getsignal(signal.SIGINT)
    except ValueError:  # not the main thread: no signals here
        yield
        return
    if not callable(loop_handler):
        yield
        return

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        interrupted.append(signum)
        quiet_shutdown()
        loop_handler(signum, frame)

    try:
        signal.signal(signal.SIGINT, on_interrupt)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, loop_handler)  # the loop restores the default only from its own


def _sole_exception(group: BaseExceptionGroup) -> BaseException:
    """The one real exception inside (nested) single-member exception groups, else the group itself."""
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


def print_json(value: Any) -> None:
    """Print a model, dict or list as JSON on stdout."""
    if isinstance(value, BaseModel):
        text = value.model_dump_json(indent=2)
    else:
        text = json.dumps(value, indent=2, default=str)
    sys.stdout.write(text + "\n")
