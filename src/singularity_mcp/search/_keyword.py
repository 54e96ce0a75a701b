"""The keyword score of a chunk, in one place: its constants and the query terms it is computed over.

Two implementations compute it over the same `code_chunk_lexemes` rows: a SQL statement
(`_searcher._lexical`, for roots still being indexed and very large scopes) and a numpy one over a root's
postings in memory (`_memory.keyword`, every complete root of ordinary size);
tests/search/test_units.py checks that they rank alike.

Per chunk and matched term: `idf * (bm25(tf, n) + NAME * a + PATH * b + EXACT * c)`, where tf is the
term's occurrences in the code (tsvector weight D), n the chunk's distinct words, and a, b, c whether the
term is in a definition's name (A), in the file's path (B), or is a definition's exact name (C) while the
query has it as a whole identifier.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

SYMBOL_WEIGHT = 1.0  # extra weight of a term found in a definition's name (tsvector weight A)
PATH_WEIGHT = 0.3  # ... in the file path (weight B)
EXACT_WEIGHT = 2.0  # ... when a whole query identifier is a definition's exact name (weight C)
BM25_K1 = 1.2
BM25_B = 0.75
AVERAGE_WORDS = 40.0  # typical distinct words of a chunk (BM25's average length)
MAX_TERMS = 12
# Candidates ranked by summed IDF before the full score. 120 ranks as well as 400 did on the dev half
# (MRR@10 0.494 vs 0.495, 480 queries) at about half the keyword SQL time (p50 8.6 vs 15.2 ms); scoring
# every matching chunk (cheap in memory) measured the same on the dev half (0.530 vs 0.528).
FIRST_STAGE = 120
COMMON_TERM_SHARE = 0.4  # terms in more than this share of chunks carry little signal; dropped
SMALL_CORPUS = 200  # ... unless the searched chunks are this few
LEXICAL_ROW_BUDGET = 20_000  # rarest terms first, until their chunks add up to this many
_LEXEME = re.compile(r"^[a-z0-9]+$")


@dataclass(frozen=True, slots=True)
class Term:
    """A query lexeme: its IDF over the searched roots and, when it is a whole identifier of the query,
    its strength (COMPOUND, CAPITALISED; 0 otherwise): a definition with exactly that name is the
    strongest evidence there is."""

    lexeme: str
    idf: float
    whole: int


def choose_terms(counted: list[tuple[str, int, int]], total: int) -> list[Term]:
    """The query terms to score, from (lexeme, chunks holding it, whole-identifier strength) and the
    number of chunks searched: rarest first, terms in no chunk and very common ones dropped, at most
    MAX_TERMS whose chunks add up to LEXICAL_ROW_BUDGET."""
    terms = []
    for lexeme, ndoc, whole in counted:
        if ndoc == 0 or not _LEXEME.match(lexeme):
            continue
        idf = math.log(1 + (total - ndoc + 0.5) / (ndoc + 0.5))
        terms.append((Term(lexeme, idf, whole), ndoc))
    terms.sort(key=lambda t: (-t[0].idf, t[0].lexeme))  # rarest first
    if total >= SMALL_CORPUS:
        terms = [t for t in terms if t[1] <= COMMON_TERM_SHARE * total]
    chosen: list[Term] = []
    visited = 0
    for term, ndoc in terms[:MAX_TERMS]:  # bound the rows the lookups visit
        if chosen and visited + ndoc > LEXICAL_ROW_BUDGET:
            break
        chosen.append(term)
        visited += ndoc
    return chosen
