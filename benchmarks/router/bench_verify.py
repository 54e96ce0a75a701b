"""The cache's verification step on the fresh labelled set (`fresh_pairs.py`), offline and fast.

Every cached prompt of one half is embedded (the real ONNX MiniLM, as the cache does); each asked
prompt is served by the nearest cached prompt above the threshold that passes the check (up to 5
candidates, as `agent._cache.find_similar`), or by nothing. A hit on its own pair's prompt is correct
for a paraphrase kind, so is a hit on the very text asked (cached from another pair); any other hit is
a false hit.

    python benchmarks/router/bench_verify.py --half dev|test [--pairs holdout|old --half all] [--bar 2] [--threshold 0.75] [--show]

`--bar B` (<= 1) also aligns words whose single-word embeddings are at least B alike; the default (2)
leaves that off, as the cache does.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fresh_pairs import NEAR_MISS_KINDS, PAIRS, PARAPHRASE_KINDS, is_paraphrase, split

from singularity_mcp.agent._guard import disagreement, normalise, signature
from singularity_mcp.agent._verify import WordVectorCache, verify
from singularity_mcp.config import Settings
from singularity_mcp.embedding import load_embedder

THRESHOLDS = (0.70, 0.75, 0.80, 0.85, 0.90, 0.95)
CHECKS = ("cosine", "guard", "verify")


async def run(half: str, bar: float, pairs_source: str = "fresh") -> dict[str, Any]:
    settings = Settings(model_dir=Path.home() / ".cache" / "singularity-mcp-test" / "models")
    embedder = load_embedder(settings)
    if pairs_source == "fresh":
        dev, test = split()
        pairs = {"dev": dev, "test": test, "all": dev + test}[half]
    elif pairs_source == "holdout":
        from holdout_pairs import HOLDOUT

        pairs = [(a, b, kind) for kind, items in HOLDOUT.items() for a, b in items]
    else:
        from pairs import DIFFERENT, SAME

        pairs = [(a, b, "para_old") for a, b in SAME] + [(a, b, f"nm_old_{why}") for a, b, why in DIFFERENT]
    cached = list(dict.fromkeys(a for a, _, _ in pairs))
    cached_vectors = embedder.embed_sync([normalise(t) for t in cached])
    asked_vectors = embedder.embed_sync([normalise(b) for _, b, _ in pairs])
    sims = asked_vectors @ cached_vectors.T

    async def embed(words: Sequence[str]) -> np.ndarray:
        return embedder.embed_sync(list(words))

    vectors = WordVectorCache(embed)
    # per asked prompt: the candidates (index, cosine) and each check's verdict on them
    outcomes = []
    for i, (a, b, kind) in enumerate(pairs):
        order = [int(j) for j in np.argsort(-sims[i])[:5]]
        verdicts = []
        for j in order:
            guard_ok = disagreement(signature(b), signature(cached[j])) is None
            refusal = await verify(b, cached[j], vectors if bar <= 1 else None, bar)
            verdicts.append((j, float(sims[i, j]), guard_ok, refusal))
        outcomes.append((a, b, kind, verdicts))

    def served(verdicts, threshold: float, check: str):
        for j, sim, guard_ok, refusal in verdicts:
            if sim < threshold:
                return None
            if (
                check == "cosine"
                or (check == "guard" and guard_ok)
                or (check == "verify" and refusal is None)
            ):
                return j
        return None

    curve = []
    tables: dict[str, dict[str, dict[str, int]]] = {}
    for threshold in THRESHOLDS:
        row: dict[str, Any] = {"threshold": threshold}
        for check in CHECKS:
            hits = false = 0
            per_kind: dict[str, dict[str, int]] = {}
            for a, b, kind, verdicts in outcomes:
                j = served(verdicts, threshold, check)
                entry = per_kind.setdefault(kind, {"pairs": 0, "hits": 0, "false_hits": 0})
                entry["pairs"] += 1
                if j is None:
                    continue
                # right: the pair's own paraphrase, or the asked text itself (cached from another pair)
                correct = normalise(cached[j]) == normalise(b) or (
                    is_paraphrase(kind) and normalise(cached[j]) == normalise(a)
                )
                if correct:
                    hits += 1
                    entry["hits"] += 1
                else:
                    false += 1
                    entry["false_hits"] += 1
            row[check] = {"paraphrase_hits": hits, "false_hits": false}
            tables[f"{threshold}/{check}"] = per_kind
        curve.append(row)
    paraphrases = sum(is_paraphrase(k) for _, _, k in pairs)
    refusals: dict[str, int] = {}
    examples = []
    for a, b, kind, verdicts in outcomes:
        for j, sim, _g, refusal in verdicts[:1]:
            if refusal is not None:
                refusals[refusal.code] = refusals.get(refusal.code, 0) + 1
            examples.append({"kind": kind, "asked": b, "cached": cached[j], "cosine": round(sim, 4),
                             "own_pair": normalise(cached[j]) == normalise(a),
                             "refusal": str(refusal) if refusal else None})  # fmt: skip
    return {"half": half, "pairs": len(pairs), "paraphrase_pairs": paraphrases, "bar": bar, "curve": curve,
            "tables": tables, "top1_refusals": refusals, "top1": examples}  # fmt: skip


def _print(report: dict[str, Any], threshold: float, show: bool) -> None:
    print(
        f"{report['half']}: {report['pairs']} pairs, {report['paraphrase_pairs']} paraphrases, bar {report['bar']}"
    )
    print("threshold | cosine only: hits / false | old guard: hits / false | verify: hits / false")
    for row in report["curve"]:
        print(f"{row['threshold']:.2f} | " + " | ".join(
            f"{row[c]['paraphrase_hits']} / {row[c]['false_hits']}" for c in CHECKS))  # fmt: skip
    table = report["tables"][f"{threshold}/verify"]
    cosine = report["tables"][f"{threshold}/cosine"]
    print(f"\nper kind at threshold {threshold} (verify; cosine only in brackets)")
    for kind in (*PARAPHRASE_KINDS, *NEAR_MISS_KINDS, *sorted(k for k in table if k not in PAIRS)):
        if kind in table:
            t, c = table[kind], cosine[kind]
            print(
                f"{kind:14} pairs {t['pairs']:3}  hits {t['hits']:3} ({c['hits']})  false {t['false_hits']:3} ({c['false_hits']})"
            )
    if show:
        for e in report["top1"]:
            bad = (is_paraphrase(e["kind"]) and e["refusal"]) or (
                not is_paraphrase(e["kind"]) and not e["refusal"]
            )
            if bad:
                print(json.dumps(e))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--half", choices=("dev", "test", "all"), default="dev")
    parser.add_argument("--pairs", choices=("fresh", "holdout", "old"), default="fresh")
    parser.add_argument("--bar", type=float, default=2.0)
    parser.add_argument("--threshold", type=float, default=0.75)
    parser.add_argument("--show", action="store_true", help="print the top candidates the check got wrong")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = anyio.run(run, args.half, args.bar, args.pairs)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print(report, args.threshold, args.show)
