"""One model's vectors per database: columns sized by the manifest, another model refused or switched
explicitly, never mixed. Each test gets a fresh database of its own (`fresh_url`, on the session's
embedded PostgreSQL: a CREATE DATABASE where a cluster of its own took an initdb and a start each time)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from mcp import Client
from psycopg_pool import AsyncConnectionPool

from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.db import Database, apply_migrations
from singularity_mcp.embedding import Embedder, embed_cached, ensure_space, switch_to_configured
from singularity_mcp.errors import NotConfigured
from singularity_mcp.paths import data_path
from singularity_mcp.search import index_repository, search_code
from singularity_mcp.server import build_server
from tests.conftest import make_settings
from tests.embedding.test_build import HIDDEN, _tiny_bert
from tests.embedding.test_cli import _cli
from tests.knowledge.conftest import fresh_database_url

pytestmark = pytest.mark.anyio

MINILM = "all-minilm-l6-v2"
FILES = {
    "shipping.py": """
        def compute_shipping_cost(weight_kg: float) -> float:
            \"\"\"Price a parcel by weight.\"\"\"
            return round(weight_kg * 4.5, 2)
        """,
    "carousel.js": """
        export function rotateCarouselSlides(slides, intervalMs) {
          return setInterval(() => slides.push(slides.shift()), intervalMs);
        }
        """,
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    return root.resolve()


@pytest.fixture
async def fresh_url(database: Database) -> str:
    """A new, empty database on the session's PostgreSQL server: its connection string."""
    return await fresh_database_url(database)


@pytest.fixture
def tiny_manifest(tmp_path: Path, settings: Settings, embedder: Embedder, fresh_url: str) -> Any:
    """Write manifests for random BERT checkpoints of HIDDEN (32) dimensions; return a settings maker (on
    the test's `fresh_url` database)."""
    folder = tmp_path / "checkpoint"
    _tiny_bert(folder, settings.models_dir / MINILM / "weights" / "tokenizer.json")

    def make(name: str, data_dir: Path) -> Settings:
        manifest = tmp_path / f"{name}.toml"
        manifest.write_text(
            f'name = "{name}"\ndimensions = {HIDDEN}\nmax_tokens = 48\n[weights]\nsource = "local"\n'
        )
        return make_settings(
            data_dir,
            database_url=fresh_url,
            model=str(manifest),
            model_weights=folder,
            model_dir=tmp_path / "models",
        )

    return make


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Core]:
    async with asynccontextmanager(Core(settings).run)() as core:
        yield core


async def fetch(core: Core, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    database = await core.database()
    async with database.pool.connection() as conn:
        cur = await conn.execute(sql, params or None)
        return await cur.fetchall()


async def column_types(core: Core) -> set[str]:
    rows = await fetch(
        core,
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attname = 'embedding' "
        "AND attrelid = ANY('{embedding_cache,code_chunks,knowledge_artifacts,agent_cache}'::regclass[])",
    )
    return {row[0] for row in rows}


async def test_a_manifest_of_another_dimension_works_end_to_end(
    tmp_path: Path, repo: Path, tiny_manifest: Any
) -> None:
    settings = tiny_manifest("tiny-bert", tmp_path / "data")
    async with Client(build_server(settings)) as client:
        indexed = await client.call_tool("index_codebase", {"path": str(repo)})
        assert not indexed.is_error, indexed.content[0].text
        found = await client.call_tool(
            "semantic_search", {"query": "compute_shipping_cost", "scope": "code", "path": str(repo)}
        )
        assert not found.is_error, found.content[0].text
        hits = found.structured_content["results"]
        assert hits and hits[0]["path"].endswith("shipping.py")
    async with running(settings) as core:
        assert await column_types(core) == {f"halfvec({HIDDEN})"}
        assert await fetch(core, "SELECT model_id, dimensions FROM embedding_space") == [
            ("tiny-bert", HIDDEN)
        ]
        [(chunks, embedded)] = await fetch(core, "SELECT count(*), count(embedding) FROM code_chunks")
        assert chunks >= 2 and embedded == chunks  # the dense side ran, with 32-dimension vectors
        [(dims,)] = await fetch(core, "SELECT DISTINCT vector_dims(embedding::vector) FROM code_chunks")
        assert dims == HIDDEN


async def test_switching_model_re_embeds_and_never_mixes(
    tmp_path: Path, repo: Path, tiny_manifest: Any, fresh_url: str
) -> None:
    data_dir = tmp_path / "data"
    minilm, tiny = make_settings(data_dir, database_url=fresh_url), tiny_manifest("tiny-bert", data_dir)
    async with running(minilm) as core:
        database = await core.database()
        await index_repository(database.pool, repo, core.embedder)
        [(chunks,)] = await fetch(core, "SELECT count(embedding) FROM code_chunks")
        assert chunks >= 2
        assert await column_types(core) == {"halfvec(384)"}

    async with running(tiny) as core:
        # another model is refused, with the ways out, before it writes or compares anything
        with pytest.raises(
            NotConfigured, match=r"holds vectors of embedding model all-minilm-l6-v2.*model switch"
        ):
            await core.embedder()
        database = await core.database()
        with pytest.raises(BaseException) as refused:  # (raised inside the search's task group)
            await search_code(database.pool, core.embedder, "compute_shipping_cost", path=repo)
        assert isinstance(refused.value, NotConfigured) or refused.group_contains(
            NotConfigured, match="holds vectors of embedding model all-minilm-l6-v2"
        )
        assert await fetch(core, "SELECT count(embedding) FROM code_chunks") == [(chunks,)]  # untouched

        report = await switch_to_configured(database.pool, tiny)
        assert report.previous is not None and report.previous.model_id == MINILM
        assert (report.current.model_id, report.current.dimensions) == ("tiny-bert", HIDDEN)
        assert report.code_chunks == chunks and report.embedding_cache >= chunks
        assert await column_types(core) == {f"halfvec({HIDDEN})"}
        assert await fetch(core, "SELECT count(embedding) FROM code_chunks") == [(0,)]

        await index_repository(database.pool, repo, core.embedder)  # embeds everything again
        assert await fetch(core, "SELECT count(*) = count(embedding) FROM code_chunks") == [(True,)]
        assert await fetch(core, "SELECT DISTINCT model_id FROM embedding_cache") == [("tiny-bert",)]
        assert await fetch(core, "SELECT DISTINCT embedding_model FROM code_roots") == [("tiny-bert",)]
        result = await search_code(database.pool, core.embedder, "compute_shipping_cost", path=repo)
        assert result.results and result.results[0].path.endswith("shipping.py")


async def test_a_process_left_on_the_old_model_cannot_write(tmp_path: Path, tiny_manifest: Any) -> None:
    """Two processes on one data dir: B switches the database while A runs; A's next write is refused
    by the database itself (A's own check passed before the switch)."""
    data_dir = tmp_path / "data"
    old, new = tiny_manifest("tiny-a", data_dir), tiny_manifest("tiny-b", data_dir)
    async with running(old) as a, running(new) as b:
        a_pool = (await a.database()).pool
        await embed_cached(a_pool, await a.embedder(), ["written by A under its own model"])
        await switch_to_configured((await b.database()).pool, new)
        assert [e.model_id for e in [await b.embedder()]] == ["tiny-b"]
        with pytest.raises(
            psycopg.Error, match="holds vectors of embedding model tiny-b, this process embeds with tiny-a"
        ) as caught:
            await embed_cached(a_pool, await a.embedder(), ["written by A after the switch"])
        assert caught.value.sqlstate == "SG001"
        assert await fetch(b, "SELECT DISTINCT model_id FROM embedding_cache") == []


async def test_a_database_built_before_0008_keeps_its_vectors(tmp_path: Path, fresh_url: str) -> None:
    """A pre-0008 database (vector(384) columns, MiniLM vectors) is converted in place, keeps its
    vectors, is claimed by MiniLM without re-embedding, and refuses another model."""
    old_sql = tmp_path / "sql"
    old_sql.mkdir()
    for path in sorted(data_path("sql").glob("000[1-6]_*.sql")):
        (old_sql / path.name).write_text(path.read_text())
    url = fresh_url
    vector = np.random.default_rng(3).standard_normal(384).astype(np.float32)
    vector /= np.linalg.norm(vector)
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await apply_migrations(conn, old_sql)
        await conn.execute("INSERT INTO code_roots (path, embedding_model) VALUES ('/r', %s)", (MINILM,))
        await conn.execute(
            "INSERT INTO code_files (root_id, rel_path, size, mtime_ns, content_sha256) "
            "VALUES (1, 'a.py', 1, 1, '')"
        )
        await conn.execute(
            "INSERT INTO code_chunks (file_id, root_id, rel_path, start_line, end_line, kind, content, "
            "embed_sha256, embedding) VALUES (1, 1, 'a.py', 1, 1, 'function', 'x', '', %s::vector)",
            (str(vector.tolist()),),
        )
        assert "0008_embedding_space" in await apply_migrations(conn)
        cur = await conn.execute("SELECT embedding::vector::text FROM code_chunks")
        kept = np.array(json.loads((await cur.fetchone())[0]), dtype=np.float32)
    np.testing.assert_allclose(kept, vector, atol=1e-3)  # half precision, same vector

    async with AsyncConnectionPool(url, open=False) as pool:
        with pytest.raises(NotConfigured, match="holds vectors of embedding model all-minilm-l6-v2"):
            await ensure_space(pool, "another-model", 384)
        claimed = await ensure_space(pool, MINILM, 384)
        assert (claimed.model_id, claimed.dimensions) == (MINILM, 384)
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT count(embedding) FROM code_chunks")
            assert (await cur.fetchone())[0] == 1  # claimed without clearing anything


async def test_model_switch_from_the_cli(tmp_path: Path, tiny_manifest: Any, fresh_url: str) -> None:
    data_dir = tmp_path / "data"
    minilm, tiny = make_settings(data_dir, database_url=fresh_url), tiny_manifest("tiny-bert", data_dir)
    async with running(minilm) as core:
        await embed_cached((await core.database()).pool, await core.embedder(), ["claimed by MiniLM"])
    result = _cli(tiny, "model", "switch", "--json", SINGULARITY_MODEL=tiny.model)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["previous"] == {"model_id": MINILM, "dimensions": 384}
    assert report["current"] == {"model_id": "tiny-bert", "dimensions": HIDDEN}
    assert report["embedding_cache"] >= 1
    async with running(tiny) as core:  # the tiny model is now the database's own
        assert (await core.embedder()).model_id == "tiny-bert"
        assert await column_types(core) == {f"halfvec({HIDDEN})"}
