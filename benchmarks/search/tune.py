"""Replay the search's ranking from a root's copy in memory, for quick tuning on one half (dev).

Reads an index built by bench.py (run it first); no re-index, no MCP. The query terms come from the search
API (`_query_terms`), the vectors from the embedder (batched), both lists from `_memory` and the fusion
from `_searcher` exactly as `_search_once` runs them; a variant changes a module constant for its run.

    python benchmarks/search/tune.py --work /tmp/search-bench --half dev [--variants baseline,rrf_k=20]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import open_index, score
from corpus import LANGUAGES

from singularity_mcp.search import _keyword, _memory, _searcher

SETTINGS: dict[str, tuple[Any, str]] = {  # variant name -> (module, constant)
    "rrf_k": (_searcher, "RRF_K"),
    "lexical_weight": (_searcher, "LEXICAL_WEIGHT"),
    "declaration_weight": (_searcher, "DECLARATION_WEIGHT"),
    "k1": (_keyword, "BM25_K1"),
    "b": (_keyword, "BM25_B"),
    "avg": (_keyword, "AVERAGE_WORDS"),
    "symbol_weight": (_keyword, "SYMBOL_WEIGHT"),
    "path_weight": (_keyword, "PATH_WEIGHT"),
    "exact_weight": (_keyword, "EXACT_WEIGHT"),
}
EXPERIMENTS = {"prf_alpha": 0.0, "prf_m": 3.0}  # tried here before any change to the search itself


@contextmanager
def variant(spec: str) -> Iterator[None]:
    """`name=value[;name=value]` settings for the duration of one run ("baseline": none)."""
    saved = []
    for part in spec.split(";") if spec != "baseline" else []:
        name, value = part.split("=")
        if name in EXPERIMENTS:
            saved.append((EXPERIMENTS, name, EXPERIMENTS[name]))
            EXPERIMENTS[name] = float(value)
            continue
        module, constant = SETTINGS[name]
        saved.append((module, constant, getattr(module, constant)))
        setattr(module, constant, float(value))
    try:
        yield
    finally:
        for module, constant, value in saved:
            if isinstance(module, dict):
                module[constant] = value
            else:
                setattr(module, constant, value)


def ranked(
    held: dict, scope: Any, terms: list, vector: np.ndarray, top_k: int = 10, feedback: bool = True
) -> list[Any]:
    best = _searcher.from_memory(held, scope, terms, vector, max(50, 3 * top_k))  # as _search_once ranks
    alpha, m = EXPERIMENTS["prf_alpha"], int(EXPERIMENTS["prf_m"])
    if (
        alpha and feedback
    ):  # pseudo-relevance feedback: the query vector moved towards the first hits' code vectors
        rows = []
        for c in best[:m]:
            copy = held[c.root_id]
            rows.append(copy.vectors[np.searchsorted(copy.ids, c.id)])
        moved = vector / np.linalg.norm(vector) + alpha * np.mean(rows, axis=0)
        return ranked(held, scope, terms, moved, top_k, feedback=False)
    return best[:top_k]


async def main(args: argparse.Namespace) -> None:
    async with open_index(Path(args.work), args.half) as (core, scope, _, queries):
        pool = (await core.database()).pool
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT id, generation FROM code_roots WHERE id = ANY(%s)", (list(scope.roots),)
            )
            generations = dict(await cur.fetchall())
            cur = await conn.execute(
                "SELECT id, start_line, end_line FROM code_chunks WHERE root_id = ANY(%s)",
                (list(scope.roots),),
            )
            lines = {r[0]: (r[1], r[2]) for r in await cur.fetchall()}
        held = await _memory.copies(pool, generations, _searcher.SNIPPET_CHARS + 1)
        terms = [await _searcher._query_terms(pool, scope, q.query) for q in queries]
        vectors = (await core.embedder()).embed_sync([q.query for q in queries])

        def run(spec: str) -> dict[str, dict[str, float]]:
            ranks: dict[str, list[int | None]] = {lang: [] for lang in LANGUAGES}
            with variant(spec):
                for q, t, v in zip(queries, terms, vectors, strict=True):
                    found = None
                    for position, c in enumerate(ranked(held, scope, t, v), start=1):
                        start, end = lines[c.id]
                        if c.rel_path == q.path and start <= q.end_line and end >= q.start_line:
                            found = position
                            break
                    ranks[q.language].append(found)
            return score(ranks)

        for spec in args.variants.split(","):
            s = run(spec)
            languages = " ".join(f"{lang[:4]} {s[lang]['mrr@10']:.3f}" for lang in LANGUAGES)
            print(f"{spec:40s} {languages}  all {s['overall']['mrr@10']:.3f}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/search-bench")
    parser.add_argument("--half", choices=("dev", "test"), default="dev")
    parser.add_argument(
        "--variants", default="baseline", help="comma-separated; each name=value[;name=value]"
    )
    anyio.run(main, parser.parse_args())
