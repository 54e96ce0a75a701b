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
# Extensions the schema needs, with the lowest version that works (pgvector 0.8: iterative index scans).
REQUIRED_EXTENSIONS = {"vector": (0, 8), "pg_trgm": (1, 0)}


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
        applied: dict[int, str] = dict(await cur.fetchall())
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
        if any(m.version not in applied for m in migrations):
            await check_extensions(conn)
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


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


async def check_extensions(conn: psycopg.AsyncConnection) -> None:
    """Fail with what to do when a required extension is missing and this role cannot create it.

    On a shared server the application role is usually not a superuser: `vector` is not a trusted extension,
    so a superuser creates it once; the migrations' `CREATE EXTENSION IF NOT EXISTS` then does nothing.
    """
    cur = await conn.execute(
        """SELECT r.name, x.extversion, e.name IS NOT NULL,
                  coalesce(v.trusted, false)
                      AND has_database_privilege(current_database(), 'CREATE'),
                  (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
                  current_database(), current_user
           FROM unnest(%s::text[]) AS r(name)
           LEFT JOIN pg_available_extensions e ON e.name = r.name
           LEFT JOIN pg_available_extension_versions v ON v.name = r.name AND v.version = e.default_version
           LEFT JOIN pg_extension x ON x.extname = r.name""",
        (list(REQUIRED_EXTENSIONS),),
    )
    rows = await cur.fetchall()
    problems: list[str] = []
    to_create: list[str] = []
    for name, installed, available, trusted, superuser, database, _role in rows:
        if installed is not None:
            if _version_tuple(installed) < REQUIRED_EXTENSIONS[name]:
                wanted = ".".join(map(str, REQUIRED_EXTENSIONS[name]))
                problems.append(
                    f"extension {name} is at {installed}, {wanted} or newer is needed: "
                    f"install a newer {name} on the server and run ALTER EXTENSION {name} UPDATE in "
                    f"database {database}"
                )
        elif not available:
            problems.append(
                f"the PostgreSQL server has no {name} extension: install it on the server "
                "(pgvector >= 0.8 for vector; managed services offer both as extensions to enable)"
            )
        elif not (superuser or trusted):
            to_create.append(name)
    if to_create:
        database, role = rows[0][5], rows[0][6]
        statements = " ".join(f"CREATE EXTENSION IF NOT EXISTS {name};" for name in to_create)
        problems.append(
            f"role {role} may not create the extension(s) {', '.join(to_create)}: ask a superuser to run, "
            f"connected to database {database}: {statements} (once; singularity-mcp then creates its tables "
            "as the database owner)"
        )
    if problems:
        raise Unavailable("; ".join(problems))
