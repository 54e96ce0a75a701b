"""How fast this machine parses and embeds: measured by every index run, kept for the next estimate, and
turned into a live ETA while a run goes.

The two phases have different costs, so they are measured apart: parsing (read, chunk, store) per MB of
source, embedding per chunk (after the model is loaded; the load is its own figure). Until a machine has
measured itself the defaults below hold; they were measured on a 2-core machine
(benchmarks/indexing/README.md), so a faster machine starts pessimistic and corrects after one run.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_PARSE_S_PER_MB = 3.0
DEFAULT_EMBED_S_PER_CHUNK = 0.05
DEFAULT_BYTES_PER_CHUNK = 480.0
DEFAULT_MODEL_LOAD_S = 1.5
# A run teaches the rates only from enough work to measure (tiny runs are dominated by fixed costs).
MIN_PARSE_BYTES = 100_000
MIN_EMBED_CHUNKS = 128
MIN_CHUNKS_FOR_SIZE = 50
EMBED_BYTES_CAP = 1024
"""The model reads at most 256 tokens (about 1 KB of code) of a chunk: longer ones cost the same."""
LEARNING_WEIGHT = 0.5
"""How much the newest measurement counts against what was known (an exponential moving average)."""


@dataclass(frozen=True)
class IndexRates:
    parse_s_per_mb: float = DEFAULT_PARSE_S_PER_MB
    embed_s_per_chunk: float = DEFAULT_EMBED_S_PER_CHUNK
    bytes_per_chunk: float = DEFAULT_BYTES_PER_CHUNK
    model_load_s: float = DEFAULT_MODEL_LOAD_S
    measured_runs: int = 0

    @property
    def measured(self) -> bool:
        return self.measured_runs > 0

    def parse_seconds(self, source_bytes: int) -> float:
        return source_bytes / 1e6 * self.parse_s_per_mb

    def embed_seconds(self, chunks: float, *, model_loaded: bool = False) -> float:
        if chunks <= 0:
            return 0.0
        return chunks * self.embed_s_per_chunk + (0.0 if model_loaded else self.model_load_s)

    def chunks_in(self, source_bytes: int) -> float:
        return source_bytes / self.bytes_per_chunk

    def learn(self, sample: RunMeasurement) -> IndexRates:
        """These rates moved toward what `sample` measured (each figure only when it measured enough)."""

        def blend(old: float, new: float | None) -> float:
            return old if new is None else (1 - LEARNING_WEIGHT) * old + LEARNING_WEIGHT * new

        # The first measurement replaces the defaults outright: they describe another machine.
        weight_first = self.measured_runs == 0
        parse = sample.parse_s_per_mb()
        embed = sample.embed_s_per_chunk()
        size = sample.bytes_per_chunk()
        load = sample.model_load_s
        if parse is None and embed is None and size is None and load is None:
            return self
        pick = (lambda old, new: new if new is not None else old) if weight_first else blend
        return replace(
            self,
            parse_s_per_mb=pick(self.parse_s_per_mb, parse),
            embed_s_per_chunk=pick(self.embed_s_per_chunk, embed),
            bytes_per_chunk=pick(self.bytes_per_chunk, size),
            model_load_s=pick(self.model_load_s, load),
            # Embedding is most of the time: the rates count as this machine's once it was measured.
            measured_runs=self.measured_runs + (embed is not None),
        )


@dataclass
class RunMeasurement:
    """What one run did and how long each phase took (monotonic clock), updated as it goes."""

    bytes_total: int = 0
    """Source bytes the run has to read (new and changed files)."""
    bytes_done: int = 0
    chunks_written: int = 0
    chunked_bytes: int = 0
    """Bytes of the files that were actually (re)chunked: the basis of bytes per chunk."""
    parse_started: float | None = None
    parse_seconds: float = 0.0
    embed_started: float | None = None
    """When embedding began, after the model was loaded."""
    embed_seconds: float = 0.0
    embedded: int = 0
    model_load_s: float | None = None
    embedded_by_model: int = 0
    """Chunks the model embedded (not found in the embedding cache): the basis of the embedding rate."""
    pending_before: int = 0
    """Chunks stored without a vector before this run (an interrupted run's): they need embedding too."""
    embed_bytes_total: int = 0
    """Text the dense phase has to embed (each chunk up to `EMBED_BYTES_CAP`), counted when it starts."""
    embed_bytes_done: int = 0

    def parse_s_per_mb(self) -> float | None:
        if self.bytes_done < MIN_PARSE_BYTES or self.parse_seconds <= 0:
            return None
        return self.parse_seconds / (self.bytes_done / 1e6)

    def embed_s_per_chunk(self) -> float | None:
        """Dense-phase seconds per chunk the model had to embed; None when cache hits dominated."""
        misses = self.embedded_by_model
        if misses < MIN_EMBED_CHUNKS or misses < self.embedded / 2 or self.embed_seconds <= 0:
            return None
        return self.embed_seconds / misses

    def bytes_per_chunk(self) -> float | None:
        if self.chunks_written < MIN_CHUNKS_FOR_SIZE:
            return None
        return self.chunked_bytes / self.chunks_written


def live_eta(
    rates: IndexRates,
    run: RunMeasurement,
    *,
    phase: str,
    chunks_pending: int,
    now: float | None = None,
) -> float | None:
    """Seconds left: the measured rate of this run where it has one, the machine's rates otherwise.

    `chunks_pending`: chunks still to embed that are already known (stored without a vector); during
    parsing the chunks of the files not yet parsed are extrapolated from what parsing produced so far.
    """
    now = time.monotonic() if now is None else now
    if phase in ("done", "failed"):
        return 0.0
    if phase == "dense" and run.embed_started is not None:
        # Chunks differ in length (prose is longer than code) and the model's time follows the text it
        # reads, so the live rate is per byte of text, not per chunk.
        elapsed = now - run.embed_started
        if run.embed_bytes_done >= 20_000 and elapsed > 0:
            remaining = max(0, run.embed_bytes_total - run.embed_bytes_done)
            return round(remaining * elapsed / run.embed_bytes_done, 1)
        return round(chunks_pending * rates.embed_s_per_chunk, 1)
    if phase == "dense":  # loading the model
        return round(rates.embed_seconds(chunks_pending), 1)
    remaining_bytes = max(0, run.bytes_total - run.bytes_done)
    parse_rate = rates.parse_s_per_mb / 1e6
    chunk_density = 1 / rates.bytes_per_chunk
    if run.parse_started is not None and run.bytes_done >= 20_000:
        parse_rate = (now - run.parse_started) / run.bytes_done
        if run.chunked_bytes > 0:
            chunk_density = run.chunks_written / run.chunked_bytes
    chunks = chunks_pending + remaining_bytes * chunk_density
    return round(remaining_bytes * parse_rate + rates.embed_seconds(chunks), 1)


def load_rates(path: Path | None) -> IndexRates:
    """The rates this machine measured before (the defaults when none, or when the file is unreadable)."""
    if path is None or not path.is_file():
        return IndexRates()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        # Names come from the file: the constructor rejects unknown ones (TypeError, below).
        floats: dict[str, Any] = {k: float(v) for k, v in data.items() if k != "measured_runs"}
        rates = IndexRates(**floats)
        return replace(rates, measured_runs=int(data.get("measured_runs", 0)))
    except (OSError, ValueError, TypeError) as exc:
        logger.warning("ignoring unreadable index rates in %s (%s)", path, exc)
        return IndexRates()


def save_rates(path: Path | None, rates: IndexRates) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(asdict(rates), indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:  # an estimate is not worth failing a run over
        logger.warning("could not save index rates to %s (%s)", path, exc)
