"""The embedding cache in the real embedded PostgreSQL: hits, in-call dedupe, concurrent dedupe."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import anyio
import numpy as np
import pytest

from singularity_mcp.db import Database
from singularity_mcp.embedding import Embedder, embed_cached
from singularity_mcp.embedding._cache import half_precision, text_digest
from singularity_mcp.errors import NotConfigured

pytestmark = pytest.mark.anyio


class _Recording:
    """Records every text the embedder is asked to compute (delegates to the real one)."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self.model_id = inner.model_id
        self.dimensions = inner.dimensions
        self.computed: list[str] = []

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.computed.extend(texts)
        await anyio.sleep(0.05)  # let concurrent callers overlap
        return await self._inner.embed(texts)


async def test_miss_then_hit(database: Database, embedder: Embedder) -> None:
    unique = f"def handler_{uuid.uuid4().hex}(request): return 200"
    texts = [unique, "parse a date string", unique]
    recording = _Recording(embedder)
    first = await embed_cached(database.pool, recording, texts)  # type: ignore[arg-type]
    assert recording.computed.count(unique) == 1  # duplicates in one call: embedded once
    # stored as halfvec, and fresh vectors are rounded the same way (within one fp16 step of a direct run)
    np.testing.assert_allclose(first, half_precision(embedder.embed_sync(texts)), atol=5e-4)
    np.testing.assert_array_equal(first, half_precision(first))

    recording.computed.clear()
    second = await embed_cached(database.pool, recording, texts)  # type: ignore[arg-type]
    assert recording.computed == []  # all from the cache
    np.testing.assert_array_equal(first, second)

    async with database.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM embedding_cache WHERE model_id = %s AND text_sha256 = %s",
            (embedder.model_id, text_digest(unique)),
        )
        assert (await cur.fetchone())[0] == 1


async def test_concurrent_calls_embed_a_text_once(database: Database, embedder: Embedder) -> None:
    shared = [f"shared chunk {uuid.uuid4().hex} {i}" for i in range(5)]
    recording = _Recording(embedder)
    results: list[np.ndarray] = []

    async def call(extra: str) -> None:
        results.append(await embed_cached(database.pool, recording, [*shared, extra]))  # type: ignore[arg-type]

    async with anyio.create_task_group() as tg:
        for i in range(4):
            tg.start_soon(call, f"own text {uuid.uuid4().hex} {i}")
    for text in shared:
        assert recording.computed.count(text) == 1
    assert len(recording.computed) == len(shared) + 4
    for result in results[1:]:
        np.testing.assert_array_equal(result[: len(shared)], results[0][: len(shared)])


async def test_another_model_is_refused_not_served_this_models_vectors(
    database: Database, embedder: Embedder
) -> None:
    text = f"model isolation {uuid.uuid4().hex}"
    await embed_cached(database.pool, embedder, [text])
    other = _Recording(embedder)
    other.model_id = "some-other-model"
    with pytest.raises(NotConfigured, match="holds vectors of embedding model all-minilm-l6-v2"):
        await embed_cached(database.pool, other, [text])  # type: ignore[arg-type]
    assert other.computed == []  # neither served the cached vector nor computed and stored one
    async with database.pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM embedding_cache WHERE model_id = 'some-other-model'")
        assert (await cur.fetchone())[0] == 0


async def test_empty_input(database: Database, embedder: Embedder) -> None:
    assert (await embed_cached(database.pool, embedder, [])).shape == (0, 384)
