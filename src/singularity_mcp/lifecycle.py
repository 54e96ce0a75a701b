"""Process lifecycle for `serve`: stop in order on SIGTERM, SIGINT, SIGHUP or end of input, then exit.

The order matters: the server stops taking requests, the core cancels its background work (knowledge
sync, indexing, dense fill-in) and waits for it to unwind, closes the pool, and only then does the process
release its hold on the embedded PostgreSQL (the wheel's exit hook stops the server if this was the last
holder). A worker thread still inside a blocking call (an ONNX batch, a read of stdin) is not waited
for: everything it could touch is closed by then, so the process exits without joining it.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable

import anyio

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
STUCK_S = 10.0  # from a stop signal (or the end of serving), the longest the shutdown may take


async def run_until_stopped(
    serve: Callable[[], Awaitable[None]], stop: Callable[[], None] | None = None
) -> None:
    """Run `serve()` until it returns or a stop signal arrives.

    On a signal, `stop()` asks the server to wind down by itself (uvicorn's graceful exit); without one,
    `serve()` is cancelled, which unwinds the MCP session and the core's lifespan in order. A second
    signal cancels at once.
    """
    async with anyio.create_task_group() as task_group:

        async def watch_signals() -> None:
            with anyio.open_signal_receiver(*STOP_SIGNALS) as signals:
                first = True
                async for signum in signals:
                    logger.info("%s received: shutting down", signal.Signals(signum).name)
                    if first:
                        first = False
                        _exit_if_stuck(STUCK_S)
                        if stop is not None:
                            stop()
                            continue
                    task_group.cancel_scope.cancel()

        task_group.start_soon(watch_signals)
        try:
            await serve()
        finally:
            _exit_if_stuck(STUCK_S)
            task_group.cancel_scope.cancel()


def _exit_if_stuck(seconds: float) -> None:
    """Last resort: should the rest of the shutdown hang (a task ignoring cancellation), exit anyway."""

    def force() -> None:
        logger.error("shutdown did not finish within %gs: exiting anyway", seconds)
        exit_process(1)

    timer = threading.Timer(seconds, force)
    timer.daemon = True
    timer.start()


def exit_process(code: int) -> None:
    """Exit now: run the exit hooks (releasing the embedded PostgreSQL), flush, skip joining threads."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
