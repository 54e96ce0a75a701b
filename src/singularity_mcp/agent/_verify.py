"""The semantic cache's verification step: may the answer cached for one prompt serve another?

A cosine above the threshold says two prompts read alike, not that they ask the same thing: "convert a
string to an integer" and "convert an integer to a string" score 0.996 with MiniLM, "increase" and
"decrease" are closer as words than "halt" and "stop". So every candidate above the threshold is also
aligned word by word, and refused unless

- every content word on each side has a counterpart on the other: the same word or stem, an
  abbreviation (`env` / environment, `db` / database, `CLI` / command line interface), a compound
  (`hashmap` / hash map), or a word whose own embedding is at least `bar` alike (synonyms that close);
  a word that is the other with a negating prefix (lock / unlock, hashable / unhashable) never aligns;
- every word keeps its place in directed relations: a word before `to`/`into` (or `from`, `with`) on
  one side may not stand only after it on the other, so "A to B" never serves "B to A", "port 8080
  to port 80" never serves "port 80 to port 8080", "replace tabs with spaces" never serves "replace
  spaces with tabs";
- both ask the same kind of question (how / what / why / when / where / which / should), and
  numbers and languages/technologies agree (negation and identifiers need no check of their own: "not",
  "without", `WaitGroup` are content words that must align like any other).

No list of opposites is involved: an antonym fails because nothing aligns with it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from singularity_mcp.agent._guard import _NUMBER_WORDS, _TECH_ALIASES, signature

if TYPE_CHECKING:
    import numpy as np

#: Default similarity two different words need to align (tuned on the dev half of fresh_pairs.py).
DEFAULT_BAR = 0.86

#: Words that carry no content: articles, pronouns, auxiliaries, question frames, politeness.
_STOP = frozenset(
    """
    a an the this that these those it its i me my we our you your they them their he she his her
    do does did doing done can could would should will shall may might must is are was were be been
    being am has have had having how what whats which where when why who whom whose whether if than
    then so and or but nor as of at by for with about in on via using use used within inside per
    there here some any each such own very just also too quite really exactly simply properly
    way ways best easiest simplest proper right correct good better quick quickly simple basic
    please thanks thank sorry hey hi hello help explain tell show give walk through need needed want
    like know idea someone anyone something anything possible able take takes let lets make
    ok okay question vs versus between built getting started
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
#: Frame verbs that only frame the question when followed by "me" ("show me how", "tell me").
_FRAME_BEFORE_ME = frozenset({"show", "tell", "give", "help", "walk", "let"})
#: Words that stay content although they look like function words.
_KEEP = frozenset({"not", "no", "never", "without", "non", "up", "down", "out", "off", "all", "every",
                   "only", "first", "last", "over", "under", "back", "before", "after"})  # fmt: skip
#: Markers of a directed relation: the words on each side must keep their roles.
_DIRECTION = frozenset({"to", "into", "onto", "from", "towards", "toward", "with"})
_TECHNOLOGIES = frozenset(_TECH_ALIASES.values())
_QUESTION_WORDS = ("how", "what", "why", "when", "where", "which", "should")
#: "what's the way to", "what does it take to", "what's needed to", "what's the command to": a how question
_WHAT_IS_HOW = frozenset({"way", "ways", "take", "needed", "command", "steps"})
_MARKER_CLASS = {"from": "from", "with": "with"}  # to, into, onto, toward(s): "to"
_SETTING = frozenset({"in", "on", "using", "for", "with", "via", "within", "inside", "under"})
#: Before these, a lower-case "go" is the language ("in go"); elsewhere it is the verb ("files go in").
_BEFORE_GO_LANGUAGE = frozenset({"in", "with", "using", "for", "to", "of", "and", "or", "vs"})
_ARTICLES = frozenset({"a", "an", "the", "my", "your", "our", "their", "its", "this", "that"})
_NEGATING_PREFIXES = ("un", "de", "dis", "non", "in", "im", "ir", "il", "anti", "counter")

#: Words a programmer uses interchangeably for one operation or thing. A synonym list can only fail
#: closed: a pair it lacks is a missed hit, never a wrong answer (unlike a list of opposites, which fails
#: open on every opposite it lacks). Written from general usage, not from the labelled pairs; each group
#: holds words that name the same thing in every context a coding question puts them in.
_SYNONYM_GROUPS: tuple[frozenset[str], ...] = tuple(
    frozenset(group.split())
    for group in (
        "delete remove erase",
        "create make",
        "start launch spawn begin",
        "stop halt terminate kill",
        "merge combine",
        "concatenate concat join",
        "convert transform turn cast",
        "check verify validate",
        "get fetch retrieve obtain access",
        "find search locate",
        "execute run",
        "call invoke",
        "print display show",
        "copy clone",
        "update modify edit change",
        "sleep wait pause delay",
        "size length",
        "element item",
        "strip trim",
        "folder directory",
        "cancel abort",
        "fix resolve solve",
        "clear wipe",
        "list enumerate",
        "character letter",
        "whole entire",
        "slow sluggish",
        "big large",
        "small little",
    )
)
_SYNONYM_OF = {word: f"~{min(group)}" for group in _SYNONYM_GROUPS for word in group}

_TOKEN = re.compile(r"[a-z0-9]+(?:[.+#][a-z0-9+#]+)*[+#]*|[+#]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z][a-z])|(?<=[a-z])(?=[A-Z])")


@dataclass(frozen=True)
class Refusal:
    """Why a cached answer may not serve a prompt: a short code (counted in stats) and a detail."""

    code: str
    detail: str

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


@dataclass(frozen=True)
class _Token:
    text: str
    stems: frozenset[str]
    exact_only: bool
    """Numbers and technology names align only with themselves."""


@dataclass(frozen=True)
class Parsed:
    """A prompt's question type, content words (in order) and each one's roles in directed relations."""

    asks: str
    """What kind of answer it wants: how (a procedure), what, why, when, where, which, should (advice)."""
    tokens: tuple[_Token, ...]
    roles: tuple[frozenset[str], ...]
    """Per token: which side of which relation it stands on ("before to", "after from", "before with", ...)."""


def _stems(word: str) -> frozenset[str]:
    stems = {word}
    if len(word) == 4 and word.endswith("s") and not word.endswith("ss"):
        stems.add(word[:-1])  # deps, args, vars
    if len(word) > 4:
        for suffix, repl in (("ies", "y"), ("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e"), ("es", ""),
                             ("s", ""), ("ly", ""), ("er", ""), ("ers", "")):  # fmt: skip
            if word.endswith(suffix) and not word.endswith("ss"):
                stem = word[: -len(suffix)] + repl
                if len(stem) >= 3:
                    stems.add(stem)
                    if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "aeiouls":
                        stems.add(stem[:-1])  # running -> runn -> run
    stems |= {_SYNONYM_OF[stem] for stem in stems if stem in _SYNONYM_OF}  # a shared group aligns
    return frozenset(stems)


def _words(prompt: str) -> list[str]:
    text = unicodedata.normalize("NFKC", prompt)
    pieces: list[str] = []
    for raw in re.split(r"\s+", text):
        lowered = raw.lower().strip(".,;:!?()[]{}\"'`")
        bare = raw.strip(".,;:!?()[]{}\"'`")
        if bare == "go" and (not pieces or pieces[-1] not in _BEFORE_GO_LANGUAGE):
            continue  # the verb
        if lowered in _TECH_ALIASES:
            pieces.append(lowered)
        else:
            pieces.append(_CAMEL.sub(" ", raw).lower())
    text = " ".join(pieces).replace("’", "'")
    text = re.sub(r"n't\b", " not", text)
    text = re.sub(r"'(s|d|m|re|ve|ll)\b", "", text)
    text = re.sub(r"[-/_]", " ", text)
    return [w.rstrip(".") for w in _TOKEN.findall(text)]


@lru_cache(maxsize=4096)
def parse(prompt: str) -> Parsed:
    """Content tokens and directed relations of a raw prompt (pure; cached)."""
    words = _words(prompt)
    tokens: list[_Token] = []
    index_of: list[int | None] = []  # word position -> token index (None for a stop word)
    for i, word in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        is_stop = (word in _STOP or word in _DIRECTION or word in _ARTICLES) and word not in _KEEP
        if word in _FRAME_BEFORE_ME and nxt == "me":
            is_stop = True
        if is_stop:
            index_of.append(None)
            continue
        if word in _TECH_ALIASES:
            tokens.append(_Token(_TECH_ALIASES[word], frozenset({_TECH_ALIASES[word]}), True))
        elif word in _NUMBER_WORDS and word not in ("first", "second", "single", "once", "double"):
            tokens.append(_Token(_NUMBER_WORDS[word], frozenset({_NUMBER_WORDS[word]}), True))
        elif any(c.isdigit() for c in word):
            tokens.append(_Token(word, frozenset({word}), True))
        else:
            tokens.append(_Token(word, _stems(word), False))
        index_of.append(len(tokens) - 1)
    markers = [i for i, w in enumerate(words) if w in _DIRECTION and i > 0 and index_of[i - 1] is not None]
    roles: list[set[str]] = [set() for _ in tokens]
    for n, i in enumerate(markers):
        # the words up to the first marker are its first argument; after that, the words between two
        # markers belong to the earlier one ("from A to B with C": A after from, B after to, C after with)
        before = range(0, i) if n == 0 else range(0)
        after = range(i + 1, markers[n + 1] if n + 1 < len(markers) else len(words))
        kind = _MARKER_CLASS.get(words[i], "to")
        for span, side in ((before, "before"), (after, "after")):
            for k in span:
                index = index_of[k]
                # a technology after "in"/"using"/... is the setting ("... into a set in Python"), not an
                # argument of the relation ("from MySQL to PostgreSQL", "a CSV file to JSON")
                if index is None or (tokens[index].text in _TECHNOLOGIES and k and words[k - 1] in _SETTING):
                    continue
                roles[index].add(f"{side} {kind}")
    return Parsed(_asks(words), tuple(tokens), tuple(frozenset(r) for r in roles))


def _asks(words: list[str]) -> str:
    """The question type: the first question word ("what is the way to ..." asks how); default how."""
    for i, word in enumerate(words):
        if word == "what" and any(w in _WHAT_IS_HOW for w in words[i + 1 : i + 6]):
            return "how"
        if word in _QUESTION_WORDS:
            return word
    return "how"


def _technologies(parsed: Parsed) -> frozenset[str]:
    return frozenset(t.text for t in parsed.tokens if t.text in _TECHNOLOGIES)


def _listed(values: frozenset[str]) -> str:
    return ", ".join(sorted(values)) or "none"


def _negates(a: str, b: str) -> bool:
    """`a` is `b` with a negating prefix (or the reverse): lock/unlock, hashable/unhashable."""
    for x, y in ((a, b), (b, a)):
        for prefix in _NEGATING_PREFIXES:
            if x == prefix + y and len(y) >= 3:
                return True
    return False


def _abbreviates(short: str, long: str) -> bool:
    """`short` abbreviates `long`: a prefix (env, repo, config) or its first letters in order (db, fn)."""
    if len(short) < 2 or len(short) >= len(long) or short[0] != long[0] or len(short) > 6:
        return False
    if long.startswith(short) and len(short) >= 3:
        return True
    if len(short) <= 3:
        rest = iter(long[1:])
        return all(c in rest for c in short[1:])
    return False


WordVectors = Callable[[Sequence[str]], Awaitable[dict[str, "np.ndarray"]]]


async def verify(
    asked: str, cached: str, vectors: WordVectors | None = None, bar: float = DEFAULT_BAR
) -> Refusal | None:
    """None when the answer cached for `cached` may serve `asked`, else why not.

    `vectors` (single-word embeddings) lets words at least `bar` alike align; without it only literal
    matches (word, stem, abbreviation, compound, initialism) align. Off in the cache: on the dev half it
    added no paraphrase hit at any bar without false hits (README, section 1).
    """
    numbers_a, numbers_b = signature(asked).numbers, signature(cached).numbers
    if numbers_a != numbers_b:
        return Refusal("numbers", f"numbers differ ({_listed(numbers_a)} / {_listed(numbers_b)})")
    a, b = parse(asked), parse(cached)
    if a.asks != b.asks:
        return Refusal("question", f"a {a.asks} question here, a {b.asks} question cached")
    tech_a, tech_b = _technologies(a), _technologies(b)
    if tech_a != tech_b:
        return Refusal("technology", f"technologies differ ({_listed(tech_a)} / {_listed(tech_b)})")
    matches_ab, matches_ba = _literal_matches(a.tokens, b.tokens), _literal_matches(b.tokens, a.tokens)
    _symmetrise(matches_ab, matches_ba)
    for i, j in _prefix_negations(a.tokens, b.tokens):
        return Refusal("opposite", f"{a.tokens[i].text!r} and {b.tokens[j].text!r} are opposites")
    pending = [i for i, m in enumerate(matches_ab) if not m] + [
        -1 - j for j, m in enumerate(matches_ba) if not m
    ]
    if pending and vectors is not None:
        words = {a.tokens[i].text for i in pending if i >= 0} | {
            b.tokens[-1 - i].text for i in pending if i < 0
        }
        candidates = {t.text for t in a.tokens + b.tokens if not t.exact_only}
        table = await vectors(sorted(words | candidates))
        for i in pending:
            mine, theirs, out = (
                (a.tokens[i], b.tokens, matches_ab[i])
                if i >= 0
                else (b.tokens[-1 - i], a.tokens, matches_ba[-1 - i])
            )
            if mine.exact_only or mine.text not in table:
                continue
            for j, other in enumerate(theirs):
                if other.exact_only or other.text not in table:
                    continue
                if float(table[mine.text] @ table[other.text]) >= bar:
                    out.add(j)
        _symmetrise(matches_ab, matches_ba)
    if pending:
        for i, m in enumerate(matches_ab):
            if not m:
                return Refusal("unmatched", f"{a.tokens[i].text!r} has no counterpart in the cached prompt")
        for j, m in enumerate(matches_ba):
            if not m:
                return Refusal(
                    "unmatched", f"the cached prompt's {b.tokens[j].text!r} has no counterpart here"
                )
    for i, token in enumerate(a.tokens):  # a number keeps its neighbours: "4 chunks" is not "chunks of 4"
        if not token.text[0].isdigit():
            continue
        for j in matches_ab[i]:
            for near, after in ((i - 1, False), (i + 1, True)):
                if (
                    0 <= near < len(a.tokens)
                    and matches_ab[near]
                    and all((k > j) != after for k in matches_ab[near])
                ):
                    return Refusal(
                        "order", f"{token.text!r} and {a.tokens[near].text!r} stand the other way round"
                    )
    for i, roles in enumerate(a.roles):
        counterparts = [b.roles[j] for j in matches_ab[i] if b.roles[j]]
        if roles and counterparts and all(not (roles & other) for other in counterparts):
            return Refusal(
                "direction",
                f"{a.tokens[i].text!r} stands {' / '.join(sorted(roles))} here but "
                f"{' / '.join(sorted(counterparts[0]))} in the cached prompt",
            )
    return None


def _literal_matches(mine: Sequence[_Token], theirs: Sequence[_Token]) -> list[set[int]]:
    """For each token, the indices of the other prompt's tokens it matches without embeddings."""
    out: list[set[int]] = []
    joined = {theirs[j].text + theirs[j + 1].text: (j, j + 1) for j in range(len(theirs) - 1)}
    for token in mine:
        found = {j for j, other in enumerate(theirs) if token.stems & other.stems}
        if not found and not token.exact_only:
            if token.text in joined:
                found.update(joined[token.text])
            for j, other in enumerate(theirs):
                if other.exact_only:
                    continue
                if _abbreviates(token.text, other.text) or _abbreviates(other.text, token.text):
                    found.add(j)
                elif token.text == other.text + (theirs[j + 1].text if j + 1 < len(theirs) else "\0"):
                    found.update((j, j + 1))
            found.update(_initialism(token.text, theirs))
        out.append(found)
    # the other side of a compound or an initialism: "hash map" / "hashmap", "command line interface" / "cli"
    return out


def _symmetrise(ab: list[set[int]], ba: list[set[int]]) -> None:
    """Alignment is symmetric: what one side's token matched, matched it back."""
    for i, found in enumerate(ab):
        for j in found:
            ba[j].add(i)
    for j, found in enumerate(ba):
        for i in found:
            ab[i].add(j)


def _initialism(word: str, theirs: Sequence[_Token]) -> set[int]:
    if not 2 <= len(word) <= 5:
        return set()
    for start in range(len(theirs) - len(word) + 1):
        run = theirs[start : start + len(word)]
        if all(not t.exact_only or t.text.isalpha() for t in run) and "".join(t.text[0] for t in run) == word:
            return set(range(start, start + len(word)))
    return set()


def _prefix_negations(a: Sequence[_Token], b: Sequence[_Token]) -> list[tuple[int, int]]:
    return [(i, j) for i, x in enumerate(a) for j, y in enumerate(b) if _negates(x.text, y.text)]


class WordVectorCache:
    """Single-word embeddings through the real embedder, kept in process (LRU)."""

    def __init__(self, embed: Callable[[Sequence[str]], Awaitable[np.ndarray]], size: int = 20_000) -> None:
        self._embed = embed
        self._size = size
        self._table: OrderedDict[str, np.ndarray] = OrderedDict()

    async def __call__(self, words: Sequence[str]) -> dict[str, np.ndarray]:
        missing = [w for w in dict.fromkeys(words) if w not in self._table]
        if missing:
            for word, vector in zip(missing, await self._embed(missing), strict=True):
                self._table[word] = vector
        out = {}
        for word in words:
            self._table.move_to_end(word)
            out[word] = self._table[word]
        while len(self._table) > self._size:
            self._table.popitem(last=False)
        return out
