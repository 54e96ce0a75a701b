"""Provider selection and silent-CPU-fallback detection, driven by fake provider lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from singularity_mcp.config import Settings
from singularity_mcp.embedding import load_embedder
from singularity_mcp.embedding._load import _ort_session
from singularity_mcp.embedding._providers import CPU, CUDA, ProviderPlan, detect_fallback, plan_providers

GPU_BUILD = ["TensorrtExecutionProvider", CUDA, CPU]


def test_cpu_only_build_runs_the_requested_variant_on_cpu() -> None:
    plan = plan_providers([CPU], "fp32", threads=8)
    assert (plan.device, plan.providers, plan.variant) == ("cpu", (CPU,), "fp32")
    assert "install onnxruntime-gpu" in plan.reason and "8 threads" in plan.reason
    assert plan_providers(["AzureExecutionProvider", CPU], "int8", 2).variant == "int8"


def test_cuda_build_runs_fp16_on_the_gpu() -> None:
    for requested in ("fp32", "fp16"):
        plan = plan_providers(GPU_BUILD, requested, threads=4)
        assert (plan.device, plan.providers, plan.variant) == ("cuda", (CUDA, CPU), "fp16")
        assert "IO binding" in plan.reason


def test_int8_stays_on_cpu_even_with_cuda() -> None:
    plan = plan_providers(GPU_BUILD, "int8", threads=4)
    assert (plan.device, plan.variant) == ("cpu", "int8")
    assert "set it to fp32 or fp16 to use the GPU" in plan.reason


def test_fp16_without_cuda_runs_fp32() -> None:
    plan = plan_providers([CPU], "fp16", threads=2)
    assert (plan.device, plan.variant) == ("cpu", "fp32")
    assert "fp16 needs CUDA" in plan.reason


def test_silent_fallback_is_detected() -> None:
    plan = plan_providers(GPU_BUILD, "fp32", threads=4)
    assert detect_fallback(plan, [CUDA, CPU], 4) is None
    fallback = detect_fallback(plan, [CPU], 4)
    assert fallback is not None
    assert (fallback.device, fallback.variant, fallback.providers) == ("cpu", "fp32", (CPU,))
    assert "fell back to CPU" in fallback.reason and "cuDNN" in fallback.reason
    assert detect_fallback(plan_providers([CPU], "fp32", 4), [CPU], 4) is None


def test_loader_recovers_from_a_fallback(settings: Settings) -> None:
    """onnxruntime-gpu 'has' CUDA but the session comes up on CPU: the embedder says so and runs fp32."""
    opened: list[tuple[Path, ProviderPlan]] = []

    def factory(path: Path, plan: ProviderPlan, threads: int):
        opened.append((path, plan))
        # what onnxruntime-gpu does without CUDA libraries: a CPU session, no error
        return _ort_session(path, ProviderPlan("cpu", (CPU,), plan.variant, ""), threads)

    # The fp16 file is built on CPU here (the conversion needs no GPU); it is only ever run by CUDA.
    embedder = load_embedder(settings, available_providers=GPU_BUILD, session_factory=factory)
    assert [(p.name, plan.device) for p, plan in opened] == [
        ("model-fp16.onnx", "cuda"),
        ("model-fp32.onnx", "cpu"),
    ]
    assert embedder.provider == CPU
    assert embedder.variant == "fp32"
    assert "fell back to CPU" in embedder.reason
    assert embedder.embed_sync(["works anyway"]).shape == (1, 384)


@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_cpu_plan_used_by_loader(settings: Settings, variant: str) -> None:
    settings = settings.model_copy(update={"model_variant": variant})
    embedder = load_embedder(settings, available_providers=[CPU])
    assert embedder.variant == variant
    assert embedder.model_id == ("all-minilm-l6-v2-int8" if variant == "int8" else "all-minilm-l6-v2")
