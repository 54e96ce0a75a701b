"""How fast this machine parses and embeds: measured by every index run, kept for the next estimate, and
turned into a live ETA while a run goes.

A run keeps its CPU time (this process's, all threads) per MB parsed, per chunk embedded and per model
load, and the CPU share it got (CPU time over wall time, parsing and embedding apart). The estimate is the
median CPU time of the last `HISTORY` runs divided by the median share they got, so one odd run (the
model built during it, a burst of other work) does not swing it. A half-second probe of the share before
each run (`_cpu.CpuNow`) was tried instead and measured worse: within ±30 % in 0 of 7 readings on a quiet
machine, where it read 1.0 of 2 cores while the run then got 1.86 (benchmarks/indexing/README.md).
Until a machine has measured itself the defaults below hold; they were measured on a 2-core machine.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from singularity_mcp.search._cpu import CpuNow

logger = logging.getLogger(__name__)

DEFAULT_PARSE_CPU_S_PER_MB = 1.3
DEFAULT_EMBED_CPU_S_PER_CHUNK = 0.04
DEFAULT_BYTES_PER_CHUNK = 450.0
DEFAULT_MODEL_LOAD_CPU_S = 1.0
# A run teaches the rates only from enough work to measure (tiny runs are dominated by fixed costs).
MIN_PARSE_BYTES = 100_000
MIN_EMBED_CHUNKS = 128
MIN_CHUNKS_FOR_SIZE = 50
EMBED_BYTES_CAP = 1024
"""The model reads at most 256 tokens (about 1 KB of code) of a chunk: longer ones cost the same."""
DEFAULT_CORES = 2.0
"""The cores an unmeasured machine's embedding is assumed to get."""
HISTORY = 5
"""Runs kept; each figure of the estimate is the median of theirs."""


@dataclass(frozen=True)
class IndexRates:
    """Wall-clock rates for a run starting now: what the pre-flight estimate and the live ETA use."""

    parse_s_per_mb: float = DEFAULT_PARSE_CPU_S_PER_MB
    embed_s_per_chunk: float = DEFAULT_EMBED_CPU_S_PER_CHUNK / DEFAULT_CORES
    bytes_per_chunk: float = DEFAULT_BYTES_PER_CHUNK
    model_load_s: float = DEFAULT_MODEL_LOAD_CPU_S
    measured_runs: int = 0
    cpu: CpuNow | None = None
    """The CPUs these rates were scaled to when given (benchmarks: a measured share)."""
    embed_share: float | None = None
    """The CPU share recent runs' embedding got, that the rates assume (None: the default)."""

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

    def basis(self) -> str:
        """The estimate's basis in words: whose rates, scaled to which load."""
        runs = self.measured_runs
        whose = (
            f"this machine's rates (median of {runs} run{'s' if runs > 1 else ''})"
            if runs
            else "default rates of a 2-core machine (this machine's are measured from its first run)"
        )
        if self.cpu is None:
            if self.embed_share is None:
                return whose
            return f"{whose}, at the CPU share they got: {self.embed_share:.2f} cores while embedding"
        cpu = self.cpu
        plural = "s" if cpu.cores > 1 else ""
        return (
            f"{whose}, scaled to the CPU share measured now: {cpu.embed_share():.2f} of {cpu.cores} "
            f"core{plural} (load average {cpu.load:g})"
        )


@dataclass(frozen=True)
class RateSample:
    """One run's figures in CPU seconds (None: the run did too little of that to measure it)."""

    parse_cpu_s_per_mb: float | None = None
    embed_cpu_s_per_chunk: float | None = None
    bytes_per_chunk: float | None = None
    model_load_cpu_s: float | None = None
    parse_share: float | None = None
    """Cores the parsing got (its CPU time over its wall time)."""
    embed_share: float | None = None
    """Cores the embedding got."""


@dataclass(frozen=True)
class MachineRates:
    """What the last `HISTORY` runs on this machine measured."""

    samples: tuple[RateSample, ...] = field(default=())

    @property
    def measured_runs(self) -> int:
        """Runs that measured embedding, most of a run's time."""
        return sum(s.embed_cpu_s_per_chunk is not None for s in self.samples)

    def median(self, name: str, default: float) -> float:
        values = [v for s in self.samples if (v := getattr(s, name)) is not None]
        return statistics.median(values) if values else default

    def at(self, cpu: CpuNow | None = None) -> IndexRates:
        """Wall-clock rates for a run that gets the CPU shares recent runs got (or, given `cpu`, the share
        measured there; with neither, an idle machine with `DEFAULT_CORES` cores)."""
        got = self.median("embed_share", 0.0) or None  # None: no run measured its share yet
        if cpu is None:
            serial = min(1.0, self.median("parse_share", 1.0))
            embed = got or DEFAULT_CORES
        else:
            serial, embed = cpu.serial_share(), cpu.embed_share()
        return IndexRates(
            parse_s_per_mb=self.median("parse_cpu_s_per_mb", DEFAULT_PARSE_CPU_S_PER_MB) / serial,
            embed_s_per_chunk=self.median("embed_cpu_s_per_chunk", DEFAULT_EMBED_CPU_S_PER_CHUNK) / embed,
            bytes_per_chunk=self.median("bytes_per_chunk", DEFAULT_BYTES_PER_CHUNK),
            model_load_s=self.median("model_load_cpu_s", DEFAULT_MODEL_LOAD_CPU_S) / serial,
            measured_runs=self.measured_runs,
            cpu=cpu,
            embed_share=got if cpu is None else None,
        )

    def learn(self, run: RunMeasurement) -> MachineRates:
        """These rates with what `run` measured added (unchanged when it measured nothing)."""
        sample = RateSample(
            parse_cpu_s_per_mb=run.parse_cpu_s_per_mb(),
            embed_cpu_s_per_chunk=run.embed_cpu_s_per_chunk(),
            bytes_per_chunk=run.bytes_per_chunk(),
            model_load_cpu_s=run.model_load_cpu_s,
            parse_share=run.parse_share(),
            embed_share=run.embed_share(),
        )
        if sample == RateSample():
            return self
        return MachineRates(samples=(*self.samples, sample)[-HISTORY:])


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
    parse_cpu_started: float | None = None
    parse_cpu_seconds: float = 0.0
    """CPU time of this process (all its threads) while parsing."""
    embed_started: float | None = None
    """When embedding began, after the model was loaded."""
    embed_seconds: float = 0.0
    embed_cpu_started: float | None = None
    embed_cpu_seconds: float = 0.0
    """CPU time of this process (all its threads) while embedding, after the model was loaded."""
    embedded: int = 0
    model_load_s: float | None = None
    """Seconds of loading the model (None: it was in memory already)."""
    model_load_cpu_s: float | None = None
    embedded_by_model: int = 0
    """Chunks the model embedded (not found in the embedding cache): the basis of the embedding rate."""
    pending_before: int = 0
    """Chunks stored without a vector before this run (an interrupted run's): they need embedding too."""
    embed_bytes_total: int = 0
    """Text the dense phase has to embed (each chunk up to `EMBED_BYTES_CAP`), counted when it starts."""
    embed_bytes_done: int = 0

    def parse_cpu_s_per_mb(self) -> float | None:
        if self.bytes_done < MIN_PARSE_BYTES or self.parse_cpu_seconds <= 0:
            return None
        return self.parse_cpu_seconds / (self.bytes_done / 1e6)

    def embed_cpu_s_per_chunk(self) -> float | None:
        """Dense-phase CPU seconds per chunk the model had to embed; None when cache hits dominated."""
        misses = self.embedded_by_model
        if misses < MIN_EMBED_CHUNKS or misses < self.embedded / 2 or self.embed_cpu_seconds <= 0:
            return None
        return self.embed_cpu_seconds / misses

    def parse_share(self) -> float | None:
        if self.parse_cpu_s_per_mb() is None or self.parse_seconds <= 0:
            return None
        return self.parse_cpu_seconds / self.parse_seconds

    def embed_share(self) -> float | None:
        if self.embed_cpu_s_per_chunk() is None or self.embed_seconds <= 0:
            return None
        return self.embed_cpu_seconds / self.embed_seconds

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


def load_rates(path: Path | None) -> MachineRates:
    """The rates this machine measured before (none when there is no file, or it is unreadable)."""
    if path is None or not path.is_file():
        return MachineRates()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "samples" not in data:
            logger.info("index rates in %s are from an older version: measuring again", path)
            return MachineRates()
        names = {f.name for f in fields(RateSample)}
        samples = []
        for item in data["samples"][-HISTORY:]:
            figures: dict[str, Any] = {
                k: None if v is None else float(v) for k, v in item.items() if k in names
            }
            samples.append(RateSample(**figures))
        return MachineRates(samples=tuple(samples))
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        logger.warning("ignoring unreadable index rates in %s (%s)", path, exc)
        return MachineRates()


def save_rates(path: Path | None, rates: MachineRates) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        text = json.dumps({"samples": [asdict(s) for s in rates.samples]}, indent=2) + "\n"
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:  # an estimate is not worth failing a run over
        logger.warning("could not save index rates to %s (%s)", path, exc)
