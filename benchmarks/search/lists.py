"""Diagnose the system's two ranked lists on one half (dev for tuning): each list alone, the dense list
with variants (non-definition or non-function chunks pushed down, split definitions' later pieces
dropped), HNSW against exact cosine, and the fusion over RRF k, keyword weights, exact-name promotion and
definition-level fusion. Reads an index built by bench.py (run it with --reuse first); no re-index.

    python benchmarks/search/lists.py --work /tmp/search-bench --half dev

The keyword list comes from the search API (`_query_terms` + `_lexical`), the dense list from all of the
root's stored chunk vectors (exact cosine) and, for comparison, from the HNSW index (`_dense`); fusion is
replayed as `_search_once` does it (weighted RRF, exact-name first, pieces of one definition collapsed).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import anyio
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import K, open_index, score
from corpus import LANGUAGES, Unit

from singularity_mcp.search import _searcher

Chunk = tuple[int, str, int, int, str | None, str, int]  # id, path, start, end, symbol, kind, file id


def definition_key(chunk: Chunk) -> tuple[int, str] | int:
    """Pieces of one definition share a key (as `collapse` does); other chunks are their own."""
    return (chunk[6], chunk[4]) if chunk[4] else chunk[0]


def rank(chunks: dict[int, Chunk], ids: Sequence[int], unit: Unit) -> int | None:
    """1-based rank of the target among the collapsed hits, as the benchmark scores it (top K)."""
    seen: set = set()
    for chunk_id in ids:
        chunk = chunks[chunk_id]
        key = definition_key(chunk)
        if key in seen:
            continue
        seen.add(key)
        if len(seen) > K:
            return None
        if chunk[1] == unit.path and chunk[2] <= unit.end_line and chunk[3] >= unit.start_line:
            return len(seen)
    return None


def rrf(lists: Sequence[Sequence[int]], weights: Sequence[float], k: int) -> list[int]:
    scores: dict[int, float] = {}
    for ranked, weight in zip(lists, weights, strict=True):
        for position, chunk_id in enumerate(ranked, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (k + position)
    return sorted(scores, key=lambda c: (-scores[c], c))


def dedupe(chunks: dict[int, Chunk], ids: Sequence[int]) -> list[int]:
    """One entry per definition (its best piece), for definition-level fusion."""
    seen: set = set()
    out = []
    for chunk_id in ids:
        key = definition_key(chunks[chunk_id])
        if key not in seen:
            seen.add(key)
            out.append(chunk_id)
    return out


async def collect(work: Path, half: str) -> tuple[list[Unit], dict[int, Chunk], dict[str, list]]:
    async with open_index(work, half) as (core, scope, _, queries):
        pool = (await core.database()).pool
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT id, rel_path, start_line, end_line, symbol, kind, file_id, embedding FROM code_chunks "
                "WHERE root_id = ANY(%s) AND embedding IS NOT NULL ORDER BY id",
                (list(scope.roots),),
            )
            rows = await cur.fetchall()
        chunks = {r[0]: tuple(r[:7]) for r in rows}
        ids = np.array([r[0] for r in rows])
        vectors = np.stack([np.asarray(r[7].to_numpy() if hasattr(r[7], "to_numpy") else r[7]) for r in rows])
        query_vectors = (await core.embedder()).embed_sync([q.query for q in queries])
        lists: dict[str, list] = {"keyword": [], "exact": [], "hnsw": [], "cosine": []}
        for q, vector in zip(queries, query_vectors, strict=True):
            terms = await _searcher._query_terms(pool, scope, q.query)
            keyword = await _searcher._lexical(pool, scope, terms, 50)
            lists["keyword"].append([c.id for c in keyword])
            lists["exact"].append({c.id for c in keyword if c.exact >= _searcher.EXACT_FIRST})
            lists["hnsw"].append([c.id for c in await _searcher._dense(pool, scope, vector, 50)])
            lists["cosine"].append(vectors @ vector)
    lists["ids"] = ids
    return queries, chunks, lists


def report(queries: list[Unit], label: str, ranked: Callable[[int], Sequence[int]], chunks) -> None:
    by_language: dict[str, list[int | None]] = {lang: [] for lang in LANGUAGES}
    for i, q in enumerate(queries):
        by_language[q.language].append(rank(chunks, ranked(i), q))
    figures = score({lang: r for lang, r in by_language.items() if r})
    cells = " ".join(f"{lang[:2]} {m['mrr@10']:.3f}" for lang, m in figures.items() if lang != "overall")
    print(f"{label:58} {cells} | overall {figures['overall']['mrr@10']:.3f}")


def main(args: argparse.Namespace) -> None:
    queries, chunks, lists = anyio.run(collect, Path(args.work).resolve(), args.half)
    ids = lists["ids"]
    kinds = [chunks[i][5] for i in ids]
    no_symbol = np.array([chunks[i][4] is None for i in ids], dtype=float)
    not_function = np.array([k not in ("function", "method") for k in kinds], dtype=float)
    pieces: dict = {}
    for i in ids:
        pieces.setdefault(definition_key(chunks[i]), []).append(i)
    later_piece = np.array(
        [
            len(p := pieces[definition_key(chunks[i])]) > 1 and i != min(p, key=lambda c: chunks[c][2])
            for i in ids
        ],
        dtype=float,
    )

    def dense(penalty: np.ndarray | float = 0.0) -> Callable[[int], list[int]]:
        return lambda i: list(ids[np.argsort(-(lists["cosine"][i] - penalty))[:50]])

    print(f"{args.half} half, {len(queries)} queries, {len(chunks)} chunks, MRR@10")
    report(queries, "keyword list alone", lambda i: lists["keyword"][i], chunks)
    report(queries, "dense list alone (HNSW)", lambda i: lists["hnsw"][i], chunks)
    report(queries, "dense list alone (exact cosine)", dense(), chunks)
    report(queries, "dense, chunks without a definition pushed down", dense(no_symbol), chunks)
    report(queries, "dense, chunks other than functions/methods pushed down", dense(not_function), chunks)
    report(queries, "dense, only the first piece of a split definition", dense(9 * later_piece), chunks)
    for k in (5, 10, 20):
        for weight in (1.0, 1.25, 1.5):
            for promote in (True, False):

                def fused(i: int, k: int = k, weight: float = weight, promote: bool = promote) -> list[int]:
                    out = rrf([lists["keyword"][i], dense()(i)], (weight, 1.0), k)
                    return sorted(out, key=lambda c: c not in lists["exact"][i]) if promote else out

                label = f"RRF k {k}, keyword weight {weight}" + (", exact-name first" if promote else "")
                report(queries, label, fused, chunks)
    report(
        queries,
        "definition-level RRF k 10 (one entry per definition), exact-name first",
        lambda i: sorted(
            rrf([dedupe(chunks, lists["keyword"][i]), dedupe(chunks, dense()(i))], (1.0, 1.0), 10),
            key=lambda c: c not in lists["exact"][i],
        ),
        chunks,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", default="/tmp/search-bench")
    parser.add_argument("--half", choices=["dev", "test"], default="dev")
    main(parser.parse_args())
