"""The core shared by the MCP server and the CLI: settings plus lazily opened engines.

Constructing a `Core` touches nothing; the database and the embedder open on first use, so the server
answers `tools/list` before either is ready.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio

from singularity_mcp.config import Settings
from singularity_mcp.db import Database, open_database

if TYPE_CHECKING:
    from singularity_mcp.embedding import Embedder

logger = logging.getLogger(__name__)


class Core:
    """Settings plus the engines every capability draws on, opened once, on demand."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._database: Database | None = None
        self._embedder: Embedder | None = None
        self._lock = anyio.Lock()
        self._services: dict[str, Any] = {}
        self._closers: list[Callable[[], Awaitable[None]]] = []

    async def database(self) -> Database:
        """The migrated database pool (starts the embedded server on first call)."""
        if self._database is None:
            async with self._lock:
                if self._database is None:
                    self._database = await open_database(self.settings)
        return self._database

    async def embedder(self) -> Embedder:
        """The ONNX embedder (builds the model on first use)."""
        if self._embedder is None:
            from singularity_mcp.embedding import load_embedder

            async with self._lock:
                if self._embedder is None:
                    self._embedder = await anyio.to_thread.run_sync(load_embedder, self.settings)
        return self._embedder

    async def service(self, name: str, factory: Callable[[Core], Awaitable[Any]]) -> Any:
        """A per-process singleton a capability builds once (a rule set, a registry client, ...)."""
        if name not in self._services:
            value = await factory(self)
            self._services.setdefault(name, value)
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
