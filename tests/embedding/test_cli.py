"""`singularity-mcp model build|status|embed` as a user runs them (run in this process)."""

from __future__ import annotations

import json
import os

from singularity_mcp.config import Settings
from singularity_mcp.embedding import Embedder
from tests.conftest import CliResult, run_cli


def _cli(settings: Settings, *args: str, **extra: str) -> CliResult:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SINGULARITY_")}
    env |= {
        "SINGULARITY_DATA_DIR": str(settings.data_dir),
        "SINGULARITY_MODEL_DIR": str(settings.models_dir),
    }
    if settings.model_weights:
        env["SINGULARITY_MODEL_WEIGHTS"] = str(settings.model_weights)
    if settings.database_url:
        env["SINGULARITY_DATABASE_URL"] = settings.database_url
    env |= extra
    return run_cli(env, *args)


def test_status_and_build(settings: Settings, embedder: Embedder) -> None:
    status = _cli(settings, "model", "status", "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["built"] is True
    assert report["variant"] == "fp32" and report["device"] == "cpu"
    assert report["providers"] == ["CPUExecutionProvider"] and "CPU" in report["reason"]
    assert report["path"] == str(embedder.path)

    build = _cli(settings, "model", "build", "--json")  # already current: returns at once
    assert build.returncode == 0, build.stderr
    assert json.loads(build.stdout)["built"]["sha256"] == report["checksum"]


def test_embed_prints_vectors_and_similarities(settings: Settings, embedder: Embedder) -> None:
    result = _cli(settings, "model", "embed", "--json", "parse a date string", "format a date")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["model_id"] == "all-minilm-l6-v2"
    vectors = payload["vectors"]
    assert len(vectors) == 2 and len(vectors[0]) == 384
    expected = embedder.embed_sync(["parse a date string"])[0]
    assert abs(sum(a * b for a, b in zip(vectors[0], expected, strict=True)) - 1.0) < 1e-5


def test_bad_variant_is_an_argparse_error(settings: Settings) -> None:
    result = _cli(settings, "model", "build", "--variant", "bf16")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_unknown_model_is_reported(settings: Settings) -> None:
    result = _cli(settings, "model", "status", SINGULARITY_MODEL="no-such-model")
    assert result.returncode == 1
    assert "SINGULARITY_MODEL=no-such-model: no manifest" in result.stderr
