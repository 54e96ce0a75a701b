"""Numbered plain-SQL migrations (`sql/0001_init.sql`, ...) applied in order, each in a transaction."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from singularity_mcp.errors import Unavailable
from singularity_mcp.paths import data_path

logger = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x5167_4D43  # advisory lock: one migrator at a time across processes


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        """sha256 of the file with line endings normalised (a Windows checkout must not look edited)."""
        return hashlib.sha256(self.path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def discover_migrations(folder: Path | None = None) -> list[Migration]:
    folder = folder or data_path("sql")
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), path))
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"two migrations share a number in {folder}: {versions}")
    return found


async def apply_migrations(conn: psycopg.AsyncConnection, folder: Path | None = None) -> list[str]:
    """Apply pending migrations; return the names applied. Re-running is a no-op.

    Refuses a database whose schema is newer than this code.
    """
    migrations = discover_migrations(folder)
    await conn.set_autocommit(True)
    await conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        cur = await conn.execute("SELECT version, checksum FROM schema_migrations")
        applied = dict(await cur.fetchall())
        known = {m.version for m in migrations}
        newer = sorted(applied.keys() - known)
        if newer and newer[-1] > max(known, default=0):
            raise Unavailable(
                f"the database schema is at version {newer[-1]}, newer than this singularity-mcp "
                f"(knows up to {max(known, default=0)}): upgrade singularity-mcp, or point "
                "SINGULARITY_DATABASE_URL / SINGULARITY_DATA_DIR at another database"
            )
        edited = [m for m in migrations if m.version in applied and applied[m.version] != m.checksum]
        if edited:
            names = ", ".join(f"{m.version:04d}_{m.name}.sql" for m in edited)
            raise Unavailable(
                f"migration {names} differs from the version already applied to this database: an applied "
                "migration must never change. Reinstall the singularity-mcp release that created the "
                "database, or point SINGULARITY_DATABASE_URL / SINGULARITY_DATA_DIR at a new one"
            )
        done = []
        for migration in migrations:
            if migration.version in applied:
                continue
            logger.info("applying migration %04d_%s", migration.version, migration.name)
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
            done.append(f"{migration.version:04d}_{migration.name}")
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
