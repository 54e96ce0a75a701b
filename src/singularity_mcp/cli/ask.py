"""`singularity-mcp ask` and `singularity-mcp stats`: the agent router from the command line.

singularity-mcp ask "how do I sort a dict by value in python?" [--task-type coder] [--json]
singularity-mcp ask --feedback ANSWER_ID good|bad     confirm or reject an earlier answer
singularity-mcp stats [--json]                        per-tier counts, hit rates, latency, cost, saving
"""

from __future__ import annotations

import argparse
import sys

from singularity_mcp.cli._common import print_json, run_with_core
from singularity_mcp.config import Settings
from singularity_mcp.core import Core


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "ask",
        help="answer a question through the router (rules, cache, LLM)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("prompt", nargs="?", help="the question ('-' reads it from stdin)")
    parser.add_argument(
        "--task-type", default="general", help="general, coder, architect, ... (default general)"
    )
    parser.add_argument("--complexity", choices=["auto", "simple", "medium", "complex"], default="auto")
    parser.add_argument("--context", help="text the answer depends on ('@FILE' reads a file)")
    parser.add_argument("--path", help="an indexed folder whose relevant code goes in as context")
    parser.add_argument("--no-llm", action="store_true", help="only rules and the cache, never a model call")
    parser.add_argument(
        "--feedback", nargs=2, metavar=("ANSWER_ID", "good|bad"), help="rate an earlier answer"
    )
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    parser.set_defaults(func=run_ask)

    stats = sub.add_parser("stats", help="agent router statistics (tiers, hit rates, latency, cost, saving)")
    stats.add_argument("--json", action="store_true", help="print the statistics as JSON")
    stats.set_defaults(func=run_stats)


def run_ask(args: argparse.Namespace, settings: Settings) -> int:
    from singularity_mcp.agent import ask, record_answer_feedback

    if args.feedback:
        answer_id, verdict = args.feedback
        if verdict not in ("good", "bad"):
            print("singularity-mcp: --feedback takes an answer id and 'good' or 'bad'", file=sys.stderr)
            return 2

        async def feedback(core: Core) -> dict:
            return await record_answer_feedback(core, answer_id, verdict == "good")

        print_json(run_with_core(settings, feedback))
        return 0
    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    if not prompt:
        print("singularity-mcp: pass a prompt (or '-' to read it from stdin)", file=sys.stderr)
        return 2
    context = args.context
    if context and context.startswith("@"):
        with open(context[1:], encoding="utf-8") as handle:
            context = handle.read()

    async def work(core: Core):
        return await ask(
            core,
            prompt,
            task_type=args.task_type,
            complexity=args.complexity,
            context=context,
            use_llm=not args.no_llm,
            path=args.path,
        )

    answer = run_with_core(settings, work)
    if args.json:
        print_json(answer)
        return 0
    from rich.console import Console

    console = Console()
    console.print(answer.answer)
    figures = f"source={answer.source} complexity={answer.complexity} latency={answer.latency_ms:.1f} ms"
    if answer.similarity is not None:
        figures += f" similarity={answer.similarity:.3f}"
    if answer.confidence is not None:
        figures += f" confidence={answer.confidence:.2f}"
    if answer.model:
        figures += f" model={answer.model}"
    if answer.source == "llm":
        figures += (
            f" tokens={answer.usage.input_tokens}+{answer.usage.output_tokens} cost=${answer.cost_usd:.5f}"
        )
    console.print(f"[dim]{figures}\nanswer_id={answer.answer_id}[/]")
    if answer.note:
        console.print(f"[yellow]{answer.note}[/]")
    return 0


def run_stats(args: argparse.Namespace, settings: Settings) -> int:
    from singularity_mcp.agent import router_stats

    stats = run_with_core(settings, router_stats)
    if args.json:
        print_json(stats)
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"agent router: {stats.total} answers")
    for column in ("tier", "count", "share", "p50 ms", "p95 ms", "tokens in", "tokens out", "cost $"):
        table.add_column(column, justify="left" if column == "tier" else "right")
    for tier in stats.tiers:
        table.add_row(
            tier.source,
            str(tier.count),
            f"{tier.share:.1%}",
            "-" if tier.p50_ms is None else f"{tier.p50_ms:.2f}",
            "-" if tier.p95_ms is None else f"{tier.p95_ms:.2f}",
            str(tier.input_tokens),
            str(tier.output_tokens),
            f"{tier.cost_usd:.4f}",
        )
    console = Console()
    console.print(table)
    console.print(
        f"rule hit rate {stats.rule_hit_rate:.1%}, cache hit rate {stats.cache_hit_rate:.1%} "
        f"(guard refused {stats.guard_rejections} near-misses); {stats.cache_entries} cached answers, "
        f"{stats.learned_rules} learned rules\n"
        f"LLM calls {stats.llm_calls} ({stats.llm_failures} failed over), cost ${stats.cost_usd:.4f}; "
        f"always-LLM estimate ${stats.estimated_always_llm_usd:.4f}, saved ${stats.estimated_saving_usd:.4f}"
    )
    return 0
