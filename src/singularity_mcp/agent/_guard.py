"""Prompt normalisation and the prompt signature (numbers, negation, technologies, identifiers, poles).

The signature was the semantic cache's first false-hit guard: besides the cosine, a cached prompt and a
new one had to agree on numbers, negation, technologies, identifiers and the pole of every opposing pair
in a word list (ascending/descending, min/max, ...). Word lists cannot know every opposite, so similar
candidates are now checked by `_verify.verify` (word alignment), which keeps only the numbers from here;
the full `disagreement` still guards exact-key hits and is the baseline in benchmarks/router.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_POLITE = re.compile(
    r"\b(please|pls|thanks|thank you|kindly|hey|hi|hello|could you|can you|would you|will you)\b[,!]?\s*"
)
_SPACE = re.compile(r"\s+")
_MAX_WORDS = 2000


def normalise(prompt: str) -> str:
    """Lower-case, NFKC, politeness and trailing punctuation dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", prompt).lower().strip()
    text = _POLITE.sub("", text)
    text = _SPACE.sub(" ", text).strip()
    return text.rstrip(" ?!.;:")


# --- what must agree -------------------------------------------------------------------------------

_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "twenty": "20", "hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000",
    "first": "1", "second": "2", "third": "3", "half": "0.5", "twice": "2", "single": "1",
    "double": "2", "triple": "3", "once": "1",
}  # fmt: skip
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:[.,_]\d+)*(?:e[-+]?\d+)?%?|\b0x[0-9a-f]+\b")

_NEGATION = re.compile(
    r"\b(not|no|never|none|nothing|without|neither|nor|cannot|exclude|excluding|except|avoid|"
    r"unless|disable|disallow|forbid|prevent|stop)\b|n't\b"
)

#: Canonical name for each language / technology alias: two prompts must name the same set.
_TECH_ALIASES: dict[str, str] = {
    "python": "python", "py": "python", "python3": "python", "cpython": "python",
    "rust": "rust", "cargo": "rust", "go": "go", "golang": "go",
    "javascript": "javascript", "js": "javascript", "ecmascript": "javascript", "node": "node",
    "nodejs": "node", "node.js": "node", "deno": "deno", "bun": "bun",
    "typescript": "typescript", "ts": "typescript", "tsx": "typescript",
    "java": "java", "kotlin": "kotlin", "scala": "scala", "groovy": "groovy", "clojure": "clojure",
    "c#": "csharp", "csharp": "csharp", ".net": "dotnet", "dotnet": "dotnet", "f#": "fsharp",
    "c++": "cpp", "cpp": "cpp", "c": "c", "objective-c": "objc", "swift": "swift",
    "ruby": "ruby", "rails": "rails", "php": "php", "laravel": "laravel", "perl": "perl",
    "elixir": "elixir", "erlang": "erlang", "gleam": "gleam", "phoenix": "phoenix", "haskell": "haskell",
    "ocaml": "ocaml", "zig": "zig", "nim": "nim", "lua": "lua", "julia": "julia", "dart": "dart",
    "flutter": "flutter", "r": "r", "matlab": "matlab", "fortran": "fortran", "cobol": "cobol",
    "sql": "sql", "postgres": "postgresql", "postgresql": "postgresql", "psql": "postgresql",
    "mysql": "mysql", "mariadb": "mysql", "sqlite": "sqlite", "oracle": "oracle", "mssql": "mssql",
    "mongodb": "mongodb", "mongo": "mongodb", "redis": "redis", "cassandra": "cassandra",
    "elasticsearch": "elasticsearch", "kafka": "kafka", "rabbitmq": "rabbitmq",
    "bash": "bash", "sh": "shell", "shell": "shell", "zsh": "zsh", "fish": "fish", "powershell": "powershell",
    "html": "html", "css": "css", "sass": "sass", "scss": "sass", "json": "json", "yaml": "yaml",
    "yml": "yaml", "toml": "toml", "xml": "xml", "csv": "csv", "markdown": "markdown", "graphql": "graphql",
    "react": "react", "vue": "vue", "angular": "angular", "svelte": "svelte", "nextjs": "nextjs",
    "next.js": "nextjs", "express": "express", "django": "django", "flask": "flask", "fastapi": "fastapi",
    "spring": "spring", "pandas": "pandas", "numpy": "numpy", "pytorch": "pytorch", "torch": "pytorch",
    "tensorflow": "tensorflow", "asyncio": "asyncio", "tokio": "tokio", "axum": "axum", "actix": "actix",
    "docker": "docker", "kubernetes": "kubernetes", "k8s": "kubernetes", "terraform": "terraform",
    "aws": "aws", "gcp": "gcp", "azure": "azure", "linux": "linux", "windows": "windows",
    "macos": "macos", "mac": "macos", "ios": "ios", "android": "android", "git": "git", "npm": "npm",
    "pip": "pip", "poetry": "poetry", "uv": "uv", "maven": "maven", "gradle": "gradle",
    "webpack": "webpack", "vite": "vite", "jest": "jest", "pytest": "pytest", "junit": "junit",
    "grpc": "grpc", "rest": "rest", "http": "http", "https": "https", "websocket": "websocket",
    "tcp": "tcp", "udp": "udp", "utf-8": "utf8", "utf8": "utf8", "ascii": "ascii",
}  # fmt: skip
_TECH = re.compile(
    r"(?<![\w#+.-])("
    + "|".join(sorted((re.escape(k) for k in _TECH_ALIASES), key=len, reverse=True))
    + r")(?![\w#+-])"
)

#: Opposing words: the poles a prompt mentions must be the same. Each tuple is one axis, each inner
#: tuple one pole (its words are synonyms).
_POLES: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("ascending", "asc", "increasing", "smallest first", "lowest first"),
     ("descending", "desc", "decreasing", "reverse order", "reversed", "largest first", "highest first")),
    (("min", "minimum", "smallest", "lowest", "least", "fewest", "shortest", "cheapest"),
     ("max", "maximum", "largest", "biggest", "highest", "longest", "greatest")),
    (("before", "earlier", "prior", "preceding", "previous"), ("after", "later")),
    (("first", "head", "leading", "beginning", "prefix"), ("last", "tail", "trailing", "ending", "suffix")),
    (("oldest", "earliest"), ("newest", "latest", "most recent")),
    (("top",), ("bottom",)),
    (("left", "lstrip", "ltrim"), ("right", "rstrip", "rtrim")),
    (("upper", "uppercase", "capital", "capitalize"), ("lower", "lowercase")),
    (("sync", "synchronous", "synchronously", "blocking"), ("async", "asynchronous", "asynchronously",
                                                            "non-blocking", "await")),
    (("encode", "encoding", "serialize", "serialise", "marshal", "stringify", "dump"),
     ("decode", "decoding", "deserialize", "deserialise", "unmarshal", "parse", "load")),
    (("encrypt", "encryption"), ("decrypt", "decryption")),
    (("compress", "compression", "zip"), ("decompress", "decompression", "unzip", "extract")),
    (("import",), ("export",)),
    (("read", "reading", "load from"), ("write", "writing", "save to")),
    (("push",), ("pull", "fetch")),
    (("add", "insert", "append"), ("remove", "delete", "drop", "erase")),
    (("enable", "turn on", "activate"), ("disable", "turn off", "deactivate")),
    (("open",), ("close",)),
    (("inner",), ("outer", "left join", "right join", "full join")),
    (("true",), ("false",)),
    (("public",), ("private", "protected")),
    (("more than", "greater", "above", "larger than", "bigger than", "exceeds"),
     ("less than", "fewer", "below", "smaller than", "lower than")),
    (("horizontal", "horizontally", "row", "rows"), ("vertical", "vertically", "column", "columns")),
    (("client", "frontend", "front-end"), ("server", "backend", "back-end")),
    (("static",), ("dynamic",)),
    (("mutable",), ("immutable",)),
    (("shallow",), ("deep",)),
    (("union",), ("intersection", "intersect")),
    (("even",), ("odd",)),
    (("positive",), ("negative",)),
    (("start", "begin", "launch"), ("stop", "finish", "shutdown", "shut down", "kill")),
    (("upload",), ("download",)),
    (("install",), ("uninstall",)),
    (("local",), ("remote", "global")),
    (("stack",), ("queue",)),
    (("breadth-first", "bfs"), ("depth-first", "dfs")),
    (("utc",), ("local time", "localtime")),
    (("seconds", "second"), ("milliseconds", "ms", "minutes", "hours", "days")),
    (("bytes",), ("bits", "kilobytes", "megabytes", "kb", "mb", "gb")),
)  # fmt: skip


def _forms(word: str) -> set[str]:
    """A word and its inflections (parse, parses, parsed, parsing; drop, dropped, dropping)."""
    if not word.isalpha() or len(word) < 3:
        return {word}
    stem = word[:-1] if word.endswith("e") else word
    forms = {word, word + "s", word + "es", stem + "ed", stem + "ing"}
    if len(word) <= 4 and word[-1] not in "aeiouwy" and word[-2] in "aeiou":
        forms |= {word + word[-1] + "ed", word + word[-1] + "ing"}  # drop -> dropped, dropping
    return forms


def _pole_patterns() -> list[list[re.Pattern[str]]]:
    axes = []
    for axis in _POLES:
        poles = []
        for pole in axis:
            words = sorted({form for w in pole for form in _forms(w)}, key=len, reverse=True)
            poles.append(re.compile(r"(?<![\w-])(" + "|".join(re.escape(w) for w in words) + r")(?![\w-])"))
        axes.append(poles)
    return axes


_AXES = _pole_patterns()

#: Code-like tokens: `backticked`, snake_case, camelCase, dotted.names, call(), --flags, paths, files.
_IDENTIFIER_CASE_SENSITIVE = re.compile(
    r"`([^`]+)`"
    r"|(?<![\w./-])(--?[a-z][\w-]*)"  # --flags
    r"|\b([a-z_]\w*(?:\.\w+)+\(?\)?)"  # dotted.names, module.func()
    r"|\b([a-z_]\w*\(\))"  # func()
    r"|\b([a-z]+_\w+)"  # snake_case
    r"|\b([a-z]+[A-Z]\w*)"  # camelCase (checked on the raw prompt)
    r"|\b([A-Z][a-z0-9]+[A-Z]\w*)"  # PascalCase with a second capital
    r"|\b([A-Z][A-Z0-9]*_[A-Z0-9_]+)\b"  # CONSTANT_CASE
    r"|((?<![\w.])\.{0,2}/[\w.-]+(?:/[\w.-]+)*|\b[\w.-]+(?:/[\w.-]+){2,})"  # /paths, ./paths, a/b/c
    r"|\b([\w-]+\.(?:py|rs|go|js|ts|tsx|jsx|java|kt|rb|ex|exs|cs|cpp|c|h|sql|json|toml|yaml|yml|md|txt|lock))\b"
)


@dataclass(frozen=True)
class Signature:
    """The facts two prompts must share for one's answer to serve the other."""

    numbers: frozenset[str]
    negated: bool
    technologies: frozenset[str]
    identifiers: frozenset[str]
    poles: tuple[tuple[int, ...], ...]
    """Per opposing-words axis, the poles mentioned (sorted), only for axes the prompt touches."""
    words: frozenset[str] = frozenset()
    """Plain words, so an identifier found by its case (`WaitGroup`) still agrees with `WAITGROUP`."""

    def to_json(self) -> dict:
        return {
            "numbers": sorted(self.numbers),
            "negated": self.negated,
            "technologies": sorted(self.technologies),
            "identifiers": sorted(self.identifiers),
            "poles": [list(p) for p in self.poles],
            "words": sorted(self.words),
        }

    @classmethod
    def from_json(cls, data: dict) -> Signature:
        return cls(
            numbers=frozenset(data.get("numbers", ())),
            negated=bool(data.get("negated", False)),
            technologies=frozenset(data.get("technologies", ())),
            identifiers=frozenset(data.get("identifiers", ())),
            poles=tuple(tuple(p) for p in data.get("poles", ())),
            words=frozenset(data.get("words", ())),
        )


def signature(prompt: str) -> Signature:
    """Extract what must agree from a raw prompt."""
    text = unicodedata.normalize("NFKC", prompt)
    lower = text.lower()
    numbers = {_canonical_number(m.group(0)) for m in _NUMBER.finditer(lower)}
    words = re.findall(r"[a-z]+", lower)
    numbers |= {_NUMBER_WORDS[w] for w in words if w in _NUMBER_WORDS and w not in ("second", "first")}
    negations = len(_NEGATION.findall(lower))
    technologies = {_TECH_ALIASES[m.group(1)] for m in _TECH.finditer(lower)}
    identifiers = set()
    for match in _IDENTIFIER_CASE_SENSITIVE.finditer(text):
        token = next(g for g in match.groups() if g)
        token = token.strip().lower().rstrip("()")
        if token not in _TECH_ALIASES:  # "Node.js" is a technology, not a file
            identifiers.add(token)
    poles = []
    for index, axis in enumerate(_AXES):
        hit = tuple(i for i, pattern in enumerate(axis) if pattern.search(lower))
        if hit:
            poles.append((index, *hit))
    return Signature(
        numbers=frozenset(numbers),
        negated=negations % 2 == 1,
        technologies=frozenset(technologies),
        identifiers=frozenset(identifiers),
        poles=tuple(poles),
        words=frozenset(sorted(set(re.findall(r"[a-z0-9]+", lower)))[:_MAX_WORDS]),
    )


def _canonical_number(token: str) -> str:
    token = token.replace("_", "").replace(",", "")
    try:
        value = float(token.rstrip("%"))
    except ValueError:
        return token
    text = f"{value:g}"
    return text + "%" if token.endswith("%") else text


def _unmatched(a: Signature, b: Signature) -> list[tuple[str, Signature]]:
    """Identifiers one prompt has and the other lacks, each with the prompt lacking it."""
    return [(t, b) for t in a.identifiers - b.identifiers] + [(t, a) for t in b.identifiers - a.identifiers]


def disagreement(a: Signature, b: Signature, *, poles: bool = True) -> str | None:
    """Why a cached answer for one prompt must not serve the other, or None when they agree.

    `poles=False` skips the opposing-words lists (the verification step aligns words instead).
    """
    if a.numbers != b.numbers:
        return "numbers differ"
    if a.negated != b.negated:
        return "negation differs"
    if a.technologies != b.technologies:
        return "languages or technologies differ"
    if any(not (t.isalnum() and t in other.words) for t, other in _unmatched(a, b)):
        return "identifiers differ"
    if poles and a.poles != b.poles:
        return "opposing words differ (e.g. ascending/descending, min/max, before/after)"
    return None
