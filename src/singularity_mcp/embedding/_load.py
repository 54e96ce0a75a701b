"""Opening the embedder (building the model on first use) and describing its state for `doctor`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from singularity_mcp.config import Settings
from singularity_mcp.embedding._build import build_model, model_files, read_record
from singularity_mcp.embedding._embedder import Embedder
from singularity_mcp.embedding._manifest import load_manifest
from singularity_mcp.embedding._providers import (
    ProviderPlan,
    detect_fallback,
    embedding_threads,
    plan_providers,
)
from singularity_mcp.embedding._space import model_id_for
from singularity_mcp.embedding._weights import sha256_file
from singularity_mcp.errors import Unavailable

logger = logging.getLogger(__name__)

SessionFactory = Callable[[Path, ProviderPlan, int], Any]


def _ort_session(path: Path, plan: ProviderPlan, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle intra-op threads sleep instead of spin-waiting for the next run. A search's query is one short
    # run between others' work: with spinning, two threads on a 2-core machine at load 1.6 took 16 ms p50
    # per benchmark query, without 8.3-9.6 ms (one thread 7.5 ms; `benchmarks/embedding/README.md`).
    # Bulk indexing measured within its noise either way, with 7-13 % less CPU per chunk
    # (benchmarks/indexing/README.md).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: provider fallbacks are reported by us
    return ort.InferenceSession(str(path), options, providers=list(plan.providers))


def _available_providers() -> list[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def load_embedder(
    settings: Settings,
    *,
    available_providers: Sequence[str] | None = None,
    session_factory: SessionFactory | None = None,
) -> Embedder:
    """Open the configured model, building it first if needed (one line on stderr).

    `available_providers` and `session_factory` are seams for tests (a fake CUDA provider list).
    """
    manifest = load_manifest(settings.model)
    threads = embedding_threads(settings.embed_threads)
    available = list(available_providers) if available_providers is not None else _available_providers()
    create = session_factory or _ort_session
    plan = plan_providers(available, settings.model_variant, threads)
    session = _open(settings, plan, threads, create)
    actual = list(session.get_providers())
    fallback = detect_fallback(plan, actual, threads)
    if fallback is not None:
        logger.warning("embedding: %s", fallback.reason)
        plan = fallback
        session = _open(settings, plan, threads, create)
        actual = list(session.get_providers())
    files = model_files(settings, manifest)
    embedder = Embedder(
        model_id=model_id_for(manifest.name, plan.variant),
        session=session,
        tokenizer=Tokenizer.from_file(str(files.tokenizer)),
        dimensions=manifest.dimensions,
        max_tokens=manifest.max_tokens,
        provider=actual[0] if actual else "unknown",
        variant=plan.variant,
        path=files.onnx(plan.variant),
        reason=plan.reason,
        io_binding=plan.device == "cuda",
        max_batch=128 if plan.device == "cuda" else 32,
        # CPU: ~10 chunks of 200 tokens per run; bigger batches only grow the attention buffers and run
        # slower on a CPU (measured: batch 32 of 200-token chunks ~20% below batch 8-12)
        token_budget=65536 if plan.device == "cuda" else 2048,
        max_pad_ratio=float("inf") if plan.device == "cuda" else 1.05,
    )
    probe = embedder.embed_sync(["probe"])
    if probe.shape != (1, manifest.dimensions):
        raise Unavailable(
            f"model {manifest.name} produced vectors of shape {probe.shape[1:]}, manifest says "
            f"{manifest.dimensions}: fix `dimensions` in {manifest.path} or rebuild with `singularity-mcp model build --force`"
        )
    logger.info(
        "embedding model %s (%s) on %s: %s", manifest.name, plan.variant, embedder.provider, plan.reason
    )
    return embedder


def _open(settings: Settings, plan: ProviderPlan, threads: int, create: SessionFactory) -> Any:
    manifest = load_manifest(settings.model)
    files = model_files(settings, manifest)
    if read_record(files, manifest, plan.variant) is None:
        logger.warning(
            "embedding model %s (%s) is not built yet: building it into %s (first use only; may download ~85 MB)",
            manifest.name, plan.variant, files.root,
        )  # fmt: skip
        build_model(settings, plan.variant)
    return create(files.onnx(plan.variant), plan, threads)


def model_status(settings: Settings) -> dict[str, Any]:
    """What `doctor` shows: the manifest, whether each variant is built (and intact), providers and why.

    `problems` make the setup unusable (a damaged build); `notes` do not (not built yet: first use builds).
    Both onnxruntime packages installed at once is `doctor`'s own check (see `packages` here).
    """
    manifest = load_manifest(settings.model)
    files = model_files(settings, manifest)
    threads = embedding_threads(settings.embed_threads)
    available = _available_providers()
    plan = plan_providers(available, settings.model_variant, threads)
    built = {}
    for variant in ("fp32", "int8", "fp16"):
        record = read_record(files, manifest, variant)
        if record is not None:
            built[variant] = {
                "path": str(files.onnx(variant)),
                "sha256": record["sha256"],
                "size": record["size"],
                "built_at": record.get("built_at"),
                "onnxruntime": record.get("onnxruntime"),
            }
    installed = {name: _version(name) for name in ("onnxruntime", "onnxruntime-gpu")}
    status: dict[str, Any] = {
        "model": manifest.name,
        "manifest": str(manifest.path),
        "manifest_checksum": manifest.checksum,
        "dimensions": manifest.dimensions,
        "max_tokens": manifest.max_tokens,
        "weights": str(settings.model_weights or manifest.weights.describe()),
        "requested_variant": settings.model_variant,
        "variant": plan.variant,
        "model_id": model_id_for(manifest.name, plan.variant),
        "built": plan.variant in built,
        "path": str(files.onnx(plan.variant)),
        "checksum": built.get(plan.variant, {}).get("sha256"),
        "variants_built": built,
        "providers_available": available,
        "providers": list(plan.providers),
        "device": plan.device,
        "threads": threads,
        "reason": plan.reason,
        "packages": installed,
        "problems": [],
        "notes": [],
    }
    if plan.variant not in built:
        status["notes"].append(
            f"model not built yet: it builds on first use, or run `singularity-mcp model build --variant {plan.variant}`"
        )
    else:
        status["checksum_ok"] = sha256_file(files.onnx(plan.variant)) == status["checksum"]
        if not status["checksum_ok"]:
            status["problems"].append(
                f"{files.onnx(plan.variant)} changed since it was built: "
                f"run `singularity-mcp model build --variant {plan.variant} --force`"
            )
    return status


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
