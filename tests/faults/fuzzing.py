"""Hostile tool calls for the fuzz test and the fuzz campaign (benchmarks/faults/fuzz.py).

Arguments come from each tool's own input schema: every property is left out, given a plausible value,
or given a hostile one (lone surrogates, NUL characters, 5 MB strings, paths to special files, symlink
loops, wrong types, deep nesting, unknown argument names). Calls go through the SDK's in-memory client
to a whole server (lifespan, database, model), and each outcome is classified:

- normal: a result without isError;
- error: isError with a short readable message (under 1 KB, not a bare "Error executing tool X",
  not an internal error);
- crash: isError saying the tool failed internally, a bare or over-long message, or an exception;
- hang: no answer within the time bound;
- unresponsive: the server did not answer tools/list within 5 s after a call;
- unsendable: the SDK's client cannot serialise the arguments (a lone surrogate in an object key,
  nesting past pydantic's depth limit), so no server ever sees them.
"""

from __future__ import annotations

import math
import os
import reprlib
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pydantic_core
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import strategies as st
from mcp import Client

from singularity_mcp.config import Settings
from singularity_mcp.server import build_server

CALL_BOUND_S = 30.0  # generous: the CI machine is shared; a hang is an answer that never comes
PING_BOUND_S = 5.0
MAX_MESSAGE_BYTES = 1024
HUGE = "x" * 5_000_000


def fuzz_folder(base: Path) -> Path:
    """The only folder the fuzzed server may read: a few files, a FIFO, a symlink loop, a symlink out."""
    root = base / "fuzz-root"
    (root / "pkg").mkdir(parents=True, exist_ok=True)
    (root / "pkg" / "app.py").write_text(
        "def handler(event):\n    if event:\n        return 1\n    return 0\n"
    )
    (root / "README.md").write_text("# Fuzz\n\nA tiny project.\n")
    (root / "requirements.txt").write_text("requests>=2\n")
    for name, target in (("loop-a", root / "loop-b"), ("loop-b", root / "loop-a"), ("out", Path("/etc"))):
        if not (root / name).is_symlink():
            (root / name).symlink_to(target)
    if not (root / "pipe.py").exists():
        os.mkfifo(root / "pipe.py")
    return root


def fuzz_settings(settings: Settings, root: Path) -> Settings:
    """Allowed roots = the fuzz folder (fuzzed paths cannot wander the disk); registries unreachable
    (connection refused at once: no network, no waiting)."""
    dead = "http://127.0.0.1:9"
    return settings.model_copy(
        update={
            "allowed_roots": [root],
            "pypi_url": dead,
            "npm_url": dead,
            "npm_downloads_url": dead,
            "crates_url": dead,
            "hex_url": dead,
            "osv_url": dead,
            "anthropic_api_key": None,
        }
    )


# --- strategies -------------------------------------------------------------------------------------------


def _deep(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def hostile_values(root: Path) -> list[Any]:
    """Values that have hung, crashed or leaked before, or that no tool should take."""
    return [
        "\ud800",
        "query \udfff text",
        "a\x00b",
        "\x00",
        HUGE,
        "",
        "   ",
        "\u202e\ufeff\u200b",
        "../../../../etc/passwd",
        "/proc/self/mem",
        "/dev/zero",
        str(root / "pipe.py"),
        str(root / "loop-a"),
        str(root / "out" / "passwd"),
        "/" + "a" * 5000,
        "/tmp/" + "b" * 300,
        str(root) + "\x00/etc",
        None,
        0,
        -1,
        2**70,
        1e308,
        -0.0,
        math.nan,
        math.inf,
        True,
        [],
        {},
        ["\ud800", "\x00"],
        {"\x00": 1, "\ud800": [None]},
        _deep(40),
        _deep(300),  # past the SDK client's own serialisation depth: counted as unsendable
    ]


def _plausible_strings(name: str, root: Path) -> st.SearchStrategy[str]:
    by_name = {
        "path": [str(root), str(root / "pkg"), str(root / "pkg" / "app.py"), str(root / "README.md")],
        "language": ["python", "rust", "go", "klingon", "PY"],
        "ecosystem": ["pypi", "npm", "crates", "hex", "cobol"],
        "name": ["requests", "left-pad", "serde", "a" * 300],
        "scope": ["all", "code", "knowledge"],
        "task_type": ["general", "coder", "reviewer", "no such type!"],
        "artifact_type": ["pattern", "bug_fix", "nope"],
        "kind": ["function", "class", "module"],
        "task_id": ["1", "2.1", "999"],
        "answer_id": ["00000000-0000-0000-0000-000000000000", "not-a-uuid"],
        "artifact_id": ["sparc", "nope"],
        "content": ["def f(x):\n    return x\n", "fn main() { let x = 1; }", "((((((((((" * 20],
    }
    samples = by_name.get(name, [])
    text = st.text(max_size=80)
    return st.one_of(st.sampled_from(samples), text) if samples else text


def _value(name: str, schema: dict[str, Any], root: Path, defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A plausible value for a property: right type, sometimes right meaning."""
    if "$ref" in schema:
        schema = defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
    if "anyOf" in schema:
        return st.one_of([_value(name, option, root, defs) for option in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") == "date-time":
            return st.sampled_from(["2026-01-01T00:00:00Z", "yesterday", "9999-99-99"])
        return _plausible_strings(name, root)
    if kind == "integer":
        return st.one_of(st.integers(-5, 60), st.sampled_from([10**12, -(2**63)]))
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        return st.lists(_value(name, schema.get("items", {}), root, defs), max_size=4)
    if kind == "object":
        props = schema.get("properties", {})
        if props:
            return st.fixed_dictionaries({}, optional={k: _value(k, v, root, defs) for k, v in props.items()})
        return st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3)
    return st.none()


def tool_arguments(tool: Any, root: Path) -> st.SearchStrategy[dict[str, Any]]:
    """Arguments for one tool: plausible values for some properties, then (mostly) one or more hostile
    values, sometimes under an unknown or hostile argument name."""
    schema = tool.input_schema
    defs = schema.get("$defs", {})
    names = list(schema.get("properties", {}))
    hostile = st.sampled_from(hostile_values(root))
    plausible = st.fixed_dictionaries(
        {}, optional={name: _value(name, prop, root, defs) for name, prop in schema["properties"].items()}
    )
    spoilt = st.dictionaries(
        st.sampled_from([*names, "unknown", "\x00", "\ud800", "x" * 300]), hostile, min_size=1, max_size=2
    )
    return st.builds(
        lambda known, bad: {**known, **bad}, plausible, st.one_of(st.just({}), spoilt, spoilt, spoilt)
    )


def _brief(arguments: dict[str, Any]) -> str:
    return reprlib.repr(arguments)[:200]


# --- running calls ----------------------------------------------------------------------------------------


@dataclass
class Counts:
    """What a fuzz run saw, per outcome, plus the problems worth reading."""

    outcomes: Counter[str] = field(default_factory=Counter)
    per_tool: dict[str, Counter[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    slowest_s: float = 0.0
    slowest_call: str = ""

    def add(self, tool: str, outcome: str, seconds: float, detail: str = "") -> None:
        self.outcomes[outcome] += 1
        self.per_tool.setdefault(tool, Counter())[outcome] += 1
        if seconds > self.slowest_s:
            self.slowest_s, self.slowest_call = seconds, f"{tool} {detail[:200]}"
        if outcome in ("crash", "hang", "unresponsive") and len(self.problems) < 50:
            self.problems.append(f"{tool}: {outcome}: {detail[:300]}")

    @property
    def calls(self) -> int:
        return sum(self.outcomes.values())


def classify(is_error: bool, message: str) -> str:
    if not is_error:
        return "normal"
    if (
        not message.strip()
        or len(message.encode("utf-8", "surrogatepass")) >= MAX_MESSAGE_BYTES
        or message.startswith("Error executing tool")
        or "internal error" in message
        or "errors.pydantic.dev" in message
    ):
        return "crash"
    return "error"


class FuzzClient:
    """A server behind the in-memory client, in an event loop of its own, called from sync code."""

    def __init__(self, portal: BlockingPortal, client: Client) -> None:
        self.portal = portal
        self.client = client
        self.tools = {tool.name: tool for tool in portal.call(self._list)}

    async def _list(self) -> list[Any]:
        with anyio.fail_after(PING_BOUND_S * 6):  # the first listing may wait for start-up
            return (await self.client.list_tools()).tools

    async def _call(self, tool: str, arguments: dict[str, Any]) -> tuple[str, str, float]:
        try:  # what the SDK's client itself cannot serialise never reaches a server
            pydantic_core.to_jsonable_python(arguments)
        except (ValueError, UnicodeError) as exc:
            return "unsendable", str(exc), 0.0
        started = time.perf_counter()
        try:
            with anyio.fail_after(CALL_BOUND_S):
                result = await self.client.call_tool(tool, arguments)
        except TimeoutError:
            return "hang", repr(arguments)[:300], time.perf_counter() - started
        except Exception as exc:  # a protocol error instead of a tool result
            return "crash", f"{type(exc).__name__}: {exc}"[:300], time.perf_counter() - started
        seconds = time.perf_counter() - started
        message = "\n".join(c.text for c in result.content if c.type == "text")
        outcome = classify(bool(result.is_error), message) if seconds <= CALL_BOUND_S else "hang"
        detail = message if outcome != "normal" else ""
        try:
            with anyio.fail_after(PING_BOUND_S):
                await self.client.list_tools()
        except TimeoutError:
            return "unresponsive", detail, seconds
        return outcome, detail, seconds

    def call(self, tool: str, arguments: dict[str, Any], counts: Counts) -> tuple[str, str]:
        """(outcome, message of an error) of one call, counted in `counts`."""
        outcome, detail, seconds = self.portal.call(self._call, tool, arguments)
        counts.add(tool, outcome, seconds, f"{detail[:150]} {_brief(arguments)}")
        return outcome, detail


@contextmanager
def fuzz_client(settings: Settings) -> Iterator[FuzzClient]:
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(Client(build_server(settings))) as client,
    ):
        yield FuzzClient(portal, client)
