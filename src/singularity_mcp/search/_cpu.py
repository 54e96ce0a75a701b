"""How much CPU a process gets right now, measured: `threads` busy threads of this process run for half a
second and the CPU time they got is read back. The index estimate used it before each run and measured
worse than the share recent runs got (`_rates`); benchmarks/indexing still records it beside each run so
the models can be compared on the same runs (`replay.py`).

Why measure rather than compute it from the load average: Linux shares the CPUs between sessions
(autogroup) and cgroups before threads, and the load average counts tasks waiting on disk and the
threads of a run that ended a minute ago. On the shared 2-core machine of benchmarks/indexing, at load
average 4.5, one probe thread got 0.6 of a core and two got 0.68 together, where fair shares per thread
would have given 0.36 and 0.61.
It reads the present, not the next minutes: where others' load comes and goes in bursts, the share a run
then got was 0.5-1.2 times what its probe read (benchmarks/indexing/README.md).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

PROBE_SECONDS = 0.5
MIN_SHARE = 0.05
"""Never assume less than this (a probe starved by a burst would promise hours)."""


@dataclass(frozen=True)
class CpuNow:
    """The CPUs as a run sees them when it starts."""

    cores: int
    embed_threads: int
    share: float
    """Cores that `embed_threads` busy threads of this process got during the probe."""
    load: float = 0.0
    """The 1-minute load average, for the record."""

    @classmethod
    def measure(cls, embed_threads: int, seconds: float = PROBE_SECONDS) -> CpuNow:
        try:
            cores = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):  # macOS, Windows: no affinity mask
            cores = os.cpu_count() or 1
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):  # Windows
            load = 0.0
        threads = max(1, min(embed_threads, cores))
        share = probe_share(threads, seconds)
        return cls(cores=cores, embed_threads=threads, share=round(share, 3), load=round(load, 2))

    def embed_share(self) -> float:
        """Cores the embedder's threads will get."""
        return max(MIN_SHARE, min(self.share, float(self.embed_threads), float(self.cores)))

    def serial_share(self) -> float:
        """The share of one thread (parsing, loading the model): a session's share, at most one core."""
        return max(MIN_SHARE, min(self.share, 1.0))


def probe_share(threads: int, seconds: float = PROBE_SECONDS) -> float:
    """Cores `threads` busy threads get right now, measured: they hash for `seconds` (hashlib releases the
    GIL on large buffers) and the process's CPU time is compared with the wall time."""
    import hashlib
    import threading

    block = bytes(1 << 20)
    wall_start, cpu_start = time.monotonic(), time.process_time()
    deadline = wall_start + seconds

    def spin() -> None:
        while time.monotonic() < deadline:
            hashlib.sha256(block)

    workers = [threading.Thread(target=spin, daemon=True) for _ in range(max(1, threads))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return (time.process_time() - cpu_start) / max(1e-6, time.monotonic() - wall_start)
