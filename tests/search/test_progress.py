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
import pytest
from rich.console import Console
from rich.progress import Progress

from singularity_mcp.cli import log_level
from singularity_mcp.config import Settings
from singularity_mcp.logs import configure_logging
from singularity_mcp.search._rates import (
    IndexRates,
    RunMeasurement,
    live_eta,
    load_rates,
    save_rates,
)
from tests.conftest import REPO_ROOT, CliResult, run_cli, server_env


def test_rates_learn_from_enough_work_and_persist(tmp_path: Path) -> None:
    rates = IndexRates()
    tiny = RunMeasurement(
        bytes_done=5_000, parse_seconds=0.1, embedded=10, embedded_by_model=10, embed_seconds=1
    )
    assert rates.learn(tiny) == rates  # too little to measure: the defaults stay
    sample = RunMeasurement(
        bytes_done=1_000_000,
        parse_seconds=2.0,
        chunks_written=2000,
        chunked_bytes=1_000_000,
        embedded=2000,
        embedded_by_model=2000,
        embed_seconds=100.0,
        model_load_s=1.0,
    )
    first = rates.learn(sample)
    assert (first.parse_s_per_mb, first.embed_s_per_chunk, first.bytes_per_chunk) == (2.0, 0.05, 500.0)
    assert first.measured_runs == 1  # the first measurement replaces the defaults outright
    slower = RunMeasurement(
        bytes_done=1_000_000, parse_seconds=4.0, embedded=1000, embedded_by_model=1000, embed_seconds=100
    )
    second = first.learn(slower)
    assert second.parse_s_per_mb == pytest.approx(3.0) and second.embed_s_per_chunk == pytest.approx(0.075)
    assert second.bytes_per_chunk == 500.0  # not measured by `slower`
    cached = RunMeasurement(embedded=1000, embedded_by_model=100, embed_seconds=5)  # mostly cache hits
    assert first.learn(cached).embed_s_per_chunk == first.embed_s_per_chunk
    load_only = rates.learn(RunMeasurement(model_load_s=0.8))  # a small run: only the model load measured
    assert load_only.model_load_s == 0.8 and not load_only.measured

    path = tmp_path / "rates.json"
    assert load_rates(path) == IndexRates()
    save_rates(path, second)
    assert load_rates(path) == second
    path.write_text("{not json")
    assert load_rates(path) == IndexRates()


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
async def test_ctrl_c_prints_one_line(settings: Settings, database: object, tmp_path: Path) -> None:
    """Interrupted while embedding (connections busy): 'interrupted', and nothing from psycopg."""
    await anyio.to_thread.run_sync(_interrupt_an_index_run, settings, tmp_path)


def _interrupt_an_index_run(settings: Settings, tmp_path: Path) -> None:
    root = tmp_path / "many"
    root.mkdir()
    body = "".join(
        f"def function_{j}(value):\n    '''Step {j}.'''\n    return value * {j} + sum(range(value))\n\n\n"
        for j in range(12)
    )
    for i in range(150):
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
            while "files to index" not in errors.read_text() and time.monotonic() < deadline:
                assert process.poll() is None, errors.read_text()
                time.sleep(0.5)
            time.sleep(3)  # parsing 150 small files takes about a second: embedding by now
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
