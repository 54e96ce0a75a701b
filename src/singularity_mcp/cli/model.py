"""`singularity-mcp model build|status|embed|switch`: build the ONNX embedding model, inspect it, and
give the database to it."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from singularity_mcp.cli._common import print_json
from singularity_mcp.config import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("model", help="build and inspect the embedding model")
    model_sub = parser.add_subparsers(dest="model_command", required=True, metavar="ACTION")

    build = model_sub.add_parser(
        "build", help="fetch the weights (once) and build the ONNX model into the data dir"
    )
    build.add_argument(
        "--variant",
        choices=["fp32", "int8", "fp16"],
        default=None,
        help="which build (default: SINGULARITY_MODEL_VARIANT, fp32): int8 is smaller and faster "
        "on CPU, fp16 is for CUDA",
    )
    build.add_argument("--force", action="store_true", help="rebuild even when a current build exists")
    build.add_argument("--json", action="store_true", help="print the result as JSON")
    build.set_defaults(func=run_build)

    status = model_sub.add_parser("status", help="manifest, builds, providers chosen and why")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(func=run_status)

    embed = model_sub.add_parser("embed", help="embed texts and print the vectors (a quick check)")
    embed.add_argument("texts", nargs="+", help="texts to embed")
    embed.add_argument("--json", action="store_true", help="print full vectors as JSON")
    embed.set_defaults(func=run_embed)

    switch = model_sub.add_parser(
        "switch",
        help="give the database to the configured model: clear the vectors of the one it holds "
        "(they are embedded again by the next index run)",
    )
    switch.add_argument("--json", action="store_true", help="print what was cleared as JSON")
    switch.set_defaults(func=run_switch)


def run_build(args: argparse.Namespace, settings: Settings) -> int:
    from singularity_mcp.embedding import build_model, model_status

    variant = args.variant or settings.model_variant
    started = time.perf_counter()
    path = build_model(settings, variant, force=args.force)
    result = {
        "variant": variant,
        "path": str(path),
        "seconds": round(time.perf_counter() - started, 2),
        "built": model_status(settings)["variants_built"].get(variant),
    }
    if args.json:
        print_json(result)
    else:
        print(f"{variant}: {path} (sha256 {result['built']['sha256'][:16]}…, {result['seconds']} s)")
    return 0


def run_status(args: argparse.Namespace, settings: Settings) -> int:
    from singularity_mcp.embedding import model_status

    status = model_status(settings)
    if args.json:
        print_json(status)
    else:
        _print_status(status)
    return 1 if status["problems"] else 0


def run_embed(args: argparse.Namespace, settings: Settings) -> int:
    from singularity_mcp.embedding import load_embedder

    embedder = load_embedder(settings)
    vectors = embedder.embed_sync(args.texts)
    if args.json:
        print_json({"model_id": embedder.model_id, "vectors": vectors.tolist()})
        return 0
    for text, vector in zip(args.texts, vectors, strict=True):
        head = " ".join(f"{x:+.4f}" for x in vector[:6])
        sys.stdout.write(f"{text[:40]!r}: [{head} …] ({embedder.dimensions} dims)\n")
    if len(args.texts) > 1:
        sims = vectors @ vectors.T
        for i in range(len(args.texts)):
            for j in range(i + 1, len(args.texts)):
                sys.stdout.write(f"cosine({i}, {j}) = {sims[i, j]:.4f}\n")
    return 0


def run_switch(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import asdict

    from singularity_mcp.cli._common import run_with_core
    from singularity_mcp.core import Core
    from singularity_mcp.embedding import switch_to_configured

    async def work(core: Core) -> Any:
        return await switch_to_configured((await core.database()).pool, settings)

    report = run_with_core(settings, work)
    if args.json:
        print_json(asdict(report))
        return 0
    before = (
        f"{report.previous.model_id} ({report.previous.dimensions} dims)" if report.previous else "no model"
    )
    now = f"{report.current.model_id} ({report.current.dimensions} dims)"
    sys.stdout.write(f"database switched from {before} to {now}\n")
    cleared = {k: getattr(report, k) for k in ("code_chunks", "knowledge_artifacts", "package_cache")}
    sys.stdout.write(
        "cleared: "
        + ", ".join(f"{n} {k.replace('_', ' ')} vectors" for k, n in cleared.items())
        + f", {report.agent_cache} cached agent answers, {report.embedding_cache} embedding-cache entries\n"
    )
    if report.code_chunks:
        sys.stdout.write("run `singularity-mcp index PATH` for each indexed folder to embed its code again\n")
    return 0


def _print_status(status: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console(soft_wrap=True)
    built = "[green]built[/]" if status["built"] else "[yellow]not built[/]"
    console.print(f"[bold]{status['model']}[/] ({status['variant']}): {built}  {status['path']}")
    if status["checksum"]:
        verdict = "[green]ok[/]" if status.get("checksum_ok") else "[red]MISMATCH[/]"
        console.print(f"  sha256: {status['checksum']} ({verdict})")
    console.print(f"  weights: {status['weights']}  manifest: {status['manifest']}")
    console.print(f"  providers: {', '.join(status['providers'])} on {status['device']}: {status['reason']}")
    console.print(f"  available: {', '.join(status['providers_available'])}")
    for variant, info in status["variants_built"].items():
        console.print(f"  {variant}: {info['size'] / 1e6:.1f} MB, built {info['built_at']}")
    for note in status["notes"]:
        console.print(f"  - {note}")
    for problem in status["problems"]:
        console.print(f"  [red]- {problem}[/]")
