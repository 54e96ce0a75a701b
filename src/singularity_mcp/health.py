"""Liveness and readiness, for load balancers and orchestrators in front of several server processes.

Readiness means this process can serve every tool now: the database answers, its schema is exactly the one
this code knows (no pending and no newer migrations), and the embedding model is loaded. The first probe
starts loading the model in the background, so a fresh process turns ready without waiting for a first
search. The answer names each check with "ok", "starting" or "failing" and nothing else: details (which
can hold paths or a database host) go to the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import anyio

if TYPE_CHECKING:
    from singularity_mcp.core import Core

logger = logging.getLogger(__name__)

CheckState = Literal["ok", "starting", "failing"]
DATABASE_TIMEOUT_S = 5.0
MODEL_WAIT_S = 2.0  # how long one probe waits for a model load in progress before answering "starting"


@dataclass
class Readiness:
    checks: dict[str, CheckState]

    @property
    def ready(self) -> bool:
        return all(state == "ok" for state in self.checks.values())

    def as_dict(self) -> dict[str, object]:
        return {"status": "ok" if self.ready else "unavailable", "checks": dict(self.checks)}


class _ModelLoad:
    """One background load of the embedder per process; a failed load is retried by the next probe."""

    def __init__(self) -> None:
        self.state: CheckState | None = None
        self.done = anyio.Event()

    async def ensure(self, core: Core) -> CheckState:
        if self.state in (None, "failing"):
            self.state = "starting"
            self.done = anyio.Event()
            core.start_background(self._load, core, name="health: load the embedding model")
        if self.state == "starting":
            with anyio.move_on_after(MODEL_WAIT_S):
                await self.done.wait()
        return self.state or "starting"

    async def _load(self, core: Core) -> None:
        try:
            await core.model()  # loadable; whether the database holds its vectors is not liveness
            self.state = "ok"
        except Exception:
            logger.exception("health: the embedding model cannot be loaded")
            self.state = "failing"
        finally:
            self.done.set()


async def _model_load(core: Core) -> _ModelLoad:
    return _ModelLoad()


async def _database_checks(core: Core) -> dict[str, CheckState]:
    from singularity_mcp.db import discover_migrations

    try:
        with anyio.fail_after(DATABASE_TIMEOUT_S):
            database = await core.database()
            async with database.pool.connection() as conn:
                cur = await conn.execute("SELECT version FROM schema_migrations")
                applied = {row[0] for row in await cur.fetchall()}
    except Exception as exc:
        logger.warning("health: database not reachable or not migrated: %s", exc)
        return {"database": "failing", "migrations": "failing"}
    known = {m.version for m in discover_migrations()}
    if applied != known:
        logger.warning(
            "health: schema differs from this code (pending %s, unknown %s)",
            sorted(known - applied),
            sorted(applied - known),
        )
        return {"database": "ok", "migrations": "failing"}
    return {"database": "ok", "migrations": "ok"}


async def readiness(core: Core) -> Readiness:
    """Check the database, the schema version and the model (starting its load on the first call)."""
    checks = await _database_checks(core)
    loader: _ModelLoad = await core.service("health.model", _model_load)
    checks["model"] = await loader.ensure(core)
    return Readiness(checks=checks)
