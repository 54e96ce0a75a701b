"""The real embedding model, built once and reused across test runs.

The build goes to `$SINGULARITY_TEST_CACHE/models` (default `~/.cache/singularity-mcp-test/models`); its
build record carries the manifest checksum, so a changed manifest or builder rebuilds it and an unchanged
one loads in well under a second. `SINGULARITY_MODEL_WEIGHTS` in the environment is honoured (offline).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from singularity_mcp.config import Settings
from singularity_mcp.embedding import Embedder, load_embedder
from singularity_mcp.errors import Unavailable


def test_model_dir() -> Path:
    """Built models shared by every test session (and by spawned servers via SINGULARITY_MODEL_DIR)."""
    root = os.environ.get("SINGULARITY_TEST_CACHE") or Path.home() / ".cache" / "singularity-mcp-test"
    return Path(root).expanduser() / "models"


test_model_dir.__test__ = False  # type: ignore[attr-defined]  (a helper, not a test)


@pytest.fixture(scope="session")
def model_settings(settings: Settings) -> Settings:
    """The session's settings, with models built into the shared test cache."""
    weights = os.environ.get("SINGULARITY_MODEL_WEIGHTS")
    return settings.model_copy(
        update={"model_dir": test_model_dir(), "model_weights": Path(weights) if weights else None}
    )


@pytest.fixture(scope="session")
def embedder(model_settings: Settings) -> Embedder:
    """The configured model (fp32, CPU here), built on the first run."""
    try:
        return load_embedder(model_settings)
    except Unavailable as exc:  # offline with no cached build and no local weights
        pytest.skip(f"embedding model unavailable: {exc}")
