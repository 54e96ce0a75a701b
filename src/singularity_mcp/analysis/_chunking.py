"""Split a file into chunks for the search index: one per definition, big ones split, small module code
merged into its neighbour.

Every non-blank line lands in exactly one chunk; chunks never overlap and are in file order.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from singularity_mcp.analysis._definitions import RawDefinition, parse_definitions
from singularity_mcp.analysis._languages import BY_NAME
from singularity_mcp.analysis._limits import MAX_NESTING, nesting_depth
from singularity_mcp.analysis.models import Chunk

logger = logging.getLogger(__name__)

CHARS_PER_TOKEN = 3  # code tokenises denser than prose; err on the small side
MAX_CHUNK_CHARS = 16_000
MERGE_DEFINITIONS = False  # a minified line still yields one chunk, cut to this


def estimate_tokens(text: str) -> int:
    """A cheap upper-side estimate of the embedder's token count."""
    return len(text) // CHARS_PER_TOKEN + 1


@dataclass(slots=True)
class _Piece:
    start: int  # 0-based line, inclusive
    end: int  # inclusive
    symbol: str | None
    kind: str
    tokens: int
    whole: bool  # a complete definition (or gap), as opposed to a part of a split one
    focus: tuple[int, int] | None = None  # the definition's own lines when module code joined it


class _Chunker:
    def __init__(self, lines: list[str], max_tokens: int, language: str | None):
        self.lines = lines
        self.max_tokens = max_tokens
        self.language = language
        self.line_tokens = [estimate_tokens(line) for line in lines]
        self.pieces: list[_Piece] = []

    def tokens(self, start: int, end: int) -> int:
        return sum(self.line_tokens[start : end + 1])

    def windows(self, start: int, end: int, symbol: str | None, kind: str) -> None:
        """Line windows of at most max_tokens, preferring to break at blank lines."""
        window_start, total = start, 0
        for line in range(start, end + 1):
            cost = self.line_tokens[line]
            at_break = not self.lines[line].strip() and total >= self.max_tokens * 0.6
            if line > window_start and (total + cost > self.max_tokens or at_break):
                self.pieces.append(_Piece(window_start, line - 1, symbol, kind, total, False))
                window_start, total = line, 0
            total += cost
        if window_start <= end:
            self.pieces.append(_Piece(window_start, end, symbol, kind, total, False))

    def region(
        self,
        start: int,
        end: int,
        children: list[RawDefinition],
        defs: list[RawDefinition],
        symbol: str | None,
        kind: str,
    ) -> None:
        """Cover lines start..end: children as their own pieces, the code between them as gaps."""
        cursor = start
        for first, child in _overloads([c for c in children if not c.anonymous]):
            if first.start_line < cursor or first.start_line > end:
                continue
            child_end = min(child.end_line, end)
            if first.start_line > cursor:
                self.gap(cursor, first.start_line - 1, symbol, kind)
            self.definition(child, child_end, defs, first.start_line)
            cursor = child_end + 1
        if cursor <= end:
            self.gap(cursor, end, symbol, kind)

    def gap(self, start: int, end: int, symbol: str | None, kind: str, whole: bool | None = None) -> None:
        """Code between definitions (or a markdown section): one piece, or windows when too big."""
        tokens = self.tokens(start, end)
        if tokens <= self.max_tokens:
            self.pieces.append(
                _Piece(start, end, symbol, kind, tokens, symbol is None if whole is None else whole)
            )
        else:
            self.windows(start, end, symbol, kind)

    def definition(
        self, definition: RawDefinition, end: int, defs: list[RawDefinition], start: int | None = None
    ) -> None:
        """One definition (from `start`, its first overload's line, when it has overloads)."""
        start = definition.start_line if start is None else start
        tokens = self.tokens(start, end)
        symbol, kind = definition.qualified_name, definition.kind
        if tokens <= self.max_tokens:
            self.pieces.append(_Piece(start, end, symbol, kind, tokens, True))
            return
        children = [defs[i] for i in definition.children if not defs[i].anonymous]
        if children:
            self.region(start, end, children, defs, symbol, kind)
        else:
            self.windows(start, end, symbol, kind)


def _overloads(children: list[RawDefinition]) -> list[tuple[RawDefinition, RawDefinition]]:
    """Siblings in order, a run of functions with one name (TypeScript overload signatures and their
    implementation, Python `@overload` stubs, a property's getter and setter) as one (first, last) pair:
    they are one definition to a reader, and the documentation often sits on the first signature."""
    runs: list[tuple[RawDefinition, RawDefinition]] = []
    for child in children:
        if (
            runs
            and child.is_function
            and runs[-1][1].is_function
            and (child.qualified_name == runs[-1][1].qualified_name)
        ):
            runs[-1] = (runs[-1][0], child)
        else:
            runs.append((child, child))
    return runs


def _merge(pieces: list[_Piece], max_tokens: int) -> list[_Piece]:
    """Merge small neighbours: module code into the next definition (definitions stay apart)."""
    merged: list[_Piece] = []
    for piece in pieces:
        if merged:
            last = merged[-1]
            fits = last.tokens + piece.tokens <= max_tokens
            small = last.tokens < max_tokens // 4 or piece.tokens < max_tokens // 8
            # Two definitions never share a chunk: each keeps its own vector and name match
            # (benchmarks/search, dev half: MRR@10 0.477 -> 0.500).
            two_definitions = last.symbol is not None and piece.symbol is not None
            if fits and small and last.whole and piece.whole and not two_definitions:
                symbol = last.symbol or piece.symbol
                kind = last.kind if last.symbol else piece.kind
                own = last if last.symbol else piece if piece.symbol else None
                focus = last.focus or ((own.start, own.end) if own is not None else None)
                merged[-1] = _Piece(
                    last.start, piece.end, symbol, kind, last.tokens + piece.tokens, True, focus
                )
                continue
        merged.append(piece)
    return merged


_HEADING = re.compile(r"#{1,6}\s+(.+?)\s*#*\s*$")


def _sections(chunker: _Chunker, lines: list[str]) -> None:
    """Markdown: one region per heading (symbol = the heading's text), split into windows if big."""
    starts: list[tuple[int, str]] = []
    fenced = False
    for number, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and (match := _HEADING.match(line)):
            starts.append((number, match.group(1)))
    if not starts or starts[0][0] > 0:
        starts.insert(0, (0, ""))
    for (start, title), (end, _) in zip(starts, [*starts[1:], (len(lines), "")], strict=True):
        chunker.gap(start, end - 1, title or None, "section", whole=True)


def _trim(lines: list[str], start: int, end: int) -> tuple[int, int]:
    """The range without its leading and trailing blank lines (start > end when all are blank)."""
    while start <= end and not lines[start].strip():
        start += 1
    while end >= start and not lines[end].strip():
        end -= 1
    return start, end


def chunk_source(text: str, language: str | None, path: str, max_tokens: int = 256) -> list[Chunk]:
    """Chunks of `text` for the search index, sized for an embedder window of `max_tokens`.

    Code in a known language is cut at definitions (symbol = qualified name); other text (markup,
    unknown languages, files that fail to parse) falls back to line windows broken at blank lines.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        return []
    chunker = _Chunker(lines, max(16, max_tokens), language)
    spec = BY_NAME.get(language) if language else None
    source = text.encode("utf-8", "surrogatepass")
    defs: list[RawDefinition] = []
    if spec is not None and not spec.markup and nesting_depth(source) > MAX_NESTING:
        # Generated or hostile: definitions would take minutes to find (and hold the GIL meanwhile).
        logger.info("chunking %s as plain text: nested deeper than %d brackets", path, MAX_NESTING)
        chunker.windows(0, len(lines) - 1, None, "text")
    elif spec is not None and not spec.markup:
        try:
            defs = parse_definitions(text, spec.name).definitions
        except (ValueError, UnicodeError) as exc:  # pragma: no cover - parser refused the text
            logger.debug("chunking %s as plain text: %s", path, exc)
            defs = []
        top = [d for d in defs if d.parent is None]
        chunker.region(0, len(lines) - 1, top, defs, None, "module")
    elif language == "markdown":
        _sections(chunker, lines)
    else:
        chunker.windows(0, len(lines) - 1, None, "text")
    starts = sorted((d.start_line, d.name) for d in defs if not d.anonymous and d.name)
    chunks: list[Chunk] = []
    for piece in _merge(chunker.pieces, chunker.max_tokens):
        start, end = _trim(lines, piece.start, piece.end)
        if start > end:
            continue
        body = "\n".join(lines[start : end + 1])
        names = tuple(dict.fromkeys(name for line, name in starts if piece.start <= line <= piece.end))
        # The embedder sees the definition alone, not the imports and exports merged around it
        # (benchmarks/search, dev half: dense over chunks 0.428 -> 0.452 MRR@10).
        head = body
        if piece.focus:
            first, last = _trim(lines, *piece.focus)
            head = "\n".join(lines[first : last + 1])
        chunks.append(
            Chunk(
                start_line=start + 1,
                end_line=end + 1,
                symbol=piece.symbol,
                kind=piece.kind,
                language=language,
                text=body[:MAX_CHUNK_CHARS],
                path=path,
                names=names,
                embed_text=head[:MAX_CHUNK_CHARS] if head != body else None,
            )
        )
    return chunks
