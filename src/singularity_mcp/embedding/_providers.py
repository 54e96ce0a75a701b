"""Choosing onnxruntime execution providers and the model variant to run on them.

Pure functions over provider-name lists, so the logic is testable without a GPU.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


@dataclass(frozen=True)
class ProviderPlan:
    """What to run: the providers in priority order, the variant to load, and why."""

    device: str  # "cuda" or "cpu"
    providers: tuple[str, ...]
    variant: str
    reason: str


def default_threads() -> int:
    """Intra-op threads: the physical cores (logical cores add little to a GEMM-bound encoder)."""
    try:
        import psutil

        cores = psutil.cpu_count(logical=False)
    except ImportError:  # pragma: no cover - psutil is a dependency
        cores = None
    return max(1, cores or os.cpu_count() or 1)


def embedding_threads(configured: int | None) -> int:
    """The intra-op threads the embedder runs with: the configured number, else the physical cores."""
    return configured or default_threads()


def plan_providers(available: Sequence[str], variant: str, threads: int) -> ProviderPlan:
    """Pick CUDA (fp16) when onnxruntime offers it, else the CPU with the requested variant.

    fp32 and fp16 agree to cosine >= 0.9999, so on CUDA the default fp32 request runs the fp16 build;
    int8 has no CUDA kernels and keeps to the CPU; fp16 without CUDA runs fp32 (CPU fp16 is slow).
    """
    listed = ", ".join(available) or "none"
    if CUDA in available:
        if variant == "int8":
            return ProviderPlan(
                "cpu", (CPU,), "int8",
                f"SINGULARITY_MODEL_VARIANT=int8 is a CPU model (no CUDA kernels for its quantized ops): "
                f"CPU with {threads} threads; set it to fp32 or fp16 to use the GPU",
            )  # fmt: skip
        return ProviderPlan(
            "cuda",
            (CUDA, CPU),
            "fp16",
            f"{CUDA} available (onnxruntime-gpu): fp16 on the GPU with IO binding",
        )
    if variant == "fp16":
        return ProviderPlan(
            "cpu", (CPU,), "fp32",
            f"fp16 needs CUDA, and this onnxruntime offers only: {listed}; running fp32 on CPU with {threads} threads",
        )  # fmt: skip
    return ProviderPlan(
        "cpu", (CPU,), variant,
        f"no {CUDA} in this onnxruntime (available: {listed}; install onnxruntime-gpu for a GPU): "
        f"{variant} on CPU with {threads} threads",
    )  # fmt: skip


def detect_fallback(
    plan: ProviderPlan, session_providers: Sequence[str], threads: int
) -> ProviderPlan | None:
    """onnxruntime-gpu silently drops to CPU when CUDA/cuDNN libraries are missing: spot it.

    Returns the CPU plan to use instead, or None when the session runs what was planned.
    """
    if plan.device != "cuda" or CUDA in session_providers:
        return None
    return ProviderPlan(
        "cpu", (CPU,), "fp32",
        f"{CUDA} is installed but the session fell back to CPU (got {', '.join(session_providers) or 'none'}): "
        f"the CUDA or cuDNN libraries are probably missing or do not match onnxruntime-gpu; "
        f"running fp32 on CPU with {threads} threads",
    )  # fmt: skip
