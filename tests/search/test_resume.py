"""Interrupted runs (kill -9) leave a consistent index that the next run resumes; search works during
the dense fill-in."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from mcp.client.session import ClientSession

from singularity_mcp.analysis import chunk_source
from singularity_mcp.config import Settings
from singularity_mcp.db import Database
from tests.conftest import REPO_ROOT, server_env
from tests.search.test_tools import call

pytestmark = pytest.mark.anyio

WORDS = [
    "account",
    "balance",
    "cache",
    "config",
    "customer",
    "decode",
    "encode",
    "export",
    "filter",
    "format",
    "graph",
    "header",
    "import",
    "index",
    "inventory",
    "ledger",
    "merge",
    "order",
    "parse",
    "payment",
    "queue",
    "render",
    "report",
    "request",
    "schedule",
    "session",
    "shipment",
    "sort",
    "stream",
    "template",
    "token",
    "upload",
    "user",
    "validate",
    "widget",
]


def make_big_repo(root: Path, tag: str, files: int, functions: int = 4) -> int:
    """Files of small Python functions (distinct text per `tag`, so the embedding cache cannot help).
    Return the number of chunks the indexer will store."""
    rng = random.Random(tag)
    chunks = 0
    for i in range(files):
        parts = []
        for j in range(functions):
            words = rng.sample(WORDS, 6)
            body = "\n".join(f"    {w}_{k} = {k} * {tag}_{i}_{j}" for k, w in enumerate(words))
            parts.append(f"def {words[0]}_{words[1]}_{tag}_{i}_{j}(value):\n{body}\n    return value\n")
        text = "\n\n".join(parts)
        path = root / f"pkg{i % 12}" / f"module_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        chunks += len(chunk_source(text, "python", str(path)))
    return chunks


async def _root_state(database: Database, root: Path) -> tuple[str, int, int, int]:
    async with database.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT r.state, (SELECT count(*) FROM code_files f WHERE f.root_id = r.id), "
            "(SELECT count(*) FROM code_files f WHERE f.root_id = r.id AND NOT EXISTS "
            "   (SELECT 1 FROM code_chunks c WHERE c.file_id = f.id)), "
            "(SELECT count(*) FROM code_chunks c WHERE c.root_id = r.id AND c.embedding IS NOT NULL) "
            "FROM code_roots r WHERE r.path = %s",
            (str(root),),
        )
        row = await cur.fetchone()
    return row if row else ("absent", 0, 0, 0)


KILLED_FILES = 96  # two lexical batches (FILE_BATCH = 48): the kill lands after the first is committed


async def test_kill_9_during_indexing_then_resume(
    client: ClientSession, settings: Settings, search_env: dict[str, str], database: Database, tmp_path: Path
) -> None:
    root = tmp_path / "big"
    expected_chunks = make_big_repo(root, "killed", files=KILLED_FILES, functions=1)
    process = await anyio.open_process(
        [sys.executable, "-m", "singularity_mcp", "index", str(root), "--json"],
        env=server_env(settings, **search_env),
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state, files, _, _ = await _root_state(database, root)
            if files >= 48:  # at least one batch committed
                break
            assert process.returncode is None, "the indexer exited before it could be interrupted"
            await anyio.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        with anyio.fail_after(10):
            await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
    state, files_at_kill, files_without_chunks, _ = await _root_state(database, root)
    assert state == "indexing"  # killed mid-run
    assert files_at_kill > 0 and files_without_chunks == 0  # every stored file has its chunks

    status = await call(client, "index_status", path=str(root))
    assert status["roots"][0]["state"] == "indexing" and not status["roots"][0]["running_here"]

    resumed = await call(client, "index_codebase", path=str(root), wait_s=300)
    assert resumed["status"] == "done"
    assert resumed["files_unchanged"] >= files_at_kill  # committed files were not parsed again
    assert resumed["files_indexed"] + resumed["files_unchanged"] == KILLED_FILES
    assert resumed["chunks"] == expected_chunks
    state, files, files_without_chunks, embedded = await _root_state(database, root)
    assert (state, files, files_without_chunks, embedded) == ("ready", KILLED_FILES, 0, expected_chunks)


async def test_search_works_during_dense_fill_in(client: ClientSession, tmp_path: Path) -> None:
    root = tmp_path / "filling"
    make_big_repo(root, "filling", files=100, functions=3)  # 300 chunks: three embedding batches
    started = await call(client, "index_codebase", path=str(root), wait_s=0)
    assert started["status"] == "running" and "index_status" in started["hint"]
    searched_during_fill = False
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = (await call(client, "index_status", path=str(root)))["roots"][0]
        progress = status["progress"]
        if status["state"] == "ready":
            break
        if (
            progress
            and progress["phase"] == "dense"
            and progress["chunks_embedded"] < progress["chunks_total"]
        ):
            data = await call(
                client, "semantic_search", query="filling_73_2", scope="code", path=str(root), top_k=3
            )
            top = data["results"][0]
            assert top["path"].endswith("module_73.py") and top["symbol"].endswith("_filling_73_2")
            assert data["dense_coverage"] is not None and data["dense_coverage"] < 1.0
            searched_during_fill = True
            break
        await anyio.sleep(0.05)
    assert searched_during_fill, "the dense phase ended before a search could run during it"
