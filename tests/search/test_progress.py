"""Progress that tells the truth: the rates behind the estimate, the live ETA, logs above the bars, a quiet
CLI, and one line on Ctrl-C."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import anyio.to_thread
import psycopg
import pytest
from rich.console import Console
from rich.progress import Progress

from singularity_mcp.cli import log_level
from singularity_mcp.config import Settings
from singularity_mcp.db import Database
from singularity_mcp.logs import configure_logging
from singularity_mcp.search._cpu import MIN_SHARE, CpuNow
from singularity_mcp.search._rates import (
    DEFAULT_CORES,
    HISTORY,
    IndexRates,
    MachineRates,
    RunMeasurement,
    live_eta,
    load_rates,
    save_rates,
)
from tests.conftest import REPO_ROOT, CliResult, run_cli, server_env


def _run(cpu_per_chunk: float, *, chunks: int = 2000, parse_cpu: float = 1.0) -> RunMeasurement:
    """A run that parsed 1 MB into `chunks` chunks and embedded them at `cpu_per_chunk` CPU seconds."""
    return RunMeasurement(
        bytes_done=1_000_000,
        parse_cpu_seconds=parse_cpu,
        chunks_written=chunks,
        chunked_bytes=1_000_000,
        embedded=chunks,
        embedded_by_model=chunks,
        embed_cpu_seconds=cpu_per_chunk * chunks,
        model_load_cpu_s=1.0,
    )


def test_rates_keep_recent_runs_and_take_the_median(tmp_path: Path) -> None:
    rates = MachineRates()
    tiny = RunMeasurement(
        bytes_done=5_000, parse_cpu_seconds=0.1, embedded=10, embedded_by_model=10, embed_cpu_seconds=1
    )
    assert rates.learn(tiny) == rates  # too little to measure: nothing learned
    first = rates.learn(_run(0.04))
    assert first.measured_runs == 1 and first.median("embed_cpu_s_per_chunk", 9.0) == pytest.approx(0.04)
    assert first.median("bytes_per_chunk", 9.0) == 500.0 and first.median("parse_cpu_s_per_mb", 9.0) == 1.0
    # One odd run (the model was built during it) does not move the median far; a mean would have tripled.
    learned = first.learn(_run(0.05)).learn(_run(0.4)).learn(_run(0.045))
    assert learned.median("embed_cpu_s_per_chunk", 9.0) == pytest.approx(0.0475)
    cached = RunMeasurement(embedded=1000, embedded_by_model=100, embed_cpu_seconds=5)  # mostly cache hits
    assert learned.learn(cached) == learned
    load_only = learned.learn(RunMeasurement(model_load_cpu_s=3.0))  # a small run: only the model load
    assert load_only.measured_runs == 4 and load_only.median("model_load_cpu_s", 9.0) == 1.0
    for _ in range(HISTORY):
        learned = learned.learn(_run(0.03))
    assert len(learned.samples) == HISTORY and learned.median("embed_cpu_s_per_chunk", 9.0) == 0.03

    path = tmp_path / "rates.json"
    assert load_rates(path) == MachineRates()
    save_rates(path, learned)
    assert load_rates(path) == learned
    path.write_text("{not json")
    assert load_rates(path) == MachineRates()
    path.write_text('{"parse_s_per_mb": 2.0, "embed_s_per_chunk": 0.05, "measured_runs": 3}')
    assert load_rates(path) == MachineRates()  # an older version's wall-clock rates: measured again


def test_estimate_scales_cpu_time_by_the_cpu_share_measured_now() -> None:
    """Wall seconds = CPU seconds / the cores the run gets; parsing and the model load run on one thread
    (they gain up to one core), embedding on its threads."""
    rates = MachineRates().learn(_run(0.04, parse_cpu=0.5))
    idle = rates.at(CpuNow(cores=2, embed_threads=2, share=2.0, load=0.1))
    busy = rates.at(CpuNow(cores=2, embed_threads=2, share=0.5, load=6.0))
    assert idle.embed_s_per_chunk == pytest.approx(0.02) and busy.embed_s_per_chunk == pytest.approx(0.08)
    assert idle.parse_s_per_mb == pytest.approx(0.5) and busy.parse_s_per_mb == pytest.approx(1.0)
    assert idle.model_load_s == pytest.approx(1.0) and busy.model_load_s == pytest.approx(2.0)
    assert busy.embed_seconds(2000) == pytest.approx(2000 * 0.08 + 2.0)
    # More threads than cores get the cores; a starved probe is not taken for no CPU at all.
    assert CpuNow(cores=2, embed_threads=8, share=3.1).embed_share() == 2.0
    assert CpuNow(cores=2, embed_threads=2, share=0.0).embed_share() == MIN_SHARE
    assert "0.50 of 2 cores (load average 6)" in busy.basis() and "median of 1 run)" in busy.basis()
    assert rates.at(None).embed_s_per_chunk == pytest.approx(0.04 / DEFAULT_CORES)  # not measured: idle
    assert "default rates" in MachineRates().at(None).basis()


def test_estimate_assumes_the_cpu_share_recent_runs_got() -> None:
    """Without a measured share (every real run), CPU seconds are divided by the median share the last
    runs got: a machine whose embedding got one core of two is estimated at one core."""

    def run(share: float) -> RunMeasurement:
        measured = _run(0.04)
        measured.embed_seconds = measured.embed_cpu_seconds / share
        measured.parse_seconds = measured.parse_cpu_seconds / min(1.0, share)
        return measured

    rates = MachineRates().learn(run(1.0)).learn(run(0.9)).learn(run(1.9))
    assumed = rates.at()
    assert assumed.embed_share == pytest.approx(1.0)
    assert assumed.embed_s_per_chunk == pytest.approx(0.04)  # 2000 chunks: 80 s, not 40
    assert "1.00 cores while embedding" in assumed.basis()


def test_cpu_probe_measures_a_share_of_this_machine() -> None:
    cpu = CpuNow.measure(embed_threads=2, seconds=0.2)
    assert cpu.cores >= 1 and 1 <= cpu.embed_threads <= 2
    assert 0 < cpu.share <= cpu.embed_threads * 1.05  # CPU time of the probe threads, not more


def test_live_eta_uses_the_run_s_own_rates() -> None:
    rates = IndexRates(parse_s_per_mb=10.0, embed_s_per_chunk=0.1, bytes_per_chunk=500, model_load_s=2.0)
    run = RunMeasurement(bytes_total=1_000_000, pending_before=0)
    # Before any measurement: the machine's rates, parse + model load + embedding of the expected chunks.
    assert live_eta(rates, run, phase="lexical", chunks_pending=0, now=0) == pytest.approx(
        10 + 2 + 2000 * 0.1
    )
    # Half parsed in 2 s (5x faster than the stored rate) with 1 chunk per 250 bytes so far.
    run.parse_started, run.bytes_done, run.chunked_bytes, run.chunks_written = 0.0, 500_000, 500_000, 2000
    eta = live_eta(rates, run, phase="lexical", chunks_pending=2000, now=2.0)
    assert eta == pytest.approx(2.0 + 2.0 + 4000 * 0.1)
    # Embedding, before a measurement: the machine's rate per chunk.
    run.embed_started, run.embed_bytes_total = 100.0, 2_000_000
    assert live_eta(rates, run, phase="dense", chunks_pending=3600, now=100.5) == pytest.approx(360.0)
    # 400 KB of chunk text in 10 s: the rest (1.6 MB) at the same rate per byte, whatever the chunk count.
    run.embed_bytes_done, run.embedded = 400_000, 400
    assert live_eta(rates, run, phase="dense", chunks_pending=3600, now=110.0) == pytest.approx(40.0)
    assert live_eta(rates, run, phase="done", chunks_pending=0) == 0.0


def test_index_run_reports_estimate_parts_and_eta(settings: Settings, tmp_path: Path) -> None:
    """The pre-flight estimate names its parts and basis; the finished run reports no time left."""
    from tests.search.conftest import write_repo

    root = write_repo(tmp_path / "repo")
    result = run_cli(server_env(settings), "index", str(root), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    preflight = data["preflight"]
    assert preflight["estimated_seconds"] == pytest.approx(
        preflight["estimated_parse_seconds"] + preflight["estimated_embed_seconds"], abs=0.11
    )
    assert "rates" in preflight["estimate_basis"]
    assert "rates of a 2-core machine" in preflight["estimate_basis"]  # a fresh machine: the defaults
    assert data["progress"]["eta_seconds"] == 0.0


def test_logs_print_above_the_bars_not_through_them(capsys: pytest.CaptureFixture[str]) -> None:
    """The handler writes to the stderr of the moment, which Rich's live display redirects through its
    console: the record lands on its own line in the console's output."""
    configure_logging("WARNING")
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80)
    try:
        with Progress(console=console, redirect_stderr=True) as progress:
            task = progress.add_task("embed", total=10)
            progress.update(task, completed=3)
            logging.getLogger("singularity_mcp.test").warning("a warning during the bar")
            progress.update(task, completed=10)
    finally:
        configure_logging("WARNING")
    text = out.getvalue()
    assert "a warning during the bar" in text
    line = next(x for x in text.splitlines() if "a warning during the bar" in x)
    assert "━" not in line  # not glued to a bar
    assert "a warning during the bar" not in capsys.readouterr().err


def test_cli_log_levels() -> None:
    quiet = Settings()
    explicit = Settings(log_level="DEBUG")
    assert log_level("index", 0, quiet) == "WARNING"
    assert log_level("index", 1, quiet) == "INFO" and log_level("index", 2, quiet) == "DEBUG"
    assert log_level("serve", 0, quiet) == "INFO"  # the server keeps SINGULARITY_LOG_LEVEL's default
    assert log_level("search", 0, explicit) == "DEBUG"


@pytest.mark.anyio
async def test_cli_is_quiet_unless_verbose(settings: Settings, database: object) -> None:
    env = server_env(settings)
    del env["SINGULARITY_LOG_LEVEL"]

    def plan_list(*flags: str) -> CliResult:
        return run_cli(env, *flags, "plan", "list")

    quiet = await anyio.to_thread.run_sync(plan_list)
    assert quiet.returncode == 0 and " INFO " not in quiet.stderr, quiet.stderr
    loud = await anyio.to_thread.run_sync(plan_list, "-v")
    assert loud.returncode == 0 and " INFO singularity_mcp" in loud.stderr


@pytest.mark.anyio
async def test_ctrl_c_prints_one_line(settings: Settings, database: Database, tmp_path: Path) -> None:
    """Interrupted while embedding (connections busy): 'interrupted', and nothing from psycopg."""
    await anyio.to_thread.run_sync(_interrupt_an_index_run, settings, database.url, tmp_path)


def _embedded_chunks(url: str, root: Path) -> int:
    """How many chunks of `root` have their vector stored (0 before the dense phase commits a batch)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(c.embedding) FROM code_chunks c JOIN code_roots r ON r.id = c.root_id "
            "WHERE r.path = %s",
            (str(root),),
        ).fetchone()
    return row[0] if row else 0


def _interrupt_an_index_run(settings: Settings, url: str, tmp_path: Path) -> None:
    root = tmp_path / "many"
    root.mkdir()
    body = "".join(
        f"def function_{j}(value):\n    '''Step {j}.'''\n    return value * {j} + sum(range(value))\n\n\n"
        for j in range(12)
    )
    for i in range(60):  # 720 chunks: the dense phase has several embedding batches to go
        (root / f"mod{i}.py").write_text(f"# module {i}\n" + body.replace("Step", f"Module {i} step"))
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "singularity_mcp", "index", str(root)],
            env=server_env(settings),
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        try:
            deadline = time.monotonic() + 240
            # Embedding: the first batch of vectors is committed and the next is being computed.
            while _embedded_chunks(url, root) == 0 and time.monotonic() < deadline:
                assert process.poll() is None, errors.read_text()
                time.sleep(0.05)
            assert "files to index" in errors.read_text()
            assert process.poll() is None, "finished before it could be interrupted"
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=120) == 130
        finally:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
    text = errors.read_text()
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[-1] == "interrupted", text
    assert text.count("interrupted") == 1
    assert "psycopg" not in text and "WARNING" not in text and "Traceback" not in text, text
