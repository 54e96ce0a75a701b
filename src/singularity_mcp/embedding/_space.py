"""The database's embedding space: which model's vectors it holds, sized by that model's manifest.

A database holds the vectors of one model (sql/0008_embedding_space.sql). The first process to embed
claims it for its model, sizing the typed vector columns to the manifest's `dimensions`; a process
configured for another model is refused with what to do, until `switch_space` (the `model switch`
command) clears the old model's vectors so that everything is embedded again with the new one.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from singularity_mcp._rows import one_row
from singularity_mcp.errors import ConfigError, NotConfigured

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import AsyncConnectionPool

    from singularity_mcp.config import Settings

logger = logging.getLogger(__name__)

#: Per-connection setting naming the model a process embeds with; the 0008 trigger checks writes by it.
MODEL_SETTING = "singularity.embedding_model"
#: Typed (sized, HNSW-indexable) vector columns; package_cache.embedding is untyped and model-filtered.
SIZED_TABLES = ("embedding_cache", "code_chunks", "knowledge_artifacts", "agent_cache")
_LOCK_KEY = 0x5167_4D45  # advisory lock: one claim or switch at a time

# Where each table records the model of its vectors (agent_cache does not: it follows the space).
_HELD_MODELS = """
SELECT model_id FROM embedding_cache
UNION SELECT embedding_model FROM code_roots WHERE embedding_model IS NOT NULL
UNION SELECT embedding_model FROM knowledge_artifacts WHERE embedding_model IS NOT NULL
UNION SELECT embedding_model FROM package_cache WHERE embedding_model IS NOT NULL
"""


@dataclass(frozen=True)
class EmbeddingSpace:
    model_id: str
    dimensions: int


# Pools whose space is known to match this process's model (so the check is a dict lookup after once).
_checked: weakref.WeakKeyDictionary[AsyncConnectionPool, EmbeddingSpace] = weakref.WeakKeyDictionary()


def configured_model_id(settings: Settings) -> str | None:
    """The model id this process stores vectors under (None when the manifest is unusable: then it
    embeds nothing, and the error comes from loading the model)."""
    from singularity_mcp.embedding._manifest import load_manifest

    try:
        name = load_manifest(settings.model).name
    except ConfigError:
        return None
    return model_id_for(name, settings.model_variant)


def model_id_for(name: str, variant: str) -> str:
    """The id stored with vectors. fp16 agrees with fp32 to cosine >= 0.9999, so they share it (CUDA
    runs fp16 for an fp32 request); int8 vectors differ more and get their own."""
    return f"{name}-int8" if variant == "int8" else name


async def read_space(conn: psycopg.AsyncConnection) -> EmbeddingSpace | None:
    cur = await conn.execute("SELECT model_id, dimensions FROM embedding_space")
    row = await cur.fetchone()
    return EmbeddingSpace(row[0], row[1]) if row else None


async def ensure_space(pool: AsyncConnectionPool, model_id: str, dimensions: int) -> EmbeddingSpace:
    """Make sure the database holds (or may now hold) vectors of `model_id`; claim it if unclaimed.

    Raises `NotConfigured` naming both models and the ways out when it holds another model's vectors.
    """
    wanted = EmbeddingSpace(model_id, dimensions)
    if _checked.get(pool) == wanted:
        return wanted
    async with pool.connection() as conn, conn.transaction():
        space = await read_space(conn)
        if space is None:
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            space = await read_space(conn) or await _claim(conn, wanted)
    if space != wanted:
        raise NotConfigured(_mismatch(space, wanted))
    _checked[pool] = wanted
    return wanted


async def _claim(conn: psycopg.AsyncConnection, wanted: EmbeddingSpace) -> EmbeddingSpace:
    """First use of a database (new, or built before 0008): take it for `wanted` unless it holds
    vectors of another model or of another size."""
    cur = await conn.execute(_HELD_MODELS)
    held = sorted({row[0] for row in await cur.fetchall()} - {wanted.model_id})
    sizes = await _column_sizes(conn)
    resize = any(size != wanted.dimensions for size in sizes.values())
    if held or (resize and await _has_vectors(conn)):
        model = held[0] if held else "(unrecorded)"
        return EmbeddingSpace(model, max(sizes.values()))  # refused by the caller
    if resize:
        await _resize(conn, wanted.dimensions)
    await conn.execute(
        "INSERT INTO embedding_space (model_id, dimensions) VALUES (%s, %s)",
        (wanted.model_id, wanted.dimensions),
    )
    logger.info("database claimed for embedding model %s (%d dims)", wanted.model_id, wanted.dimensions)
    return wanted


@dataclass(frozen=True)
class SwitchReport:
    """What `switch_space` cleared; the indexer, the knowledge import and the package cache embed
    their texts again with the new model on their next run."""

    previous: EmbeddingSpace | None
    current: EmbeddingSpace
    code_chunks: int
    knowledge_artifacts: int
    agent_cache: int
    package_cache: int
    embedding_cache: int


async def switch_space(pool: AsyncConnectionPool, model_id: str, dimensions: int) -> SwitchReport:
    """Give the database to `model_id`: drop every vector of another model, size the columns for it."""
    wanted = EmbeddingSpace(model_id, dimensions)
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        previous = await read_space(conn)
        same = previous == wanted
        counts = {
            "code_chunks": await _count(
                conn,
                "UPDATE code_chunks c SET embedding = NULL, name_embedding = NULL FROM code_roots r "
                "WHERE c.root_id = r.id "
                "AND c.embedding IS NOT NULL AND r.embedding_model IS DISTINCT FROM %s",
                model_id,
                same,
            ),
            "knowledge_artifacts": await _count(
                conn,
                "UPDATE knowledge_artifacts SET embedding = NULL, embedding_model = NULL, "
                "embedding_sha256 = NULL WHERE embedding IS NOT NULL AND embedding_model IS DISTINCT FROM %s",
                model_id,
                same,
            ),
            # agent_cache rows carry no model: they belong to the previous space
            "agent_cache": await _count(conn, "DELETE FROM agent_cache", None, same),
            "package_cache": await _count(
                conn,
                "UPDATE package_cache SET embedding = NULL, embedding_model = NULL "
                "WHERE embedding IS NOT NULL AND embedding_model IS DISTINCT FROM %s",
                model_id,
                same,
            ),
            "embedding_cache": await _count(
                conn, "DELETE FROM embedding_cache WHERE model_id <> %s", model_id, same
            ),
        }
        await conn.execute(
            "UPDATE code_roots SET embedding_model = NULL WHERE embedding_model IS DISTINCT FROM %s",
            (model_id,),
        )
        if any(size != dimensions for size in (await _column_sizes(conn)).values()):
            await _resize(conn, dimensions)
        await conn.execute(
            "INSERT INTO embedding_space (model_id, dimensions) VALUES (%s, %s) ON CONFLICT (singleton) "
            "DO UPDATE SET model_id = EXCLUDED.model_id, dimensions = EXCLUDED.dimensions, claimed_at = now()",
            (model_id, dimensions),
        )
    _checked.pop(pool, None)
    _checked[pool] = wanted
    report = SwitchReport(previous=previous, current=wanted, **counts)
    logger.info("embedding space switched: %s", report)
    return report


async def switch_to_configured(pool: AsyncConnectionPool, settings: Settings) -> SwitchReport:
    """`switch_space` for the model the settings name (its manifest gives the dimensions)."""
    from singularity_mcp.embedding._manifest import load_manifest

    manifest = load_manifest(settings.model)
    return await switch_space(pool, model_id_for(manifest.name, settings.model_variant), manifest.dimensions)


async def _count(conn: psycopg.AsyncConnection, sql: str, model_id: str | None, skip: bool) -> int:
    if skip:  # switching to the model the database already holds clears nothing
        return 0
    cur = await conn.execute(sql, (model_id,) if model_id is not None else None)
    return cur.rowcount


async def _column_sizes(conn: psycopg.AsyncConnection) -> dict[str, int]:
    cur = await conn.execute(
        "SELECT attrelid::regclass::text, atttypmod FROM pg_attribute "
        "WHERE attrelid = ANY(%s::regclass[]) AND attname = 'embedding' AND NOT attisdropped",
        (list(SIZED_TABLES),),
    )
    return {table: size for table, size in await cur.fetchall()}


async def _has_vectors(conn: psycopg.AsyncConnection) -> bool:
    checks = " OR ".join(f"EXISTS (SELECT 1 FROM {t} WHERE embedding IS NOT NULL)" for t in SIZED_TABLES)
    cur = await conn.execute(f"SELECT {checks}")
    return bool((await one_row(cur))[0])


async def _resize(conn: psycopg.AsyncConnection, dimensions: int) -> None:
    """Retype the (empty) vector columns; PostgreSQL rebuilds their HNSW indexes for the new size."""
    for table in SIZED_TABLES:
        await conn.execute(
            f"ALTER TABLE {table} ALTER COLUMN embedding TYPE halfvec({int(dimensions)}) "
            f"USING embedding::halfvec({int(dimensions)})"
        )


def _mismatch(space: EmbeddingSpace, wanted: EmbeddingSpace) -> str:
    return (
        f"this database holds vectors of embedding model {space.model_id} ({space.dimensions} dims), "
        f"but this process is configured for {wanted.model_id} ({wanted.dimensions} dims); vectors of "
        "two models are never mixed. Either set SINGULARITY_MODEL / SINGULARITY_MODEL_VARIANT back to "
        f"{space.model_id}, or run `singularity-mcp model switch` to clear the old vectors and embed "
        "everything again with the new model (stop running servers on this data dir first), or use "
        "another SINGULARITY_DATA_DIR"
    )
