"""The incremental indexer: scan, then lexical (parse + store, search works), then dense (fill vectors).

Each batch of files is written in one transaction, file row and chunks together, so an interrupted run
(Ctrl-C, kill -9) leaves a consistent index; the next run sees those files as unchanged and resumes with
the rest, then fills the vectors still missing.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
from psycopg_pool import AsyncConnectionPool

from singularity_mcp._rows import one_row
from singularity_mcp.errors import Unavailable
from singularity_mcp.search import _store
from singularity_mcp.search._files import PreparedFile, embedding_text, name_text, prepare_file
from singularity_mcp.search._rates import (
    EMBED_BYTES_CAP,
    IndexRates,
    MachineRates,
    RunMeasurement,
    live_eta,
    load_rates,
    save_rates,
)
from singularity_mcp.search._walk import FoundFile, walk_root
from singularity_mcp.search.models import IndexProgress, IndexResult, PreflightSummary

if TYPE_CHECKING:
    import numpy as np

    from singularity_mcp.embedding import Embedder, TextEmbedder

logger = logging.getLogger(__name__)

FILE_BATCH = 48
EMBED_BATCH = 128

EmbedderFactory = Callable[[], Awaitable["Embedder"]]


@dataclass(eq=False)
class IndexRun:
    """One run over one root: its live progress, and an event per change for watchers."""

    root: Path
    force: bool = False
    started: float = field(default_factory=time.monotonic)
    progress: IndexProgress = field(default_factory=lambda: IndexProgress(phase="scan"))
    preflight: PreflightSummary | None = None
    result: IndexResult | None = None
    files_indexed: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    files_skipped: int = 0
    vectors_filled: int = 0
    machine: MachineRates = field(default_factory=MachineRates)
    """What earlier runs measured on this machine (this run's figures are added when it ends)."""
    rates: IndexRates = field(default_factory=IndexRates)
    """The machine's rates at the CPU share its recent runs got."""
    measured: RunMeasurement = field(default_factory=RunMeasurement)
    finished: anyio.Event = field(default_factory=anyio.Event)
    _changed: anyio.Event = field(default_factory=anyio.Event)

    def update(self, **changes: object) -> None:
        progress = self.progress.model_copy(update=changes)
        if progress.phase == "dense":
            pending = max(0, progress.chunks_total - progress.chunks_embedded)
        else:
            pending = self.measured.pending_before + progress.chunks_total
        eta = live_eta(self.rates, self.measured, phase=progress.phase, chunks_pending=pending)
        self.progress = progress.model_copy(update={"eta_seconds": eta})
        self._changed.set()
        self._changed = anyio.Event()

    async def wait_change(self, seconds: float) -> None:
        with anyio.move_on_after(seconds):
            await self._changed.wait()

    def snapshot(self, status: str | None = None) -> IndexResult:
        """The result so far (or the final one)."""
        if self.result is not None:
            return self.result
        return IndexResult(
            status=status or "running",
            repo=str(self.root),
            files_indexed=self.files_indexed,
            files_unchanged=self.files_unchanged,
            files_removed=self.files_removed,
            files_skipped=self.files_skipped,
            vectors_filled=self.vectors_filled,
            chunks=self.progress.chunks_total,
            seconds=round(time.monotonic() - self.started, 3),
            progress=self.progress,
            preflight=self.preflight,
            hint="indexing continues in the background; call index_status to follow it. "
            "semantic_search already works on what is indexed.",
        )


class CodeIndexer:
    """Runs index jobs, at most one per root (a second request joins the running one)."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        embedder: EmbedderFactory,
        rates_path: Path | None = None,
    ) -> None:
        self.pool = pool
        self.embedder = embedder
        self.rates_path = rates_path
        """Where this machine's measured index rates are kept (None: defaults, nothing learned)."""
        self.runs: dict[Path, IndexRun] = {}

    def running(self, root: Path) -> IndexRun | None:
        run = self.runs.get(root)
        return run if run is not None and not run.finished.is_set() else None

    def begin(self, root: Path, force: bool = False) -> tuple[IndexRun, bool]:
        """The run for `root`: the one in progress (joined, False) or a new one to execute (True)."""
        current = self.running(root)
        if current is not None:
            return current, False
        machine = load_rates(self.rates_path)
        run = IndexRun(root=root, force=force, machine=machine, rates=machine.at())
        self.runs[root] = run
        return run, True

    async def execute(self, run: IndexRun) -> IndexResult:
        """Do the work of `run`; always ends with `run.result` set and `run.finished` signalled."""
        try:
            run.result = await index_repository(self.pool, run.root, self.embedder, force=run.force, run=run)
        except BaseException as exc:
            run.update(phase="failed", message=str(exc) or type(exc).__name__)
            run.result = run.snapshot("failed").model_copy(
                update={"status": "failed", "error": str(exc) or type(exc).__name__, "hint": None}
            )
            raise
        finally:
            run.finished.set()
            run.update()
        learned = run.machine.learn(run.measured)
        if learned != run.machine:
            await anyio.to_thread.run_sync(save_rates, self.rates_path, learned)
        return run.result

    async def index(self, root: Path, force: bool = False) -> IndexResult:
        """Index `root` now (joining a run in progress) and return the final result."""
        run, new = self.begin(root, force)
        if new:
            return await self.execute(run)
        await run.finished.wait()
        assert run.result is not None
        return run.result


@contextlib.asynccontextmanager
async def _root_lock(pool: AsyncConnectionPool, root_id: int, path: str):
    """Hold the cross-process advisory lock of a root for the duration of a run."""
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (_store.ADVISORY_CLASS, root_id))
        if not (await one_row(cur))[0]:
            raise Unavailable(
                f"another singularity-mcp process is indexing {path} right now; "
                "call index_status to follow it, or retry when it finishes",
                cli=f"another singularity-mcp process is indexing {path} right now; retry when it finishes",
            )
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                await conn.execute("SELECT pg_advisory_unlock(%s, %s)", (_store.ADVISORY_CLASS, root_id))


async def index_repository(
    pool: AsyncConnectionPool,
    root: Path,
    embedder: EmbedderFactory,
    *,
    force: bool = False,
    run: IndexRun | None = None,
) -> IndexResult:
    """Index (or refresh) the folder `root` (absolute, resolved) and return what was done."""
    run = run or IndexRun(root=root, force=force)
    row = await _store.ensure_root(pool, str(root))
    async with _root_lock(pool, row.id, str(root)):
        await _store.set_root(pool, row.id, state="indexing", phase="scan", last_error=None)
        try:
            changed = await _lexical_phase(pool, row.id, root, run, force)
            chunks = row.chunks
            if changed or force or row.state != "ready":
                chunks = await _store.refresh_root_stats(pool, row.id)
            run.update(phase="dense", chunks_total=chunks)
            await _store.set_root(pool, row.id, phase="dense")
            await _dense_phase(pool, row, embedder, run)
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                message = str(exc) or type(exc).__name__
                await _store.set_root(pool, row.id, state="failed", phase=None, last_error=message[:2000])
            raise
        await _store.set_root(pool, row.id, state="ready", phase="done")
    run.update(phase="done", message="index up to date")
    return run.snapshot("done").model_copy(update={"status": "done", "hint": None})


def _scan(
    root: Path, known: dict[str, _store.KnownFile], force: bool
) -> tuple[list[FoundFile], int, list[str]]:
    """Files to read (new, or size/mtime changed, or all with force), the unchanged count, removed paths."""
    from singularity_mcp.analysis import detect_language

    to_read: list[FoundFile] = []
    seen: set[str] = set()
    unchanged = 0
    for found in walk_root(root):
        if "." in found.rel_path.rsplit("/", 1)[-1] and detect_language(found.rel_path) is None:
            continue  # an extension no language claims (images, data); extensionless files may have a shebang
        seen.add(found.rel_path)
        old = known.get(found.rel_path)
        if not force and old is not None and old.size == found.size and old.mtime_ns == found.mtime_ns:
            unchanged += 1
        else:
            to_read.append(found)
    removed = [rel for rel in known if rel not in seen]
    return to_read, unchanged, removed


def _preflight(
    to_read: list[FoundFile], unchanged: int, removed: list[str], rates: IndexRates, pending: int
) -> PreflightSummary:
    from singularity_mcp.analysis import detect_language

    languages = Counter(detect_language(f.rel_path) or "other" for f in to_read)
    source_bytes = sum(f.size for f in to_read)
    chunks = pending + rates.chunks_in(source_bytes)
    return PreflightSummary(
        files_seen=len(to_read) + unchanged,
        files_to_index=len(to_read),
        files_unchanged=unchanged,
        files_to_remove=len(removed),
        by_language=dict(languages.most_common()),
        estimated_seconds=round(rates.parse_seconds(source_bytes) + rates.embed_seconds(chunks), 1),
        estimated_parse_seconds=round(rates.parse_seconds(source_bytes), 1),
        estimated_embed_seconds=round(rates.embed_seconds(chunks), 1),
        estimate_basis=rates.basis(),
    )


async def _lexical_phase(
    pool: AsyncConnectionPool, root_id: int, root: Path, run: IndexRun, force: bool
) -> bool:
    """Scan, then parse and store changed files batch by batch; return whether anything changed."""
    known = await _store.known_files(pool, root_id)
    to_read, unchanged, removed = await anyio.to_thread.run_sync(_scan, root, known, force)
    measured = run.measured
    measured.pending_before = await _store.count_pending(pool, [root_id])
    measured.bytes_total = sum(f.size for f in to_read)
    run.preflight = await anyio.to_thread.run_sync(
        _preflight, to_read, unchanged, removed, run.rates, measured.pending_before
    )
    run.files_unchanged = unchanged
    total = len(to_read)
    run.update(phase="lexical", files_total=total, files_done=0, message=describe_preflight(run.preflight))
    await _store.set_root(pool, root_id, phase="lexical", files_total=total, files_done=0)
    changed = bool(removed)
    if removed:
        async with _store.writing(pool, root_id) as conn:
            await _store.delete_files(conn, root_id, removed)
        run.files_removed = len(removed)
    chunks_written = 0
    measured.parse_started = time.monotonic()
    measured.parse_cpu_started = time.process_time()
    for start in range(0, total, FILE_BATCH):
        batch = to_read[start : start + FILE_BATCH]
        prepared = await anyio.to_thread.run_sync(_prepare_batch, root, batch, known, force)
        measured.chunked_bytes += sum(f.size for f in prepared if f.chunks is not None and not f.skipped)
        keep: list[PreparedFile] = []
        gone: list[str] = []
        for f in prepared:
            if f.skipped:
                run.files_skipped += 1
                if f.rel_path in known:
                    gone.append(f.rel_path)
            elif f.chunks is None:
                run.files_unchanged += 1
                keep.append(f)
            else:
                run.files_indexed += 1
                keep.append(f)
        async with _store.writing(pool, root_id) as conn:
            await _store.delete_files(conn, root_id, gone)
            chunks_written += await _store.write_files(conn, root_id, keep)
        changed = changed or bool(gone) or any(f.chunks is not None for f in keep)
        done = min(start + FILE_BATCH, total)
        measured.bytes_done += sum(f.size for f in batch)
        measured.chunks_written = chunks_written
        measured.parse_seconds = time.monotonic() - measured.parse_started
        measured.parse_cpu_seconds = time.process_time() - measured.parse_cpu_started
        run.update(files_done=done, chunks_total=chunks_written, message=f"parsed {done}/{total} files")
        await _store.set_root(pool, root_id, files_done=done)
    return changed


def _prepare_batch(
    root: Path, batch: list[FoundFile], known: dict[str, _store.KnownFile], force: bool
) -> list[PreparedFile]:
    out = []
    for found in batch:
        old = known.get(found.rel_path)
        out.append(prepare_file(root, found.rel_path, old.sha256 if old else None, force))
    return out


async def _dense_phase(
    pool: AsyncConnectionPool, row: _store.RootRow, embedder_factory: EmbedderFactory, run: IndexRun
) -> None:
    """Fill missing vectors batch by batch (through the embedding cache); search works meanwhile."""
    pending = await _store.count_pending(pool, [row.id])
    if pending == 0 and row.embedding_model is not None and not await _store.names_pending(pool, row.id):
        run.update(chunks_embedded=run.progress.chunks_total)
        return
    loading, loading_cpu = time.monotonic(), time.process_time()
    embedder = await embedder_factory()
    if time.monotonic() - loading > 0.2:  # loaded now, not already in memory
        run.measured.model_load_s = time.monotonic() - loading
        run.measured.model_load_cpu_s = time.process_time() - loading_cpu
    counting = _CountingEmbedder(embedder)
    if row.embedding_model != embedder.model_id:
        if row.embedding_model is not None:
            logger.info("%s: embedding model changed to %s, re-embedding", row.path, embedder.model_id)
        await _store.reset_vectors(pool, row.id, embedder.model_id)
        pending = await _store.count_pending(pool, [row.id])
    total = run.progress.chunks_total or pending
    embedded = max(0, total - pending)
    measured = run.measured
    measured.embed_bytes_total = await _store.pending_text_bytes(pool, row.id, EMBED_BYTES_CAP)
    measured.embed_started = time.monotonic()
    measured.embed_cpu_started = time.process_time()
    run.update(chunks_embedded=embedded, message=f"embedding {pending} chunks")
    while True:
        rows = await _store.pending_chunks(pool, row.id, EMBED_BATCH)
        if not rows:
            break
        vectors, names = await embed_rows(pool, counting, embedder, rows)
        await _store.store_vectors(pool, [r[0] for r in rows], vectors, names)
        bodies = [content for *_, content in rows if content is not None]
        embedded += len(bodies)
        run.vectors_filled += len(bodies)
        measured.embed_bytes_done += sum(min(len(content.encode()), EMBED_BYTES_CAP) for content in bodies)
        measured.embedded = run.vectors_filled
        measured.embedded_by_model = counting.embedded
        measured.embed_seconds = time.monotonic() - measured.embed_started
        measured.embed_cpu_seconds = time.process_time() - measured.embed_cpu_started
        run.update(chunks_embedded=min(embedded, total), message=f"embedded {embedded}/{total} chunks")


async def embed_rows(
    pool: AsyncConnectionPool,
    embedder: TextEmbedder,
    name_embedder: TextEmbedder,
    rows: Sequence[tuple[int, str, str | None, str, str | None]],
) -> tuple[list[np.ndarray | None], np.ndarray]:
    """Vectors for `_store.pending_chunks` rows (None where the code's vector is already stored) and
    their name vectors (through `name_embedder`, so a counting `embedder` counts code texts only)."""
    from singularity_mcp.embedding import embed_cached

    todo = [
        (i, embedding_text(rel, symbol, text)) for i, (_, rel, symbol, _, text) in enumerate(rows) if text
    ]
    vectors: list[np.ndarray | None] = [None] * len(rows)
    if todo:
        fresh = await embed_cached(pool, embedder, [t for _, t in todo])
        for (i, _), vector in zip(todo, fresh, strict=True):
            vectors[i] = vector
    # Not through the embedding cache: names are short (about a sixth of the code's embedding time), only
    # a changed chunk needs its name again, and caching them added 0.6 MB per 1,000 chunks to the database.
    names = await name_embedder.embed([name_text(rel, symbol, kind) for _, rel, symbol, kind, _ in rows])
    return vectors, names


class _CountingEmbedder:
    """The embedder, counting the texts it really embeds (the embedding cache answers the others)."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self.embedded = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    @property
    def model_id(self) -> str:
        return self._inner.model_id

    @property
    def dimensions(self) -> int:
        return self._inner.dimensions

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = await self._inner.embed(texts)
        self.embedded += len(texts)
        return vectors


def describe_preflight(preflight: PreflightSummary) -> str:
    languages = ", ".join(f"{n} {lang}" for lang, n in list(preflight.by_language.items())[:6])
    return (
        f"{preflight.files_to_index} files to index ({languages or 'none'}), {preflight.files_unchanged} "
        f"unchanged, {preflight.files_to_remove} removed; about {format_seconds(preflight.estimated_seconds)} "
        f"(parse {format_seconds(preflight.estimated_parse_seconds)}, embed "
        f"{format_seconds(preflight.estimated_embed_seconds)}; {preflight.estimate_basis})"
    )


def format_seconds(seconds: float) -> str:
    """'8 s', '2 min 5 s'."""
    whole = round(seconds)
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60} s"
