"""Cold and cached latency of package lookups, and an audit of this repository's manifests.

Runs the plain async API (`PackageService`) against the live registries, on a fresh embedded PostgreSQL
in a temporary data directory (or SINGULARITY_DATABASE_URL). Cold = nothing cached (registry round trips
plus the OSV query); cached = the same lookup again within the TTL (one PostgreSQL read per row).

    python benchmarks/packages/bench_lookup.py --repeat 20 --json benchmarks/packages/results.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from singularity_mcp.packages import PackageService

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [
    ("pypi", "requests"),
    ("pypi", "numpy"),
    ("pypi", "httpx"),
    ("pypi", "django"),
    ("npm", "express"),
    ("npm", "react"),
    ("npm", "lodash"),
    ("npm", "typescript"),
]


async def run(repeat: int, data_dir: Path) -> dict:
    settings = Settings(data_dir=data_dir)
    async with asynccontextmanager(Core(settings).run)() as core:
        database = await core.database()
        async with database.pool.connection() as conn, conn.transaction():
            await conn.execute("DELETE FROM package_cache")
        service = PackageService.from_settings(database.pool, settings, spawn=core.start_background)
        rows = []
        for ecosystem, name in PACKAGES:
            started = time.perf_counter()
            result = await service.lookup(name, ecosystem)  # type: ignore[arg-type]
            cold = time.perf_counter() - started
            cached = []
            for _ in range(repeat):
                started = time.perf_counter()
                again = await service.lookup(name, ecosystem)  # type: ignore[arg-type]
                cached.append(time.perf_counter() - started)
                assert again.stale is False and again.fetched_at == result.fetched_at
            rows.append(
                {
                    "ecosystem": ecosystem,
                    "name": name,
                    "latest": result.latest_version,
                    "versions": result.version_count,
                    "cold_ms": round(cold * 1000, 1),
                    "cached_median_ms": round(statistics.median(cached) * 1000, 2),
                    "cached_p95_ms": round(sorted(cached)[int(0.95 * (len(cached) - 1))] * 1000, 2),
                    "advisories_source": result.advisories_source,
                }
            )
            print(json.dumps(rows[-1]), file=sys.stderr)
        mcp_rows = await _through_mcp(data_dir, repeat)
        started = time.perf_counter()
        audit = await service.audit(REPO_ROOT)
        audit_cold = time.perf_counter() - started
        started = time.perf_counter()
        await service.audit(REPO_ROOT)
        audit_cached = time.perf_counter() - started
        await service.aclose()
    assert audit.audit is not None
    return {
        "lookups": rows,
        "mcp": mcp_rows,
        "audit": {
            "cold_s": round(audit_cold, 2),
            "cached_s": round(audit_cached, 3),
            "report": audit.audit.model_dump(mode="json"),
            "notes": audit.notes,
        },
    }


async def _through_mcp(data_dir: Path, repeat: int) -> list[dict]:
    """The same lookups as a client sees them: a spawned stdio server on the same (now warm) cache."""
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    env = {k: v for k, v in os.environ.items() if not k.startswith("SINGULARITY_")}
    env.update({"SINGULARITY_DATA_DIR": str(data_dir), "SINGULARITY_LOG_LEVEL": "WARNING"})
    built = Path.home() / ".cache" / "singularity-mcp-test" / "models"
    if built.is_dir():  # reuse the test suite's model build instead of building one at server start
        env["SINGULARITY_MODEL_DIR"] = str(built)
    params = StdioServerParameters(command=sys.executable, args=["-m", "singularity_mcp", "serve"], env=env)
    rows = []
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        for ecosystem, name in (("pypi", "httpx"), ("npm", "express")):
            timings = []
            for _ in range(repeat + 1):
                started = time.perf_counter()
                result = await session.call_tool("package_lookup", {"name": name, "ecosystem": ecosystem})
                timings.append(time.perf_counter() - started)
                assert not result.is_error, result.content
            first, rest = timings[0], sorted(timings[1:])
            rows.append(
                {
                    "ecosystem": ecosystem,
                    "name": name,
                    "first_call_ms": round(first * 1000, 1),
                    "cached_median_ms": round(statistics.median(rest) * 1000, 2),
                }
            )
    return rows


def print_tables(results: dict) -> None:
    print("| ecosystem | package | latest | releases | cold ms | cached median ms | cached p95 ms |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    for r in results["lookups"]:
        print(
            f"| {r['ecosystem']} | {r['name']} | {r['latest']} | {r['versions']} | {r['cold_ms']} "
            f"| {r['cached_median_ms']} | {r['cached_p95_ms']} |"
        )
    print("\nthrough MCP (spawned stdio server, cache already warm):\n")
    print("| package | first call ms (opens the pool) | cached median ms |")
    print("| --- | ---: | ---: |")
    for r in results["mcp"]:
        print(f"| {r['ecosystem']} {r['name']} | {r['first_call_ms']} | {r['cached_median_ms']} |")
    audit = results["audit"]
    report = audit["report"]
    print(
        f"\naudit of {report['path']} ({', '.join(report['manifests'])}): {len(report['dependencies'])} "
        f"dependencies, {report['vulnerable']} with advisories, {report['outdated']} outdated, "
        f"{report['errors']} with notes; cold {audit['cold_s']} s, cached {audit['cached_s']} s\n"
    )
    print("| dependency | kind | requirement | wanted | latest | outdated | licence | advisories |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for d in report["dependencies"]:
        source = d["advisories_source"]
        advisories = ", ".join(a["id"] for a in d["advisories"]) or (
            f"none ({source})" if source else "not checked"
        )
        print(
            f"| {d['name']} | {d['kind']} | `{d['requirement'] or '*'}` | {d['wanted']} | {d['latest']} "
            f"| {'yes' if d['outdated'] else 'no'} | {d['license'] or '?'} | {advisories} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="cached lookups per package")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-packages-") as tmp:
        results = anyio.run(run, args.repeat, Path(tmp))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    print_tables(results)


if __name__ == "__main__":
    main()
