"""Building the ONNX model files: weights -> graph -> fused (fp32) -> int8 / fp16, written atomically.

Layout under `<models dir>/<model name>/` (the models dir is one per user by default, see config.py):
  weights/               tokenizer.json and config.json (verified against the manifest); the source
                         model.safetensors is there only during an fp32 build, then deleted (the .onnx
                         file holds the same weights; a forced rebuild fetches it again)
  model-<variant>.onnx   the built graph
  model-<variant>.json   the build record (manifest checksum, builder version, sha256 of the .onnx);
                         written last, so its presence with matching checksums means "built".
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from singularity_mcp.config import Settings
from singularity_mcp.embedding._manifest import ModelManifest, load_manifest
from singularity_mcp.embedding._weights import obtain_weights, sha256_file
from singularity_mcp.errors import InvalidInput, NotConfigured

if TYPE_CHECKING:
    from singularity_mcp.embedding._graph import BertConfig

logger = logging.getLogger(__name__)

Variant = Literal["fp32", "int8", "fp16"]
VARIANTS: tuple[Variant, ...] = ("fp32", "int8", "fp16")
#: Bump when the graph or its post-processing changes: built models with another version are rebuilt.
BUILDER_VERSION = 4
# onnxruntime's transformer optimizer imports its modules top-level, so their loggers have bare names.
_NOISY_PREFIXES = ("onnxruntime.transformers", "fusion_", "onnx_model", "optimizer", "shape_infer", "float16")


@dataclass(frozen=True)
class ModelFiles:
    """Where one model's files live."""

    root: Path

    @property
    def weights(self) -> Path:
        return self.root / "weights"

    @property
    def tokenizer(self) -> Path:
        return self.weights / "tokenizer.json"

    def onnx(self, variant: str) -> Path:
        return self.root / f"model-{variant}.onnx"

    def record(self, variant: str) -> Path:
        return self.root / f"model-{variant}.json"


def model_files(settings: Settings, manifest: ModelManifest) -> ModelFiles:
    return ModelFiles(settings.models_dir / manifest.name)


def read_record(files: ModelFiles, manifest: ModelManifest, variant: str) -> dict[str, Any] | None:
    """The build record when the built model is current (same manifest, same builder, file present)."""
    try:
        record = json.loads(files.record(variant).read_text("utf-8"))
        size = files.onnx(variant).stat().st_size
    except (OSError, ValueError):
        return None
    current = (
        record.get("manifest_checksum") == manifest.checksum
        and record.get("builder_version") == BUILDER_VERSION
        and record.get("size") == size
        and files.tokenizer.is_file()
    )
    return record if current else None


def build_model(settings: Settings, variant: str = "fp32", force: bool = False) -> Path:
    """Build (or reuse) the ONNX file for `variant` of the configured model; return its path."""
    if variant not in VARIANTS:
        raise InvalidInput(f"model variant {variant!r} is unknown: use one of {', '.join(VARIANTS)}")
    manifest = load_manifest(settings.model)
    files = model_files(settings, manifest)
    if not force and read_record(files, manifest, variant) is not None:
        return files.onnx(variant)
    started = time.perf_counter()
    files.root.mkdir(parents=True, exist_ok=True)
    if variant == "fp32":
        obtain_weights(manifest, files.weights, local=settings.model_weights)
        # onnx (2 s to import) is needed to build a model, not to run one: imported here.
        from singularity_mcp.embedding._graph import BertConfig

        cfg = BertConfig.from_file(files.weights / "config.json")
        with _quiet_optimizer():
            _write_atomic(files.onnx("fp32"), lambda tmp: _build_fp32(files, manifest, cfg, tmp))
    else:  # derived from the fp32 file: the source weights are not needed
        fp32 = build_model(settings, "fp32", force=False)
        writer = _quantize_int8 if variant == "int8" else _convert_fp16
        with _quiet_optimizer():
            _write_atomic(files.onnx(variant), lambda tmp: writer(fp32, tmp))
    path = files.onnx(variant)
    record = {
        "model": manifest.name,
        "variant": variant,
        "manifest_checksum": manifest.checksum,
        "builder_version": BUILDER_VERSION,
        "sha256": sha256_file(path),
        "size": path.stat().st_size,
        "weights": {
            name: sha256_file(files.weights / name)
            for name in sorted(manifest.weights.files)
            if (files.weights / name).is_file()
        },
        "source": str(settings.model_weights or manifest.weights.describe()),
        "onnxruntime": _ort_version(),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds": round(time.perf_counter() - started, 2),
    }
    _write_atomic(files.record(variant), lambda tmp: tmp.write_text(json.dumps(record, indent=2) + "\n"))
    if variant == "fp32":
        # 88 MB for MiniLM, and every byte of it is in the .onnx file now
        (files.weights / "model.safetensors").unlink(missing_ok=True)
    logger.debug("built %s (%s) in %.1fs: %s", manifest.name, variant, record["build_seconds"], path)
    return path


def _build_fp32(files: ModelFiles, manifest: ModelManifest, cfg: BertConfig, target: Path) -> None:
    """Write the graph, then let onnxruntime's transformer optimizer fuse attention/layer-norm/GELU."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    from singularity_mcp.embedding._graph import build_graph

    model = build_graph(
        files.weights / "model.safetensors",
        files.weights / "config.json",
        manifest.pooling,
        manifest.normalize,
    )
    options = FusionOptions("bert")
    options.enable_shape_inference = False  # symbolic shape inference needs sympy; the fusions don't
    fused = optimize_model(
        model,
        model_type="bert",
        num_heads=cfg.num_heads,
        hidden_size=cfg.hidden_size,
        opt_level=0,  # python fusions only: the file stays portable across CPUs and providers
        optimization_options=options,
    )
    fused.save_model_to_file(str(target))  # also declares the com.microsoft opset of the fused ops


def _quantize_int8(fp32: Path, target: Path) -> None:
    """Dynamic int8 with per-channel, reduced-range weights (the defaults lose too much: cosine 0.93).

    Two projections stay fp32: the feed-forward down-projection (its input is the GELU output) and the
    attention output projection. Their inputs have outliers that a per-tensor activation scale, shared
    by the whole batch, handles badly: with them quantized, short texts in a mixed batch fall to cosine
    0.975-0.98 against the reference; without, the golden set stays above 0.982.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(fp32))
    sensitive = {"Gelu", "BiasGelu", "FastGelu", "Attention", "MultiHeadAttention"}
    outliers = {out for n in model.graph.node if n.op_type in sensitive for out in n.output}
    keep_fp32 = [n.name for n in model.graph.node if n.op_type == "MatMul" and n.input[0] in outliers]
    quantize_dynamic(
        fp32,
        target,
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,
        nodes_to_exclude=keep_fp32,
        # onnx shape inference cannot type the fused com.microsoft ops' outputs: they are float
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def _convert_fp16(fp32: Path, target: Path) -> None:
    """fp16 weights and activations for CUDA; inputs and the output stay as they are."""
    import onnx
    from onnxruntime.transformers.onnx_model import OnnxModel

    try:
        import sympy  # noqa: F401  (the symbolic shape inference below imports it)
    except ImportError:
        raise NotConfigured(
            "the fp16 (CUDA) build needs sympy, which the default install leaves out: "
            "pip install 'singularity-mcp[gpu]' (it brings onnxruntime-gpu and sympy)"
        ) from None
    model = OnnxModel(onnx.load(str(fp32)))
    # symbolic shape inference (sympy) types the fused com.microsoft ops; onnx's own cannot
    model.convert_float_to_float16(use_symbolic_shape_infer=True, keep_io_types=True)
    model.save_model_to_file(str(target))


def _write_atomic(target: Path, write: Any) -> None:
    """Call `write(tmp)` for a temporary file beside `target`, then rename it into place."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        tmp.chmod(0o644)  # mkstemp makes it 0600; a shared model dir is read by other users' servers
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


class _DropRootChatter(logging.Filter):
    """onnxruntime's quantizer logs straight to the root logger (`logging.info(...)`); drop that, from
    the building thread only. A filter on the root logger sees only records logged on it directly."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread != self.thread or record.levelno >= logging.ERROR


@contextlib.contextmanager
def _quiet_optimizer() -> Iterator[None]:
    """Keep the optimizer's and quantizer's chatter ("Model producer not matched", per-tensor notes)
    off stderr during a build: the build announces itself with one line."""
    import onnxruntime.transformers.optimizer  # noqa: F401  (registers the loggers first)

    names = [n for n in logging.root.manager.loggerDict if n.startswith(_NOISY_PREFIXES)]
    loggers = [logging.getLogger(name) for name in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    root_filter = _DropRootChatter()
    logging.getLogger().addFilter(root_filter)
    try:
        yield
    finally:
        logging.getLogger().removeFilter(root_filter)
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__
