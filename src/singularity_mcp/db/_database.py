"""Open the database: start or join the embedded server (or use the external URL), migrate, pool."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
import psycopg
from pgvector.psycopg import register_vector_async
from psycopg_pool import AsyncConnectionPool

from singularity_mcp._rows import one_row
from singularity_mcp.config import Settings
from singularity_mcp.db._embedded import start_embedded
from singularity_mcp.db._migrate import apply_migrations
from singularity_mcp.embedding import MODEL_SETTING, configured_model_id
from singularity_mcp.errors import Unavailable

logger = logging.getLogger(__name__)


def redact_url(url: str) -> str:
    """Hide the password in a connection URL, for logs and `doctor`."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


@dataclass
class Database:
    """An open pool on a migrated database."""

    pool: AsyncConnectionPool
    url: str
    embedded: bool
    applied_migrations: list[str] = field(default_factory=list)

    async def versions(self) -> dict[str, str]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT current_setting('server_version'), "
                "(SELECT extversion FROM pg_extension WHERE extname = 'vector')"
            )
            server, vector = await one_row(cur)
        return {"postgresql": server, "pgvector": vector or "missing"}

    async def close(self) -> None:
        await self.pool.close()


def _configurer(model_id: str | None) -> Callable[[psycopg.AsyncConnection], Awaitable[None]]:
    """Per new pooled connection: the vector types, and the model this process embeds with (the
    0008 trigger refuses its vector writes once the database belongs to another model)."""

    async def configure(conn: psycopg.AsyncConnection) -> None:
        await register_vector_async(conn)
        if model_id is not None:
            await conn.execute("SELECT set_config(%s, %s, false)", (MODEL_SETTING, model_id))
            await conn.commit()

    return configure


async def open_database(settings: Settings) -> Database:
    """Connect (starting the embedded server if no URL is set), apply migrations, open the pool."""
    url = settings.database_url
    embedded = url is None
    if url is None:
        logger.info("starting embedded PostgreSQL in %s", settings.pgdata)
        try:
            url = await anyio.to_thread.run_sync(start_embedded, settings.pgdata)
        except Exception as exc:
            raise Unavailable(
                f"could not start the embedded PostgreSQL in {settings.pgdata}: {exc}. "
                f"Check {settings.pgdata}/log, or set SINGULARITY_DATABASE_URL to an external server"
            ) from exc
    try:
        async with await psycopg.AsyncConnection.connect(url, connect_timeout=10) as conn:
            applied = await apply_migrations(conn)
    except psycopg.OperationalError as exc:
        raise Unavailable(
            f"cannot connect to PostgreSQL at {redact_url(url)}: {str(exc).strip()}. "
            "Check SINGULARITY_DATABASE_URL (the server must have the `vector` extension available)"
        ) from exc
    pool = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=settings.pool_max_size,
        configure=_configurer(configured_model_id(settings)),
        open=False,
        timeout=30,
    )
    try:
        await pool.open(wait=True, timeout=30)
    except BaseException:
        # Cancelled (a shutdown while starting) or failed: close it, or its connection tasks outlive us
        # and the event loop waits on them at exit.
        with anyio.CancelScope(shield=True):
            await pool.close()
        raise
    return Database(pool=pool, url=url, embedded=embedded, applied_migrations=applied)
