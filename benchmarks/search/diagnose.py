"""Where the system's lists lose to the unit baselines, on one half (dev for tuning), offline.

Reads an index built by bench.py under --work (no re-index) and computes, per query, in one process:
the system's keyword list (`_query_terms` + `_lexical`), BM25 (bm25s) over the same chunks' lexemes,
exact cosine over the chunks' stored vectors, and the baselines' BM25 / dense lists over function units.
Prints each list alone and several fusions per language, then a breakdown of the queries the naive
fusion over units wins by what the target's chunk looks like (its own chunk, inside a bigger chunk, split).

    python benchmarks/search/diagnose.py --work /tmp/search-bench --half dev
"""

from __future__ import annotations

import argparse
import pickle
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import anyio
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import POOL, K, bm25_ranked, lexemes, open_index, score, unit_vectors
from corpus import LANGUAGES, Unit

from singularity_mcp.search import _keyword, _searcher

Hit = tuple[str, int, int]


def rank_of(hits: Sequence[Hit], unit: Unit) -> int | None:
    for position, (path, start, end) in enumerate(hits[:K], start=1):
        if path == unit.path and start <= unit.end_line and end >= unit.start_line:
            return position
    return None


def rrf(lists: Sequence[Sequence], k: int = 10, weights: Sequence[float] = ()) -> list:
    scores: dict = {}
    for i, ranked in enumerate(lists):
        weight = weights[i] if i < len(weights) else 1.0
        for position, key in enumerate(ranked, start=1):
            scores[key] = scores.get(key, 0.0) + weight / (k + position)
    return sorted(scores, key=lambda c: (-scores[c], str(c)))


async def collect(work: Path, half: str) -> dict:
    cache = work / f"diagnose-{half}.pkl"
    if cache.exists():
        with cache.open("rb") as f:
            return pickle.load(f)
    async with open_index(work, half) as (core, scope, units, queries):
        pool = (await core.database()).pool
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT c.id, c.rel_path, c.start_line, c.end_line, c.symbol, c.kind, c.file_id, c.embedding, "
                "  (SELECT array_agg(v.lexeme ORDER BY v.lexeme) FROM unnest(l.lexemes) v), "
                "  (SELECT array_agg(coalesce(cardinality(v.positions), 1) ORDER BY v.lexeme) FROM unnest(l.lexemes) v), "
                "  c.language "
                "FROM code_chunks c JOIN code_chunk_lexemes l ON l.chunk_id = c.id "
                "WHERE c.root_id = ANY(%s) AND c.embedding IS NOT NULL ORDER BY c.id",
                (list(scope.roots),),
            )
            rows = await cur.fetchall()
        chunks = {r[0]: (r[1], r[2], r[3], r[4], r[5], r[6], r[10]) for r in rows}
        ids = [r[0] for r in rows]
        vectors = np.stack([np.asarray(r[7].to_numpy(), dtype=np.float32) for r in rows])
        chunk_tokens = [
            [lex for lex, n in zip(r[8] or [], r[9] or [], strict=True) for _ in range(n)] for r in rows
        ]
        embedder = await core.embedder()
        query_vectors = embedder.embed_sync([q.query for q in queries])
        query_tokens = await lexemes(pool, [q.query for q in queries])
        keyword, exact, keyword_scores = [], [], []
        for q in queries:
            terms = await _searcher._query_terms(pool, scope, q.query)
            found = await _searcher._lexical(pool, scope, terms, _keyword.FIRST_STAGE)
            keyword.append([c.id for c in found[:POOL]])
            keyword_scores.append({c.id: c.score for c in found})
            exact.append({c.id for c in found if c.exact >= _searcher.EXACT_FIRST})
        # BM25 over the chunks' own lexemes (all weights: names, path words and code), and over units
        bm25_chunks = [[ids[i] for i in ranked] for ranked in bm25_ranked(chunk_tokens, query_tokens)]
        unit_tokens = await lexemes(pool, [f"{u.path} {u.name}\n{u.text}" for u in units])
        bm25_units = bm25_ranked(unit_tokens, query_tokens)
        uvec, _ = await unit_vectors(core, units, work)
    data = {
        "queries": queries, "units": [(u.path, u.start_line, u.end_line, u.name, u.language) for u in units],
        "chunks": chunks, "ids": np.array(ids), "vectors": vectors, "qv": query_vectors,
        "keyword": keyword, "exact": exact, "keyword_scores": keyword_scores, "bm25_chunks": bm25_chunks, "bm25_units": bm25_units,
        "uvec": uvec,
    }  # fmt: skip
    with cache.open("wb") as f:
        pickle.dump(data, f)
    return data


def main(args: argparse.Namespace) -> None:
    d = anyio.run(collect, Path(args.work).resolve(), args.half)
    queries: list[Unit] = d["queries"]
    chunks, ids, units = d["chunks"], d["ids"], d["units"]
    cos = d["qv"] @ d["vectors"].T
    ucos = d["qv"] @ d["uvec"].T

    def chunk_hits(ranked: Sequence[int]) -> list[Hit]:
        seen, out = set(), []
        for cid in ranked:
            path, start, end, symbol, _, file_id, _ = chunks[cid]
            key = (file_id, symbol) if symbol else cid
            if key in seen:
                continue
            seen.add(key)
            out.append((path, start, end))
        return out

    def unit_hits(ranked: Sequence[int]) -> list[Hit]:
        return [units[i][:3] for i in ranked]

    def dense_chunks(i: int) -> list[int]:
        return list(ids[np.argsort(-cos[i])[:POOL]])

    def dense_units(i: int) -> list[int]:
        return list(np.argsort(-ucos[i])[:POOL])

    def report(label: str, hits: Callable[[int], list[Hit]]) -> dict:
        by_language: dict[str, list[int | None]] = {lang: [] for lang in LANGUAGES}
        for i, q in enumerate(queries):
            by_language[q.language].append(rank_of(hits(i), q))
        figures = score({lang: r for lang, r in by_language.items() if r})
        cells = " ".join(f"{lang[:2]} {m['mrr@10']:.3f}" for lang, m in figures.items() if lang != "overall")
        print(f"{label:52} {cells} | all {figures['overall']['mrr@10']:.3f}")
        return by_language

    promote = lambda i, ranked: sorted(ranked, key=lambda c: c not in d["exact"][i])  # noqa: E731
    print(f"{args.half}: {len(queries)} queries, {len(chunks)} chunks, {len(units)} units; MRR@10")
    report("keyword list (system)", lambda i: chunk_hits(d["keyword"][i]))
    report("BM25 over chunks (bm25s)", lambda i: chunk_hits(d["bm25_chunks"][i]))
    report("BM25 over units (baseline)", lambda i: unit_hits(d["bm25_units"][i]))
    report("dense over chunks (exact)", lambda i: chunk_hits(dense_chunks(i)))
    report("dense over units (baseline)", lambda i: unit_hits(dense_units(i)))
    report("system fusion (kw + dense chunks, exact first)",
           lambda i: chunk_hits(promote(i, rrf([d["keyword"][i], dense_chunks(i)]))))  # fmt: skip
    report(
        "RRF bm25 chunks + dense chunks", lambda i: chunk_hits(rrf([d["bm25_chunks"][i], dense_chunks(i)]))
    )
    report("RRF bm25 chunks + dense chunks, exact first",
           lambda i: chunk_hits(promote(i, rrf([d["bm25_chunks"][i], dense_chunks(i)]))))  # fmt: skip
    report("naive RRF over units (baseline)", lambda i: unit_hits(rrf([d["bm25_units"][i], dense_units(i)])))
    # mixed: units' dense list replaces the chunk dense list (hits as line ranges)
    report("RRF kw(system) + dense units",
           lambda i: rrf([chunk_hits(promote(i, d["keyword"][i])), unit_hits(dense_units(i))]))  # fmt: skip
    report("RRF bm25 units + dense chunks",
           lambda i: rrf([unit_hits(d["bm25_units"][i]), chunk_hits(dense_chunks(i))]))  # fmt: skip

    id_index = {int(c): n for n, c in enumerate(ids)}

    def convex(i: int, alpha: float, norm: str, depth: int = 400) -> list[int]:
        kw = d["keyword_scores"][i]
        top = np.argsort(-cos[i])[:depth]
        pool = set(kw) | {int(ids[j]) for j in top}
        c = np.array([cos[i][id_index[x]] for x in pool])
        k = np.array([kw.get(x, 0.0) for x in pool])
        if norm == "minmax":
            lo = cos[i][top[-1]]
            c = np.clip((c - lo) / max(1e-9, c.max() - lo), 0, None)
        kmax = k.max() if len(k) and k.max() > 0 else 1.0
        s = alpha * k / kmax + (1 - alpha) * c
        order = [x for _, x in sorted(zip(-s, pool, strict=True))]
        return promote(i, order[:POOL])

    for norm in ("raw", "minmax"):
        for alpha in (0.2, 0.3, 0.4, 0.5, 0.6):
            report(
                f"convex {norm} alpha {alpha}, exact first",
                lambda i, a=alpha, n=norm: chunk_hits(convex(i, a, n)),
            )

    # Where naive-units beats the system: what the target's chunks look like.
    why: Counter = Counter()
    for i, q in enumerate(queries):
        sys_rank = rank_of(chunk_hits(promote(i, rrf([d["keyword"][i], dense_chunks(i)]))), q)
        naive_rank = rank_of(unit_hits(rrf([d["bm25_units"][i], dense_units(i)])), q)
        if (naive_rank or 99) >= (sys_rank or 99):
            continue
        over = [c for c in chunks.values() if c[0] == q.path and c[1] <= q.end_line and c[2] >= q.start_line]
        own = [c for c in over if c[1] == q.start_line and c[2] == q.end_line]
        kinds = "own" if own else ("split" if len(over) > 1 else f"inside {over[0][4]}" if over else "none")
        why[(q.language, kinds)] += 1
    print("queries where naive-units ranks the target better, by the target's chunks:")
    for (lang, kind), n in sorted(why.items()):
        print(f"  {lang:11} {kind:20} {n}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", default="/tmp/search-bench")
    parser.add_argument("--half", choices=["dev", "test"], default="dev")
    main(parser.parse_args())
