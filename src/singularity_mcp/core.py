"""The core shared by the MCP server and the CLI: settings plus lazily opened engines.

Constructing a `Core` touches nothing; the database and the embedder open on first use, so the server
answers `tools/list` before either is ready.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from singularity_mcp.config import Settings

if TYPE_CHECKING:
    from singularity_mcp.db import Database
    from singularity_mcp.embedding import Embedder

logger = logging.getLogger(__name__)


async def import_off_loop(module: str) -> ModuleType:
    """Import `module` in a worker thread (a heavy first import would otherwise block the event loop).

    A module another thread is still importing is in `sys.modules` half-made: that one is imported
    again (which waits for the other thread to finish), never returned as it is."""
    loaded = sys.modules.get(module)
    if loaded is not None and not getattr(getattr(loaded, "__spec__", None), "_initializing", False):
        return loaded
    return await anyio.to_thread.run_sync(importlib.import_module, module)


class Core:
    """Settings plus the engines every capability draws on, opened once, on demand."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._database: Database | None = None
        self._embedder: Embedder | None = None
        self._lock = anyio.Lock()
        self._services: dict[str, Any] = {}
        self._service_locks: dict[str, anyio.Lock] = {}
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self._startup: list[Callable[[], Awaitable[None]]] = []
        self._task_group: TaskGroup | None = None

    async def run(self) -> AsyncIterator[Core]:
        """Bind a task group for background work, run the startup hooks in it, close everything at exit.

        Used as `async with contextlib.asynccontextmanager(core.run)()` by the server lifespan and the CLI.
        """
        try:
            async with anyio.create_task_group() as task_group:
                self._task_group = task_group
                for hook in self._startup:
                    self.start_background(hook, name=getattr(hook, "__name__", "startup"))
                try:
                    yield self
                finally:
                    # Background work (knowledge sync, indexing, package refreshes) stops first: the task
                    # group only exits once each task has unwound, so none of it runs on a closed pool.
                    # Indexing resumes from its last committed batch at the next start.
                    self._task_group = None
                    task_group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self.close()

    def on_startup(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run `hook` in the background when the server starts (e.g. importing changed knowledge files)."""
        self._startup.append(hook)

    def start_background(self, fn: Callable[..., Awaitable[Any]], *args: Any, name: str = "") -> None:
        """Run `fn(*args)` in the background until it finishes or the process stops; errors are logged."""
        if self._task_group is None:
            raise RuntimeError("background work needs a running core (use Core.run)")

        async def guarded() -> None:
            try:
                await fn(*args)
            except anyio.get_cancelled_exc_class():
                raise
            except Exception:
                logger.exception("background task %s failed", name or fn)

        self._task_group.start_soon(guarded, name=name or None)

    async def database(self) -> Database:
        """The migrated database pool (starts the embedded server on first call)."""
        if self._database is None:
            # psycopg and numpy load on first use, in a thread: importing them takes a second or more
            # on a busy machine, during which the event loop would answer nothing (not even a signal).
            db = await import_off_loop("singularity_mcp.db")

            async with self._lock:
                if self._database is None:
                    self._database = await db.open_database(self.settings)
        return self._database

    @property
    def database_ready(self) -> bool:
        """Whether the database is open already (a first start may take seconds to create it)."""
        return self._database is not None

    async def model(self) -> Embedder:
        """The ONNX embedder (built on first use), without asking the database anything."""
        if self._embedder is None:
            embedding = await import_off_loop("singularity_mcp.embedding")
            load_embedder: Callable[[Settings], Embedder] = embedding.load_embedder

            async with self._lock:
                if self._embedder is None:
                    # abandon_on_cancel: loading only reads the model; a shutdown need not wait for it.
                    self._embedder = await anyio.to_thread.run_sync(
                        load_embedder, self.settings, abandon_on_cancel=True
                    )
        return self._embedder

    async def embedder(self) -> Embedder:
        """The ONNX embedder, once the database is known to hold this model's vectors (or none yet):
        a database of another model is refused, never mixed."""
        from singularity_mcp.embedding import ensure_space

        embedder = await self.model()
        database = await self.database()
        await ensure_space(database.pool, embedder.model_id, embedder.dimensions)  # memoized per pool
        return embedder

    async def service(self, name: str, factory: Callable[[Core], Awaitable[Any]]) -> Any:
        """A per-process singleton a capability builds once (a rule set, a registry client, ...)."""
        if name not in self._services:
            lock = self._service_locks.setdefault(name, anyio.Lock())
            async with lock:  # concurrent first calls build it once, not once each
                if name not in self._services:
                    self._services[name] = await factory(self)
        return self._services[name]

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Register something to close when the core closes (background tasks, HTTP clients)."""
        self._closers.append(closer)

    async def close(self) -> None:
        for closer in reversed(self._closers):
            try:
                await closer()
            except Exception:  # closing must go on
                logger.exception("error while closing")
        self._closers.clear()
        if self._database is not None:
            await self._database.close()
            self._database = None
