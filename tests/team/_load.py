"""Load on a team server: concurrent MCP clients over streamable HTTP calling search, ask, plan and analyse.

Each client owns one task of a shared plan and updates its note on every plan call, so that afterwards the
plan shows whether any acknowledged update was lost (see `LoadReport.plan_notes`). A client stops at its
first error and records it (with the time), so a test can tell errors before a kill from those after.
Used by `tests/team` (a short run) and `benchmarks/team/bench_team.py` (the 60 s benchmark).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

QUERIES = [
    "compute shipping cost for a parcel",
    "invoice total with tax",
    "parse query string",
    "health check handler",
    "rotate carousel slides",
    "ledger balance export",
]
PROMPTS = [
    "What is the difference between a list and a tuple in Python?",
    "How do I reverse a string in Python?",
    "Explain what a race condition is.",
    "What does HTTP status 401 mean?",
]
SNIPPET = """
def settle(ledger, payments, limit=3):
    total = 0
    for payment in payments:
        if payment.amount > limit and payment.currency == "EUR" or payment.flagged:
            total += payment.amount
        elif payment.refund:
            total -= payment.amount
    return ledger.close(total)
"""


class ToolFailed(Exception):
    """A tool answered with isError."""


@asynccontextmanager
async def http_session(url: str, token: str | None = None) -> AsyncIterator[ClientSession]:
    """An initialised MCP client session on `url` (…/mcp), with a bearer token when given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = httpx2.Timeout(60, read=300)
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await session.call_tool(tool, arguments)
    if result.is_error:
        text = result.content[0].text if result.content else "?"
        raise ToolFailed(f"{tool}: {text}")
    return result.structured_content or {}


@dataclass
class ClientRecord:
    server: str
    task_id: str
    latencies: dict[str, list[float]] = field(default_factory=dict)
    finished: list[float] = field(default_factory=list)  # time.monotonic() at the end of each call
    errors: list[tuple[float, str]] = field(default_factory=list)  # (time.monotonic(), what)
    acked_note: str | None = None  # the last plan note the server confirmed
    attempted_note: str | None = None  # the last plan note sent (maybe in flight when the server died)
    acked_updates: int = 0


@dataclass
class LoadReport:
    seconds: float
    clients: list[ClientRecord]

    def latencies(self, server: str | None = None) -> dict[str, list[float]]:
        merged: dict[str, list[float]] = {}
        for client in self.clients:
            if server is None or client.server == server:
                for tool, values in client.latencies.items():
                    merged.setdefault(tool, []).extend(values)
        return merged

    def errors(self, server: str | None = None) -> list[tuple[float, str]]:
        return [e for c in self.clients if server is None or c.server == server for e in c.errors]

    def summary(self, server: str | None = None) -> dict[str, Any]:
        """requests/s overall and per tool, p50/p95 in ms per tool (of one server's clients, or all)."""
        per_tool = {}
        total = 0
        for tool, values in sorted(self.latencies(server).items()):
            total += len(values)
            ordered = sorted(values)
            per_tool[tool] = {
                "calls": len(values),
                "per_s": round(len(values) / self.seconds, 2),
                "p50_ms": round(statistics.median(ordered) * 1000, 1),
                "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 1),
            }
        return {
            "seconds": round(self.seconds, 1),
            "clients": sum(1 for c in self.clients if server is None or c.server == server),
            "requests": total,
            "requests_per_s": round(total / self.seconds, 2),
            "errors": len(self.errors(server)),
            "tools": per_tool,
        }


async def _client_loop(
    record: ClientRecord,
    url: str,
    token: str | None,
    plan_id: int,
    search_path: str | None,
    analyse_path: str | None,
    deadline: float,
    hold: anyio.Event | None,
    number: int,
) -> None:
    try:
        async with http_session(url, token) as session:
            step = number  # clients start at different points of the cycle
            # ... and until this client has called each of the four tools once: on a busy machine a
            # cycle can outlast the window, and the callers check that every tool was served.
            while (
                time.monotonic() < deadline
                or (hold is not None and not hold.is_set())
                or len(record.latencies) < 4
            ):
                kind = step % 4
                tick = time.perf_counter()
                if kind == 0:
                    args: dict[str, Any] = {
                        "query": QUERIES[step % len(QUERIES)],
                        "scope": "code",
                        "top_k": 5,
                    }
                    if search_path:
                        args["path"] = search_path
                    await call(session, "semantic_search", **args)
                    tool = "semantic_search"
                elif kind == 1:
                    await call(session, "ask_agent", prompt=PROMPTS[step % len(PROMPTS)], use_llm=False)
                    tool = "ask_agent"
                elif kind == 2:
                    note = f"client {number} update {record.acked_updates + 1}"
                    record.attempted_note = note
                    await call(session, "plan_task", plan_id=plan_id, task_id=record.task_id, note=note)
                    record.acked_note = note
                    record.acked_updates += 1
                    tool = "plan_task"
                else:
                    if analyse_path and step % 8 == 3:
                        await call(session, "analyze_code", path=analyse_path)
                    else:
                        await call(session, "analyze_code", content=SNIPPET, language="python")
                    tool = "analyze_code"
                record.latencies.setdefault(tool, []).append(time.perf_counter() - tick)
                record.finished.append(time.monotonic())
                step += 1
    except Exception as exc:  # recorded: the caller decides what counts as a failure
        while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
            exc = exc.exceptions[0]
        record.errors.append((time.monotonic(), f"{type(exc).__name__}: {exc}"[:300]))


async def create_shared_plan(url: str, token: str | None, tasks: int) -> int:
    """A plan with `tasks` independent tasks (ids "1".."N"), one per load client."""
    async with http_session(url, token) as session:
        plan = await call(
            session,
            "plan_task",
            goal="team load test: every client updates its own task",
            subtasks=[{"title": f"task of client {i}", "complexity": 2} for i in range(tasks)],
        )
    return int(plan["plan_id"])


async def run_load(
    servers: Sequence[tuple[str, str]],
    clients_per_server: int,
    seconds: float,
    plan_id: int,
    *,
    token: str | None = None,
    search_path: str | None = None,
    analyse_path: str | None = None,
    hold: anyio.Event | None = None,
) -> LoadReport:
    """`clients_per_server` clients on each (label, url) for `seconds` (and until `hold` is set, when given);
    client k owns plan task k+1."""
    records: list[ClientRecord] = []
    deadline = time.monotonic() + seconds
    start = time.monotonic()
    async with anyio.create_task_group() as group:
        for label, url in servers:
            for _ in range(clients_per_server):
                number = len(records)
                record = ClientRecord(server=label, task_id=str(number + 1))
                records.append(record)
                group.start_soon(
                    _client_loop,
                    record,
                    url,
                    token,
                    plan_id,
                    search_path,
                    analyse_path,
                    deadline,
                    hold,
                    number,
                )
    return LoadReport(seconds=time.monotonic() - start, clients=records)
