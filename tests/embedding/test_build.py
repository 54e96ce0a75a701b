"""The builder on any BERT checkpoint: a tiny random one against a numpy forward pass; build records."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from singularity_mcp.config import Settings
from singularity_mcp.db import Database
from singularity_mcp.embedding import build_model, embed_cached, load_embedder, model_status
from singularity_mcp.embedding._build import BUILDER_VERSION
from singularity_mcp.embedding._weights import sha256_file
from singularity_mcp.errors import ConfigError, InvalidInput, NotConfigured

HIDDEN, HEADS, LAYERS, FFN, VOCAB, POSITIONS = 32, 4, 2, 64, 30522, 64


def _tiny_bert(
    folder: Path, tokenizer: Path, prefix: str = "bert.", act: str = "gelu"
) -> dict[str, np.ndarray]:
    """A random 2-layer BERT checkpoint (with the `bert.` prefix BertForX saves) using the real tokenizer."""
    rng = np.random.default_rng(7)

    def r(*shape: int, scale: float = 0.2) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    w = {
        "embeddings.word_embeddings.weight": r(VOCAB, HIDDEN),
        "embeddings.position_embeddings.weight": r(POSITIONS, HIDDEN),
        "embeddings.token_type_embeddings.weight": r(2, HIDDEN),
        "embeddings.LayerNorm.weight": 1 + r(HIDDEN, scale=0.05),
        "embeddings.LayerNorm.bias": r(HIDDEN, scale=0.05),
    }
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        for part in ("query", "key", "value"):
            w[f"{p}attention.self.{part}.weight"] = r(HIDDEN, HIDDEN)
            w[f"{p}attention.self.{part}.bias"] = r(HIDDEN, scale=0.05)
        w[f"{p}attention.output.dense.weight"] = r(HIDDEN, HIDDEN)
        w[f"{p}attention.output.dense.bias"] = r(HIDDEN, scale=0.05)
        w[f"{p}intermediate.dense.weight"] = r(FFN, HIDDEN)
        w[f"{p}intermediate.dense.bias"] = r(FFN, scale=0.05)
        w[f"{p}output.dense.weight"] = r(HIDDEN, FFN)
        w[f"{p}output.dense.bias"] = r(HIDDEN, scale=0.05)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[f"{p}{norm}.weight"] = 1 + r(HIDDEN, scale=0.05)
            w[f"{p}{norm}.bias"] = r(HIDDEN, scale=0.05)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(
        {prefix + k: v for k, v in w.items()} | {"pooler.dense.bias": r(HIDDEN)},
        str(folder / "model.safetensors"),
    )
    (folder / "config.json").write_text(
        json.dumps(
            {
                "hidden_size": HIDDEN,
                "num_attention_heads": HEADS,
                "num_hidden_layers": LAYERS,
                "intermediate_size": FFN,
                "hidden_act": act,
                "layer_norm_eps": 1e-12,
            }
        )
    )
    (folder / "tokenizer.json").write_bytes(tokenizer.read_bytes())
    return w


def _reference(w: dict[str, np.ndarray], ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """BERT forward + mean pooling + L2 normalisation in float64 numpy."""
    erf = np.vectorize(math.erf)

    def ln(x: np.ndarray, name: str) -> np.ndarray:
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-12) * w[f"{name}.weight"] + w[f"{name}.bias"]

    def dense(x: np.ndarray, name: str) -> np.ndarray:
        return x @ w[f"{name}.weight"].T.astype(np.float64) + w[f"{name}.bias"]

    seq = ids.shape[1]
    x = w["embeddings.word_embeddings.weight"][ids].astype(np.float64)
    x = x + w["embeddings.position_embeddings.weight"][:seq] + w["embeddings.token_type_embeddings.weight"][0]
    x = ln(x, "embeddings.LayerNorm")
    bias = (1.0 - mask[:, None, None, :]) * -10000.0
    d = HIDDEN // HEADS
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."

        def heads(t: np.ndarray) -> np.ndarray:
            return t.reshape(t.shape[0], seq, HEADS, d).transpose(0, 2, 1, 3)

        q, k, v = (heads(dense(x, f"{p}attention.self.{n}")) for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + bias
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(x.shape)
        x = ln(dense(ctx, f"{p}attention.output.dense") + x, f"{p}attention.output.LayerNorm")
        h = dense(x, f"{p}intermediate.dense")
        h = 0.5 * h * (1 + erf(h / math.sqrt(2)))
        x = ln(dense(h, f"{p}output.dense") + x, f"{p}output.LayerNorm")
    m = mask[:, :, None].astype(np.float64)
    pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


@pytest.fixture
def tiny(tmp_path: Path, embedder, settings: Settings) -> tuple[Settings, dict[str, np.ndarray]]:
    folder = tmp_path / "checkpoint"
    weights = _tiny_bert(folder, settings.models_dir / "all-minilm-l6-v2" / "weights" / "tokenizer.json")
    manifest = tmp_path / "tiny-bert.toml"
    manifest.write_text(
        f'name = "tiny-bert"\ndimensions = {HIDDEN}\nmax_tokens = 48\n[weights]\nsource = "local"\n'
    )
    settings = settings.model_copy(
        update={"model": str(manifest), "model_weights": folder, "model_dir": tmp_path / "models"}
    )
    return settings, weights


def test_any_bert_checkpoint_builds_through_the_same_path(
    tiny: tuple[Settings, dict[str, np.ndarray]],
) -> None:
    settings, weights = tiny
    embedder = load_embedder(settings)
    assert (embedder.model_id, embedder.dimensions, embedder.max_tokens) == ("tiny-bert", HIDDEN, 48)
    texts = ["a short one", "def tiny(model): return model.forward(x) if x else None", "x " * 100]
    got = embedder.embed_sync(texts)
    tok = embedder._tokenizer
    for row, text in enumerate(texts):
        ids = np.array([tok.encode(text).ids])
        expected = _reference(weights, ids, np.ones_like(ids))
        np.testing.assert_allclose(got[row], expected[0], atol=2e-5)
    assert len(tok.encode(texts[2]).ids) == 48  # truncated at the manifest's max_tokens


def test_build_is_recorded_reused_and_forced(tiny: tuple[Settings, dict[str, np.ndarray]]) -> None:
    settings, _ = tiny
    path = build_model(settings, "fp32")
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["sha256"] == sha256_file(path)
    assert record["builder_version"] == BUILDER_VERSION
    assert record["variant"] == "fp32" and record["source"] == str(settings.model_weights)
    stamp = path.stat().st_mtime_ns

    assert build_model(settings, "fp32") == path
    assert path.stat().st_mtime_ns == stamp  # current: not rebuilt

    os.utime(path, ns=(stamp - 10**9, stamp - 10**9))
    build_model(settings, "fp32", force=True)
    assert path.stat().st_mtime_ns != stamp - 10**9
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp files left

    status = model_status(settings)
    assert status["built"] and status["checksum"] == sha256_file(path) and status["device"] == "cpu"
    assert status["checksum_ok"] is True and status["problems"] == []
    with path.open("r+b") as f:  # a damaged file is caught by the checksum
        f.seek(100)
        f.write(b"\x00\x01")
    status = model_status(settings)
    assert status["checksum_ok"] is False and "--force" in status["problems"][0]


def test_changed_manifest_rebuilds(tiny: tuple[Settings, dict[str, np.ndarray]]) -> None:
    settings, _ = tiny
    path = build_model(settings, "fp32")
    manifest = Path(settings.model)
    manifest.write_text(manifest.read_text() + "# edited\n")
    assert model_status(settings)["built"] is False
    build_model(settings, "fp32")
    assert model_status(settings)["built"] is True
    assert path.exists()


def test_unsupported_checkpoints_are_refused(
    tiny: tuple[Settings, dict[str, np.ndarray]], tmp_path: Path
) -> None:
    settings, _ = tiny
    folder = Path(settings.model_weights)  # type: ignore[arg-type]
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(config | {"hidden_act": "relu"}))
    with pytest.raises(ConfigError, match="hidden_act='relu' is not supported"):
        build_model(settings, "fp32", force=True)
    with pytest.raises(InvalidInput, match="unknown: use one of fp32, int8, fp16"):
        build_model(settings, "bf16")


@pytest.mark.anyio
async def test_cache_refuses_vectors_of_another_model(
    tiny: tuple[Settings, dict[str, np.ndarray]], database: Database, embedder
) -> None:
    await embed_cached(database.pool, embedder, ["the session's model holds this database"])
    settings, _ = tiny
    other = load_embedder(settings)
    with pytest.raises(
        NotConfigured,
        match=r"holds vectors of embedding model all-minilm-l6-v2 \(384 dims\).*tiny-bert \(32 dims\)",
    ):
        await embed_cached(database.pool, other, ["a text for a 32-dimension model"])


def test_running_a_built_model_does_not_import_onnx() -> None:
    """onnx writes the graph once; opening and running the model needs only onnxruntime (and importing
    onnx took 2 s of every model load)."""
    import subprocess
    import sys

    code = (
        "import sys; import singularity_mcp.embedding._load, singularity_mcp.embedding._embedder; "
        "print('onnx' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
