"""The ONNX builds against vectors from the reference (sentence-transformers, same weights).

The numbers come from benchmarks/embedding/make_golden.py; only they are committed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from singularity_mcp.config import Settings
from singularity_mcp.embedding import Embedder, load_embedder
from singularity_mcp.embedding._load import _ort_session
from singularity_mcp.embedding._providers import CPU, CUDA, ProviderPlan

DATA = Path(__file__).parent / "data"
GOLDEN = json.loads((DATA / "golden.json").read_text("utf-8"))
GOLDEN_VECTORS = np.load(DATA / "golden.npy")


def _cosines(embedder: Embedder) -> np.ndarray:
    vectors = embedder.embed_sync(GOLDEN["texts"])
    return (vectors * GOLDEN_VECTORS).sum(axis=1)


def test_golden_data_matches_the_manifest(embedder: Embedder) -> None:
    assert GOLDEN["model"] == embedder.model_id
    assert GOLDEN["max_tokens"] == embedder.max_tokens
    assert GOLDEN_VECTORS.shape == (len(GOLDEN["texts"]), embedder.dimensions)


def test_fp32_matches_reference(embedder: Embedder) -> None:
    cosines = _cosines(embedder)
    assert cosines.min() >= 0.9999, dict(zip(GOLDEN["texts"], cosines.round(6).tolist(), strict=True))


def test_int8_matches_reference(settings: Settings) -> None:
    int8 = load_embedder(settings.model_copy(update={"model_variant": "int8"}), available_providers=[CPU])
    cosines = _cosines(int8)
    assert cosines.min() >= 0.98, dict(zip(GOLDEN["texts"], cosines.round(4).tolist(), strict=True))


def test_fp16_build_matches_reference(settings: Settings) -> None:
    """The CUDA build, run here by the CPU provider (numerics only; its speed needs a GPU)."""

    def cpu_session(path: Path, plan: ProviderPlan, threads: int):
        session = _ort_session(path, ProviderPlan("cpu", (CPU,), plan.variant, ""), threads)
        return _ReportsCuda(session)

    fp16 = load_embedder(settings, available_providers=[CUDA, CPU], session_factory=cpu_session)
    assert fp16.variant == "fp16" and fp16.path.name == "model-fp16.onnx"
    assert _cosines(fp16).min() >= 0.9999


class _ReportsCuda:
    """A CPU session that claims CUDA, so the loader keeps the fp16 plan (and its IO binding path)."""

    def __init__(self, session: object) -> None:
        self._session = session

    def get_providers(self) -> list[str]:
        return [CUDA, CPU]

    def __getattr__(self, name: str) -> object:
        return getattr(self._session, name)


@pytest.mark.parametrize("index", [len(GOLDEN["texts"]) - 2, len(GOLDEN["texts"]) - 1])
def test_truncation_matches_reference_on_long_texts(embedder: Embedder, index: int) -> None:
    text = GOLDEN["texts"][index]
    assert len(embedder._tokenizer.encode(text).ids) == embedder.max_tokens  # it was truncated
    assert float(embedder.embed_sync([text])[0] @ GOLDEN_VECTORS[index]) >= 0.9999
