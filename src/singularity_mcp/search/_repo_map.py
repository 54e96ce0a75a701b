"""A repository map: files and their most important definitions' signature lines, packed to a token budget.

The ranking follows Aider's repo map (aider/repomap.py, `get_ranked_tags`): files are nodes; a file that
references a name defined in another file gets an edge to it, weighted by sqrt(lines referencing it) and
by the name (x10 when the focus mentions it, x10 for long snake/camel names, x0.1 for `_private` names
and for names defined in more than 5 files); personalised PageRank ranks the files, and each file's rank
flows along its edges to the definitions it references. Focus files and identifiers personalise it as in
Aider. Beyond Aider, a free-text focus (a sentence) personalises it too: its words are matched against
the words of definition names (split at snake_case/camelCase, weighted by how rare they are).
PageRank is a numpy power iteration on the edge list (no graph library).
"""

from __future__ import annotations

import math
import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from singularity_mcp.errors import InvalidInput
from singularity_mcp.search import _symbol_store as store
from singularity_mcp.search.symbol_models import RepoMapResult

if TYPE_CHECKING:
    from singularity_mcp.core import Core

MIN_BUDGET = 64
MAX_BUDGET = 16_000
DAMPING = 0.85
ITERATIONS = 60
MAX_FOCUS = 2000
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_TOKEN = re.compile(r"[\w./\\:-]+")
_STOP = frozenset(
    {"a", "an", "the", "of", "to", "in", "on", "for", "and", "or", "is", "are", "be", "by", "with", "from",
     "as", "at", "it", "its", "this", "that", "into", "return", "returns", "get", "set", "if", "not", "new"}
)  # fmt: skip


def stem(word: str) -> str:
    """A light suffix strip so 'parsed', 'parses', 'parsing' and 'parse' meet ('formatted' -> 'format')."""
    if word.endswith("ss"):
        return word
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]
    return word


def words(text: str) -> list[str]:
    """Stemmed lower-case words of identifiers and prose: `parseHTTPHeaders` -> pars, http, header."""
    out = []
    for w in _WORD.findall(text):
        w = w.lower()
        if w not in _STOP and len(w) > 1:
            out.append(stem(w))
    return out


@dataclass(slots=True)
class Focus:
    files: set[str]
    identifiers: set[str]
    words: list[str]


def parse_focus(focus: str | None, files: Sequence[str], names: set[str]) -> Focus:
    """Which files, defined identifiers and words a focus text names."""
    if not focus:
        return Focus(set(), set(), [])
    by_base: dict[str, list[str]] = defaultdict(list)
    for f in files:
        by_base[f.rsplit("/", 1)[-1]].append(f)
    known = set(files)
    focus_files: set[str] = set()
    identifiers: set[str] = set()
    for token in _TOKEN.findall(focus):
        token = token.strip("./:,-").replace("\\", "/")
        if not token:
            continue
        if token in known:
            focus_files.add(token)
        elif "/" in token and (hits := [f for f in files if f.endswith("/" + token)]):
            focus_files.update(hits)
        elif token in by_base:
            focus_files.update(by_base[token])
        for part in re.split(r"[.:/]+", token):
            if part in names:
                identifiers.add(part)
    return Focus(focus_files, identifiers, words(focus))


def _is_long_identifier(name: str) -> bool:
    return len(name) >= 8 and (
        "_" in name.strip("_") or "-" in name or (name != name.lower() and name != name.upper())
    )


def pagerank(
    n: int, src: list[int], dst: list[int], weight: list[float], personal: list[float]
) -> list[float]:
    """Personalised PageRank by power iteration; dangling nodes jump by the personalisation vector."""
    import numpy as np

    p = np.asarray(personal, dtype=np.float64)
    p = p / p.sum() if p.sum() > 0 else np.full(n, 1.0 / n)
    if not src:
        return p.tolist()
    s, d, w = np.asarray(src), np.asarray(dst), np.asarray(weight, dtype=np.float64)
    out = np.bincount(s, weights=w, minlength=n)
    share = w / out[s]
    dangling = out == 0
    rank = p.copy()
    for _ in range(ITERATIONS):
        flow = np.bincount(d, weights=rank[s] * share, minlength=n)
        new = DAMPING * (flow + rank[dangling].sum() * p) + (1 - DAMPING) * p
        if np.abs(new - rank).sum() < 1e-9:
            rank = new
            break
        rank = new
    return rank.tolist()


def _relevance(definitions: Sequence[store.DefinitionRow], focus_words: list[str]) -> dict[int, float]:
    """Free-text focus: per definition, the IDF mass of the focus words in its name (by index)."""
    if not focus_words:
        return {}
    wanted = set(focus_words)
    df: dict[str, int] = defaultdict(int)
    def_words = [set(words(d.name)) for d in definitions]
    for ws in def_words:
        for w in ws & wanted:
            df[w] += 1
    total = max(1, len(definitions))
    relevance = {}
    for i, ws in enumerate(def_words):
        score = sum(math.log(1 + total / df[w]) for w in ws & wanted)
        if score:
            relevance[i] = score / math.sqrt(len(ws))
    return relevance


def rank_definitions(
    definitions: Sequence[store.DefinitionRow], references: Sequence[tuple[str, str, int]], focus: Focus
) -> list[tuple[float, int]]:
    """(score, index into `definitions`), best first."""
    files = sorted({d.rel_path for d in definitions} | {r[0] for r in references})
    index = {f: i for i, f in enumerate(files)}
    defined_in: dict[str, set[str]] = defaultdict(set)
    for d in definitions:
        defined_in[d.name].add(d.rel_path)

    relevance = _relevance(definitions, focus.words)
    top = max(relevance.values(), default=0.0)
    name_relevance: dict[str, float] = defaultdict(float)
    for i, score in relevance.items():
        name = definitions[i].name
        name_relevance[name] = max(name_relevance[name], score / top)

    def multiplier(name: str) -> float:
        m = 1.0 + 9.0 * name_relevance.get(name, 0.0)
        if name in focus.identifiers:
            m *= 10
        if _is_long_identifier(name):
            m *= 10
        if name.startswith("_"):
            m *= 0.1
        if len(defined_in[name]) > 5:
            m *= 0.1
        return m

    personal = [1.0 / len(files)] * len(files) if files else []
    for f in focus.files:
        if f in index:
            personal[index[f]] += 100.0 / len(focus.files)
    for d in definitions:
        if d.name in focus.identifiers:
            personal[index[d.rel_path]] += 10.0
    for i, score in relevance.items():
        personal[index[definitions[i].rel_path]] += 10.0 * (score / top) ** 2
    src, dst, weight, edge_names = [], [], [], []
    for referencer, name, count in references:
        definers = defined_in.get(name)
        if not definers:
            continue
        w = multiplier(name) * math.sqrt(count)
        for definer in definers:
            src.append(index[referencer])
            dst.append(index[definer])
            weight.append(w)
            edge_names.append(name)
    rank = pagerank(len(files), src, dst, weight, personal)
    out_weight = [0.0] * len(files)
    for s, w in zip(src, weight, strict=True):
        out_weight[s] += w
    flowing: dict[tuple[str, str], float] = defaultdict(float)  # (defining file, name) -> rank received
    for s, target, w, name in zip(src, dst, weight, edge_names, strict=True):
        flowing[(files[target], name)] += rank[s] * w / out_weight[s]
    per_file: dict[str, int] = defaultdict(int)
    for d in definitions:
        per_file[d.rel_path] += 1
    scored = []
    for i, d in enumerate(definitions):
        # Unreferenced definitions still carry a sliver of their file's rank (containers before members).
        base = rank[index[d.rel_path]] * (0.02 if d.kind in ("class", "struct", "interface", "trait", "module")
                                          else 0.01) / per_file[d.rel_path]  # fmt: skip
        score = flowing.get((d.rel_path, d.name), 0.0) + base
        if i in relevance or d.name in focus.identifiers:
            score *= 1 + 9.0 * relevance.get(i, 0.0) / top if top else 1
            score *= 10 if d.name in focus.identifiers else 1
        scored.append((score, i))
    scored.sort(key=lambda t: (-t[0], t[1]))
    return scored


def render(
    definitions: Sequence[store.DefinitionRow], chosen: Sequence[int], file_order: Sequence[str]
) -> str:
    by_file: dict[str, list[store.DefinitionRow]] = defaultdict(list)
    for i in chosen:
        by_file[definitions[i].rel_path].append(definitions[i])
    blocks = []
    for f in file_order:
        if f not in by_file:
            continue
        lines = [f"{f}:"]
        for d in sorted(by_file[f], key=lambda d: d.start_line):
            lines.append(_line(d))
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def _line(d: store.DefinitionRow) -> str:
    depth = d.qualified_name.count(".") - d.name.count(".")
    return f"{d.start_line:>5}│ {'  ' * min(depth, 4)}{d.signature}"


def pack(
    definitions: Sequence[store.DefinitionRow],
    ranked: Sequence[tuple[float, int]],
    budget: int,
    count_tokens: Callable[[str], int],
) -> tuple[list[int], list[str], int]:
    """The best definitions whose lines (plus their files' header lines) fit in `budget` tokens:
    (chosen indices, files by rank, tokens used). Lines are counted one by one (a WordPiece tokenizer
    splits at whitespace, so the sum is the count of the joined text)."""
    chosen: list[int] = []
    file_order: list[str] = []
    used = 0
    misses = 0
    for _, i in ranked:
        d = definitions[i]
        cost = count_tokens(_line(d))
        if d.rel_path not in file_order:
            cost += count_tokens(f"{d.rel_path}:")
        if used + cost > budget:
            misses += 1
            if misses > 50:
                break
            continue
        used += cost
        chosen.append(i)
        if d.rel_path not in file_order:
            file_order.append(d.rel_path)
    return chosen, file_order, used


async def repo_map(
    core: Core, path: str, *, focus: str | None = None, token_budget: int = 2000
) -> RepoMapResult:
    """A map of the indexed folder `path` (or a sub-folder of one), ranked toward `focus` when given."""
    from singularity_mcp.search._symbol_search import _scope

    started = time.perf_counter()
    if not MIN_BUDGET <= token_budget <= MAX_BUDGET:
        raise InvalidInput(f"token_budget must be between {MIN_BUDGET} and {MAX_BUDGET} (got {token_budget})")
    if focus is not None and len(focus) > MAX_FOCUS:
        raise InvalidInput(
            f"focus is {len(focus)} characters; keep it under {MAX_FOCUS} (file names, identifiers or a sentence)"
        )
    if not path or not path.strip():
        raise InvalidInput("path is empty: pass the absolute path of an indexed folder")
    scope = await _scope(core, path)
    (root_path,) = scope.roots.values()
    database = await core.database()
    async with store.reading(database.pool) as conn:
        definitions = await store.all_definitions(conn, scope)
        references = await store.reference_counts(conn, scope)
    prefix = scope.parts[0][1] if scope.parts else None  # a sub-folder of the root
    notes: list[str] = []
    files = sorted({d.rel_path for d in definitions})
    parsed = parse_focus(focus, files, {d.name for d in definitions})
    if focus and not (parsed.files or parsed.identifiers or parsed.words):
        notes.append("the focus named no indexed file or identifier; the map is not personalised")
    ranked = rank_definitions(definitions, references, parsed)
    embedder = await core.embedder()
    cache: dict[str, int] = {}

    def count(text: str) -> int:
        if text not in cache:
            cache[text] = embedder.count_tokens(text)
        return cache[text]

    chosen, file_order, used = pack(definitions, ranked, token_budget, count)
    if not definitions:
        notes.append("no definitions indexed under this folder (call index_codebase on it first)")
    elif len(chosen) < len(definitions):
        notes.append(
            f"showing {len(chosen)} of {len(definitions)} definitions in {len(file_order)} of {len(files)} "
            "files; raise token_budget or pass focus= to steer it"
        )
    return RepoMapResult(
        root=root_path + ("/" + prefix.rstrip("/") if prefix else ""),
        text=render(definitions, chosen, file_order),
        files=file_order,
        definitions=len(chosen),
        tokens=used,
        token_budget=token_budget,
        files_total=len(files),
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        notes=notes,
    )
