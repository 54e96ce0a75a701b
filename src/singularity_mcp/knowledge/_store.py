"""Artifacts in PostgreSQL: import from files (upsert, history, re-embed only what changed), read, usage."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from singularity_mcp.errors import InvalidInput, NotFound
from singularity_mcp.knowledge._files import (
    ArtifactFile,
    artifact_json,
    knowledge_folder,
    load_artifact_files,
    load_artifact_records,
)
from singularity_mcp.knowledge._text import embedding_text, search_text
from singularity_mcp.knowledge.models import (
    ARTIFACT_TYPES,
    Artifact,
    ArtifactSummary,
    ExportReport,
    ImportReport,
    Provenance,
    UsageFigures,
    parse_artifact,
)

if TYPE_CHECKING:
    import numpy as np
    import psycopg

    from singularity_mcp.core import Core

logger = logging.getLogger(__name__)

#: One importer at a time across processes sharing the database.
_IMPORT_LOCK = 0x4B42_494D  # "KBIM"
SUCCESS_RATE_SQL = "((success_count + 1.0) / (success_count + failure_count + 2.0))"

_UPSERT = """
INSERT INTO knowledge_artifacts (
    artifact_id, artifact_type, version, title, summary, language, tags, body, raw_text, content_sha256,
    source, source_path, search_text, embedding, embedding_model, embedding_sha256)
VALUES (%(artifact_id)s, %(artifact_type)s, %(version)s, %(title)s, %(summary)s, %(language)s, %(tags)s,
        %(body)s, %(raw_text)s, %(content_sha256)s, %(source)s, %(source_path)s, %(search_text)s,
        %(embedding)s, %(embedding_model)s, %(embedding_sha256)s)
ON CONFLICT (artifact_id) DO UPDATE SET
    artifact_type = EXCLUDED.artifact_type, version = EXCLUDED.version, title = EXCLUDED.title,
    summary = EXCLUDED.summary, language = EXCLUDED.language, tags = EXCLUDED.tags, body = EXCLUDED.body,
    raw_text = EXCLUDED.raw_text, content_sha256 = EXCLUDED.content_sha256, source = EXCLUDED.source,
    source_path = EXCLUDED.source_path, search_text = EXCLUDED.search_text,
    embedding = COALESCE(EXCLUDED.embedding, knowledge_artifacts.embedding),
    embedding_model = COALESCE(EXCLUDED.embedding_model, knowledge_artifacts.embedding_model),
    embedding_sha256 = COALESCE(EXCLUDED.embedding_sha256, knowledge_artifacts.embedding_sha256),
    updated_at = now()
"""

_TO_HISTORY = """
INSERT INTO knowledge_artifact_history
    (artifact_id, artifact_type, version, body, raw_text, content_sha256, change)
SELECT artifact_id, artifact_type, version, body, raw_text, content_sha256, %s
FROM knowledge_artifacts WHERE artifact_id = ANY(%s)
"""


@dataclass
class _Prepared:
    artifact: Artifact
    raw_text: str
    content_sha256: str
    source_path: str | None
    search_text: str
    embedding_text: str
    embedding_sha256: str
    vector: Any = None


def _embedding_key(core: Core) -> str:
    return f"{core.settings.model}:{core.settings.model_variant}"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _prepare(core: Core, artifact: Artifact, raw_text: str, source_path: str | None) -> _Prepared:
    emb_text = embedding_text(artifact)
    return _Prepared(
        artifact=artifact,
        raw_text=raw_text,
        content_sha256=_sha(raw_text),
        source_path=source_path,
        search_text=search_text(artifact),
        embedding_text=emb_text,
        embedding_sha256=_sha(_embedding_key(core) + "\0" + emb_text),
    )


async def _embed(core: Core, texts: list[str]) -> tuple[str, np.ndarray]:
    from singularity_mcp.embedding import embed_cached

    database = await core.database()
    embedder = await core.embedder()
    return embedder.model_id, await embed_cached(database.pool, embedder, texts)


async def _existing(conn: psycopg.AsyncConnection, lock: bool = False) -> dict[str, tuple[str, str, str]]:
    sql = (
        "SELECT artifact_id, content_sha256, coalesce(embedding_sha256, ''), source FROM knowledge_artifacts"
    )
    cur = await conn.execute(sql + (" FOR UPDATE" if lock else ""))
    return {row[0]: (row[1], row[2], row[3]) for row in await cur.fetchall()}


def _row(p: _Prepared, source: str, model_id: str | None) -> dict[str, Any]:
    from psycopg.types.json import Jsonb

    a = p.artifact
    has_vector = p.vector is not None
    return {
        "artifact_id": a.artifact_id,
        "artifact_type": a.artifact_type,
        "version": a.version,
        "title": a.title,
        "summary": a.summary,
        "language": a.language,
        "tags": list(a.tags),
        "body": Jsonb(a.model_dump(mode="json", exclude_none=True)),
        "raw_text": p.raw_text,
        "content_sha256": p.content_sha256,
        "source": source,
        "source_path": p.source_path,
        "search_text": p.search_text,
        "embedding": p.vector if has_vector else None,
        "embedding_model": model_id if has_vector else None,
        "embedding_sha256": p.embedding_sha256 if has_vector else None,
    }


async def import_artifacts(
    core: Core, folder: Path | str | None = None, *, prune: bool = True
) -> ImportReport:
    """Sync the artifact files under `folder` (default: `settings.knowledge_dir`, else the shipped knowledge
    base) into the database.

    Upserts by `artifact_id`; files whose text did not change are skipped, and only artifacts whose
    embedding text changed are embedded again. Replaced and (with `prune`) removed curated artifacts go to
    the history table. Validation happens first and the writes run in one transaction: a broken artifact
    imports nothing.
    """
    started = time.perf_counter()
    folder = Path(folder) if folder is not None else knowledge_folder(core.settings)
    # Only reads and parses files: safe to abandon, so a shutdown does not wait for it.
    files: list[ArtifactFile] = await anyio.to_thread.run_sync(
        load_artifact_records, folder, abandon_on_cancel=True
    )
    prepared = [_prepare(core, f.artifact, f.raw_text, f.path.relative_to(folder).as_posix()) for f in files]
    database = await core.database()
    async with database.pool.connection() as conn:
        before = await _existing(conn)
    model_id = await _embed_missing(core, prepared, before)

    async with database.pool.connection() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_IMPORT_LOCK,))
        existing = await _existing(conn, lock=True)
        late = [
            p
            for p in prepared
            if p.vector is None
            and existing.get(p.artifact.artifact_id, ("", "", ""))[1] != p.embedding_sha256
        ]
        if late:  # another process changed these between our read and the lock: embed them now
            model_id = await _embed_missing(core, late, {})
        inserted = updated = unchanged = embedded = 0
        changed_ids: list[str] = []
        for p in prepared:
            artifact_id = p.artifact.artifact_id
            old = existing.get(artifact_id)
            if p.vector is not None:
                embedded += 1
            if old is None:
                inserted += 1
                changed_ids.append(artifact_id)
            elif old[0] != p.content_sha256 or old[2] != "curated":
                updated += 1
                changed_ids.append(artifact_id)
                await conn.execute(_TO_HISTORY, ("updated", [artifact_id]))
            elif p.vector is None:
                unchanged += 1
                continue
            # (same text but a new embedding, e.g. another model: only the vector changes)
            await conn.execute(_UPSERT, _row(p, "curated", model_id))
        removed_ids: list[str] = []
        if prune:
            present = {p.artifact.artifact_id for p in prepared}
            removed_ids = sorted(i for i, old in existing.items() if old[2] == "curated" and i not in present)
            if removed_ids:
                await conn.execute(_TO_HISTORY, ("removed", removed_ids))
                await conn.execute(
                    "DELETE FROM knowledge_artifacts WHERE artifact_id = ANY(%s)", (removed_ids,)
                )
    report = ImportReport(
        folder=str(folder),
        artifacts=len(prepared),
        inserted=inserted,
        updated=updated,
        unchanged=unchanged,
        removed=len(removed_ids),
        embedded=embedded,
        seconds=round(time.perf_counter() - started, 3),
        changed_ids=changed_ids + removed_ids,
    )
    logger.info(
        "knowledge import: %d artifacts, %d new, %d updated, %d removed, %d embedded in %.2fs",
        report.artifacts,
        report.inserted,
        report.updated,
        report.removed,
        report.embedded,
        report.seconds,
    )
    return report


async def _embed_missing(
    core: Core, prepared: list[_Prepared], existing: dict[str, tuple[str, str, str]]
) -> str | None:
    """Embed the artifacts whose embedding text (or model) differs from what the database holds."""
    todo = [
        p for p in prepared if existing.get(p.artifact.artifact_id, ("", "", ""))[1] != p.embedding_sha256
    ]
    if not todo:
        return None
    model_id, vectors = await _embed(core, [p.embedding_text for p in todo])
    for p, vector in zip(todo, vectors, strict=True):
        p.vector = vector
    return model_id


async def save_learned_artifact(core: Core, artifact: Artifact) -> ArtifactSummary:
    """Store (or replace) an artifact learned at run time, e.g. a rule `ask_agent` derived from answers.

    Learned artifacts are searchable at once, survive file imports, and are written to
    `knowledge_base/learned/` by `kb export-learned` for a person to review and promote.
    """
    artifact = parse_artifact(artifact.model_dump(mode="json"))  # re-validate (callers may mutate)
    p = _prepare(core, artifact, artifact_json(artifact), None)
    database = await core.database()
    async with database.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT source, embedding_sha256 FROM knowledge_artifacts WHERE artifact_id = %s",
            (artifact.artifact_id,),
        )
        row = await cur.fetchone()
    if row is not None and row[0] == "curated":
        raise InvalidInput(
            f"{artifact.artifact_id!r} is a curated artifact (from the knowledge base files): "
            "give the learned artifact another artifact_id"
        )
    model_id = None
    if row is None or row[1] != p.embedding_sha256:
        model_id, vectors = await _embed(core, [p.embedding_text])
        p.vector = vectors[0]
    async with database.pool.connection() as conn, conn.transaction():
        if row is not None:
            await conn.execute(_TO_HISTORY, ("updated", [artifact.artifact_id]))
        await conn.execute(_UPSERT, _row(p, "learned", model_id))
    return _summary_from(artifact, "learned", 0, 0.5)


# --- reading -----------------------------------------------------------------------------------------


def _check_type(artifact_type: str | None) -> None:
    if artifact_type is not None and artifact_type not in ARTIFACT_TYPES:
        raise InvalidInput(f"unknown artifact_type {artifact_type!r}: use one of {', '.join(ARTIFACT_TYPES)}")


async def list_artifacts(core: Core, artifact_type: str | None = None) -> list[Artifact]:
    """Every artifact in the database (curated and learned), optionally of one type, ordered by id."""
    _check_type(artifact_type)
    database = await core.database()
    async with database.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT body FROM knowledge_artifacts WHERE (%(t)s::text IS NULL OR artifact_type = %(t)s) "
            "ORDER BY artifact_type, artifact_id",
            {"t": artifact_type},
        )
        return [parse_artifact(row[0]) for row in await cur.fetchall()]


async def get_artifact(core: Core, artifact_type: str, artifact_id: str) -> Artifact:
    """One artifact; `NotFound` when there is none of that type and id."""
    _check_type(artifact_type)
    database = await core.database()
    async with database.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT body FROM knowledge_artifacts WHERE artifact_type = %s AND artifact_id = %s",
            (artifact_type, artifact_id),
        )
        row = await cur.fetchone()
    if row is None:
        raise NotFound(
            f"no {artifact_type} artifact {artifact_id!r}: read knowledge://artifacts for the list "
            "(or run `singularity-mcp kb import` if the file was just added)"
        )
    return parse_artifact(row[0])


def curated_summaries(folder: Path) -> list[ArtifactSummary]:
    """The summaries of the artifacts in `folder` as the files have them (no usage yet): what a listing
    shows while the database is not ready."""
    return [_summary_from(a, "curated", 0, 0.5) for a in load_artifact_files(folder)]


def _summary_from(artifact: Artifact, source: str, usage: int, rate: float) -> ArtifactSummary:
    return ArtifactSummary(
        artifact_id=artifact.artifact_id,
        artifact_type=artifact.artifact_type,
        title=artifact.title,
        summary=artifact.summary,
        language=artifact.language,
        tags=list(artifact.tags),
        version=artifact.version,
        uri=artifact.uri,
        source=source,
        usage_count=usage,
        success_rate=rate,
    )


async def list_summaries(core: Core, artifact_type: str | None = None) -> list[ArtifactSummary]:
    """The artifacts without their content, with usage figures (what `knowledge://artifacts` shows)."""
    _check_type(artifact_type)
    database = await core.database()
    async with database.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT artifact_id, artifact_type, title, summary, language, tags, version, source, "
            f"usage_count, {SUCCESS_RATE_SQL} FROM knowledge_artifacts "
            "WHERE (%(t)s::text IS NULL OR artifact_type = %(t)s) ORDER BY artifact_type, artifact_id",
            {"t": artifact_type},
        )
        rows = await cur.fetchall()
    return [
        ArtifactSummary(
            artifact_id=r[0],
            artifact_type=r[1],
            title=r[2],
            summary=r[3],
            language=r[4],
            tags=list(r[5]),
            version=r[6],
            uri=f"knowledge://{r[1]}/{r[0]}",
            source=r[7],
            usage_count=r[8],
            success_rate=round(float(r[9]), 4),
        )
        for r in rows
    ]


# --- usage and feedback --------------------------------------------------------------------------------

_FIGURES = f"artifact_id, usage_count, success_count, failure_count, {SUCCESS_RATE_SQL}, last_used_at"


def _figures(row: tuple) -> UsageFigures:
    return UsageFigures(
        artifact_id=row[0],
        usage_count=row[1],
        success_count=row[2],
        failure_count=row[3],
        success_rate=round(float(row[4]), 4),
        last_used_at=row[5],
    )


async def record_usage(core: Core, artifact_ids: list[str]) -> list[UsageFigures]:
    """Count one use of each artifact (ask_agent / plan_task call this for what they drew on).

    Unknown ids are ignored (a caller may cite an artifact read from files that is not imported yet).
    """
    ids = sorted({i for i in artifact_ids if i})
    if not ids:
        return []
    database = await core.database()
    async with database.pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "UPDATE knowledge_artifacts SET usage_count = usage_count + 1, last_used_at = now() "
            f"WHERE artifact_id = ANY(%s) RETURNING {_FIGURES}",
            (ids,),
        )
        return [_figures(row) for row in await cur.fetchall()]


async def record_artifact_feedback(core: Core, artifact_id: str, success: bool) -> UsageFigures:
    """Record whether using an artifact worked; returns the updated figures (`NotFound` if unknown)."""
    if not artifact_id or not artifact_id.strip():
        raise InvalidInput("artifact_id is empty: pass the id of a knowledge artifact")
    column = "success_count" if success else "failure_count"
    database = await core.database()
    async with database.pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            f"UPDATE knowledge_artifacts SET {column} = {column} + 1, last_used_at = now() "
            f"WHERE artifact_id = %s RETURNING {_FIGURES}",
            (artifact_id.strip(),),
        )
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no knowledge artifact {artifact_id!r}: read knowledge://artifacts for the ids")
    return _figures(row)


async def usage_figures(core: Core, artifact_id: str) -> UsageFigures:
    database = await core.database()
    async with database.pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_FIGURES} FROM knowledge_artifacts WHERE artifact_id = %s", (artifact_id,)
        )
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no knowledge artifact {artifact_id!r}: read knowledge://artifacts for the ids")
    return _figures(row)


# --- export ---------------------------------------------------------------------------------------------


async def export_learned(
    core: Core,
    folder: Path | str | None = None,
    *,
    min_uses: int = 3,
    min_success_rate: float = 0.6,
    include_all: bool = False,
) -> ExportReport:
    """Write learned artifacts that pass the thresholds to `folder` (default `knowledge_base/learned/`).

    Files are `<folder>/<artifact_type>/<artifact_id>.json`, valid artifacts with a `provenance` block;
    a person reviews them and promotes one by moving it into the matching type folder.
    """
    target = Path(folder) if folder is not None else knowledge_folder(core.settings) / "learned"
    database = await core.database()
    async with database.pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT body, usage_count, {SUCCESS_RATE_SQL}, created_at, success_count + failure_count "
            "FROM knowledge_artifacts WHERE source = 'learned' ORDER BY artifact_id"
        )
        rows = await cur.fetchall()
    written: list[str] = []
    skipped = 0
    for body, usage, rate, created_at, _feedback in rows:
        rate = float(rate)
        if not include_all and (usage < min_uses or rate < min_success_rate):
            skipped += 1
            continue
        artifact = parse_artifact(body)
        artifact.provenance = Provenance(
            origin="learned", created_at=created_at, usage_count=usage, success_rate=round(rate, 4)
        )
        path = target / artifact.artifact_type / f"{artifact.artifact_id}.json"
        text = artifact_json(artifact)
        await anyio.to_thread.run_sync(_write, path, text)
        written.append(str(path))
    return ExportReport(folder=str(target), written=written, skipped=skipped)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
