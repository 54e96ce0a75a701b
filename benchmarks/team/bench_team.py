"""Team server under load: two `serve --transport http` processes on one standalone PostgreSQL.

    python benchmarks/team/bench_team.py [--seconds 60] [--clients-per-server 8] [--files 300]
                                         [--kill-at SECONDS] [--out benchmarks/team/results.json]

Starts a PostgreSQL 18 cluster (initdb + pg_ctl, scram over TCP, a non-superuser owner role; the same
harness as tests/team), two server processes on it, indexes `--corpus` (default: this repository's
src/singularity_mcp/search) for the searches, then
for `--seconds` runs `--clients-per-server` MCP clients on each process (search, ask with use_llm=false,
plan update, analyse) while process "a" indexes a generated folder of `--files` Python files.
With `--kill-at`, process "a" gets SIGKILL at that second; afterwards the index is resumed on "b" and SQL
counts duplicate and orphan rows. Prints and writes requests/s and p50/p95 per tool, with `uptime`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx2
import psutil
import psycopg

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from tests.conftest import test_model_dir  # noqa: E402
from tests.search.test_resume import make_big_repo  # noqa: E402
from tests.team._cluster import (  # noqa: E402
    StandalonePostgres,
    free_port,
    index_integrity,
    index_state,
    start_http_server,
    stop_processes,
)
from tests.team._load import call, create_shared_plan, http_session, run_load  # noqa: E402

TOKEN = "bench-team-token-0123456789abcdef"


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def wait_ready(port: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    with httpx2.Client(timeout=30) as client:
        while time.monotonic() < deadline:
            if client.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return
            time.sleep(0.5)
    raise RuntimeError(f"the server on port {port} did not turn ready")


def storage(url: str) -> dict:
    """On-disk size of the code index per chunk (tables, TOAST and indexes), to size a database."""
    with psycopg.connect(url) as conn:
        chunks, chunk_bytes, lexeme_bytes, file_bytes = conn.execute(
            "SELECT (SELECT count(*) FROM code_chunks), pg_total_relation_size('code_chunks'), "
            "pg_total_relation_size('code_chunk_lexemes') + pg_total_relation_size('code_terms'), "
            "pg_total_relation_size('code_files')"
        ).fetchone()
    total = chunk_bytes + lexeme_bytes + file_bytes
    return {
        "chunks": chunks,
        "code_index_bytes": total,
        "bytes_per_chunk": round(total / chunks) if chunks else None,
        "code_chunks_bytes_per_chunk": round(chunk_bytes / chunks) if chunks else None,
    }


async def scenario(args: argparse.Namespace, base: Path) -> dict:
    postgres = StandalonePostgres(base / "cluster").start()
    processes: dict[str, subprocess.Popen] = {}
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SINGULARITY_", "ANTHROPIC_"))}
        env.update(
            SINGULARITY_DATA_DIR=str(base / "data"),
            SINGULARITY_MODEL_DIR=os.environ.get("SINGULARITY_MODEL_DIR") or str(test_model_dir()),
            SINGULARITY_DATABASE_URL=postgres.url(),
            SINGULARITY_HTTP_TOKEN=TOKEN,
            SINGULARITY_LOG_LEVEL="WARNING",
        )
        ports = {"a": free_port(), "b": free_port()}
        for name, port in ports.items():
            processes[name] = start_http_server(env, port, base / f"{name}.log")
        for port in ports.values():
            wait_ready(port)
        urls = {name: f"http://127.0.0.1:{port}/mcp" for name, port in ports.items()}
        corpus = args.corpus.resolve()
        async with http_session(urls["b"], TOKEN) as session:
            indexed = await call(session, "index_codebase", path=str(corpus), wait_s=600)
        plan_id = await create_shared_plan(urls["b"], TOKEN, tasks=2 * args.clients_per_server)
        generated = base / "generated"
        chunks_expected = make_big_repo(generated, f"bench{time.time_ns()}", files=args.files, functions=2)

        killed_at: list[float] = []
        load_started = time.monotonic()

        async def index_in_background() -> None:
            async with http_session(urls["a"], TOKEN) as session:
                await call(session, "index_codebase", path=str(generated), wait_s=0)
            if args.kill_at is not None:
                await anyio.sleep(max(0.0, load_started + args.kill_at - time.monotonic()))
                processes["a"].send_signal(signal.SIGKILL)
                killed_at.append(time.monotonic() - load_started)

        before = uptime()
        async with anyio.create_task_group() as group:
            group.start_soon(index_in_background)
            report = await run_load(
                list(urls.items()),
                args.clients_per_server,
                args.seconds,
                plan_id,
                token=TOKEN,
                search_path=str(corpus),
                analyse_path=str(args.analyse.resolve()),
            )
        after = uptime()
        rss = {
            name: round(psutil.Process(process.pid).memory_info().rss / 2**20)
            for name, process in processes.items()
            if process.poll() is None
        }
        state_at_end = index_state(postgres.url(), generated)
        result: dict = {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "uptime_before": before,
            "uptime_after": after,
            "search_corpus": {"files": indexed["files_indexed"], "chunks": indexed["chunks"]},
            "indexed_during_load": {"files": args.files, "state_at_end": state_at_end[0]},
            "load": report.summary(),
            "by_server": {name: report.summary(name) for name in urls},
            "first_errors": [e for _, e in report.errors()[:5]],
        }
        result["storage"] = storage(postgres.url())
        result["server_rss_mib"] = rss
        if killed_at:
            survivor = report.latencies("b")
            result["kill"] = {
                "killed_a_at_s": round(killed_at[0], 1),
                "survivor_errors": len(report.errors("b")),
                "survivor_calls": sum(len(v) for v in survivor.values()),
                "files_committed_at_kill": state_at_end[1],
            }
            async with http_session(urls["b"], TOKEN) as session:
                tick = time.monotonic()
                resumed = await call(session, "index_codebase", path=str(generated), wait_s=600)
                result["kill"]["resume"] = {
                    "status": resumed["status"],
                    "files_unchanged": resumed["files_unchanged"],
                    "files_indexed": resumed["files_indexed"],
                    "seconds": round(time.monotonic() - tick, 1),
                }
            result["kill"]["integrity"] = index_integrity(postgres.url(), generated)
            result["kill"]["chunks_expected"] = chunks_expected
        return result
    finally:
        stop_processes(list(processes.values()))
        postgres.remove()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients-per-server", type=int, default=8)
    parser.add_argument("--files", type=int, default=300, help="files indexed by process a during the load")
    parser.add_argument("--kill-at", type=float, default=None, help="SIGKILL process a at this second")
    parser.add_argument("--corpus", type=Path, default=REPO_ROOT / "src" / "singularity_mcp" / "search")
    parser.add_argument(
        "--analyse", type=Path, default=REPO_ROOT / "src" / "singularity_mcp" / "search" / "_searcher.py"
    )
    parser.add_argument("--out", type=Path, default=None, help="write the result as JSON here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-team-") as tmp:
        result = anyio.run(scenario, args, Path(tmp))
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
