"""The runtime: shapes, normalisation, batching invariance, truncation, async batching, bad input."""

from __future__ import annotations

import time

import anyio
import numpy as np
import pytest

from singularity_mcp.embedding import Embedder, load_embedder
from singularity_mcp.errors import InvalidInput

pytestmark = pytest.mark.anyio

DATE_FUNCTION = '''def parse_date(value: str) -> date:
    """Parse an ISO date such as 2024-05-01."""
    return datetime.strptime(value, "%Y-%m-%d").date()'''
HTTP_HANDLER = """@app.get("/users/{user_id}")
async def get_user(request: Request, user_id: int) -> JSONResponse:
    user = await db.fetch_user(user_id)
    return JSONResponse(user.to_dict())"""


def test_contract_attributes(embedder: Embedder) -> None:
    assert embedder.model_id == "all-minilm-l6-v2"
    assert embedder.dimensions == 384
    assert embedder.max_tokens == 256
    assert embedder.provider == "CPUExecutionProvider"
    assert embedder.variant == "fp32"


def test_vectors_are_float32_unit_length(embedder: Embedder) -> None:
    vectors = embedder.embed_sync(["hello world", "", "def f(x):\n    return x * 2", "ünïcödé ✓ 日本語"])
    assert vectors.shape == (4, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.isfinite(vectors).all()


def test_empty_input_gives_empty_matrix(embedder: Embedder) -> None:
    assert embedder.embed_sync([]).shape == (0, 384)


def test_batch_composition_does_not_change_a_vector(embedder: Embedder) -> None:
    """Padding and length-sorting are invisible: a text embeds the same alone or among longer ones."""
    texts = ["short", DATE_FUNCTION, "a medium sentence about embeddings and search", HTTP_HANDLER * 3]
    together = embedder.embed_sync(texts)
    alone = np.vstack([embedder.embed_sync([t]) for t in texts])
    np.testing.assert_allclose((together * alone).sum(axis=1), 1.0, atol=1e-5)
    # and in the caller's order, not the internal sorted order
    assert float(together[1] @ alone[1]) > 0.9999


def test_long_text_is_truncated_at_max_tokens(embedder: Embedder) -> None:
    long_text = " ".join(f"word{i}" for i in range(2000))
    prefix = " ".join(f"word{i}" for i in range(400))  # already far past 256 tokens
    a, b = embedder.embed_sync([long_text, prefix])
    assert float(a @ b) > 0.9999


def test_semantic_sanity_date_query_prefers_date_parser(embedder: Embedder) -> None:
    query, date_fn, handler = embedder.embed_sync(["parse a date string", DATE_FUNCTION, HTTP_HANDLER])
    assert float(query @ date_fn) > float(query @ handler) + 0.2


def test_a_string_instead_of_a_list_is_refused(embedder: Embedder) -> None:
    with pytest.raises(InvalidInput, match="list of texts"):
        embedder.embed_sync("hello")
    with pytest.raises(InvalidInput, match="not str"):
        embedder.embed_sync(["ok", 3])  # type: ignore[list-item]


async def test_async_embed_matches_sync(embedder: Embedder) -> None:
    texts = [DATE_FUNCTION, "x", HTTP_HANDLER]
    np.testing.assert_allclose(await embedder.embed(texts), embedder.embed_sync(texts), atol=1e-6)
    assert (await embedder.embed([])).shape == (0, 384)


class _CountingSession:
    """Wraps the real onnxruntime session and records each batch it runs."""

    def __init__(self, session: object) -> None:
        self._session = session
        self.batches: list[int] = []

    def run(self, names: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.batches.append(len(feeds["input_ids"]))
        time.sleep(0.05)  # a slow model: callers pile up while it runs
        return self._session.run(names, feeds)  # type: ignore[attr-defined]

    def get_providers(self) -> list[str]:
        return self._session.get_providers()  # type: ignore[attr-defined]


async def test_concurrent_callers_share_batches(settings) -> None:
    sessions: list[_CountingSession] = []

    def factory(path, plan, threads):
        from singularity_mcp.embedding._load import _ort_session

        sessions.append(_CountingSession(_ort_session(path, plan, threads)))
        return sessions[-1]

    embedder = load_embedder(settings, session_factory=factory)
    counting = sessions[-1]
    counting.batches.clear()
    texts = [f"query number {i} about parsing dates" for i in range(20)]
    results: dict[int, np.ndarray] = {}

    async def call(i: int) -> None:
        results[i] = await embedder.embed([texts[i]])

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(call, i)
    async_runs = list(counting.batches)
    expected = embedder.embed_sync(texts)
    for i in range(20):
        assert float(results[i][0] @ expected[i]) > 0.9999
    # 20 single-text callers were served by a few shared model runs, not 20 queued ones
    assert sum(async_runs) == 20
    assert len(async_runs) <= 3, async_runs


async def test_small_request_is_not_stuck_behind_a_bulk_one(embedder: Embedder) -> None:
    # three batches of 32: the query arrives during the first
    bulk = [f"{HTTP_HANDLER} variant {i}" for i in range(96)]
    finished: list[str] = []

    async def bulk_job() -> None:
        await embedder.embed(bulk)
        finished.append("bulk")

    async def query() -> None:
        await anyio.sleep(0.05)  # arrive after the bulk job started
        await embedder.embed(["where is the date parser?"])
        finished.append("query")

    async with anyio.create_task_group() as tg:
        tg.start_soon(bulk_job)
        tg.start_soon(query)
    assert finished == ["query", "bulk"]


async def test_cancelled_caller_does_not_strand_the_others(embedder: Embedder) -> None:
    texts = [f"{DATE_FUNCTION} #{i}" for i in range(150)]
    outcome: dict[str, np.ndarray] = {}

    async def first() -> None:
        with anyio.move_on_after(0.05):
            await embedder.embed(texts)  # becomes the drainer, then is cancelled mid-way

    async def second() -> None:
        await anyio.sleep(0.01)
        outcome["second"] = await embedder.embed(["still served"])

    async with anyio.create_task_group() as tg:
        tg.start_soon(first)
        tg.start_soon(second)
    assert outcome["second"].shape == (1, 384)
    assert not embedder._queue and not embedder._draining
