"""Fuzz every tool through the SDK's in-memory client: every call answers within a bound, bad input gets
`isError` with a short readable message, and the server keeps answering.

Bounded for CI (derandomized, a fixed number of examples); `benchmarks/faults/fuzz.py` runs a larger
campaign with the same generators and prints the counts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from singularity_mcp.config import Settings
from tests.faults.fuzzing import (
    HUGE,
    Counts,
    FuzzClient,
    fuzz_client,
    fuzz_folder,
    fuzz_settings,
    tool_arguments,
)

EXAMPLES = int(os.environ.get("SINGULARITY_FUZZ_EXAMPLES", "120"))
COUNTS = Counts()


@pytest.fixture(scope="module")
def fuzzer(
    settings: Settings, embedder: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FuzzClient, Path]]:
    root = fuzz_folder(tmp_path_factory.mktemp("fuzz"))
    with fuzz_client(fuzz_settings(settings, root)) as client:
        yield client, root
    report = os.environ.get("SINGULARITY_FUZZ_REPORT")
    if report:
        Path(report).write_text(
            json.dumps(
                {
                    "calls": COUNTS.calls,
                    "outcomes": dict(COUNTS.outcomes),
                    "per_tool": {k: dict(v) for k, v in COUNTS.per_tool.items()},
                    "slowest_s": round(COUNTS.slowest_s, 2),
                    "slowest_call": COUNTS.slowest_call,
                    "problems": COUNTS.problems,
                },
                indent=2,
            )
        )


def test_every_string_argument_of_every_tool_refuses_hostile_text(fuzzer: tuple[FuzzClient, Path]) -> None:
    client, _ = fuzzer
    assert len(client.tools) >= 8
    for name, tool in sorted(client.tools.items()):
        for prop in tool.input_schema.get("properties", {}):
            for value, expected in (
                ("\ud800", "surrogate"),
                ("a\x00b", "NUL"),
                (HUGE, "characters"),
                ([[[[["deep"]]]]] * 2, None),
                (2**70, None),
            ):
                outcome, message = client.call(name, {prop: value}, COUNTS)
                assert outcome == "error", (name, prop, COUNTS.problems[-1:])
                assert expected is None or expected in message, (name, prop, message)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(data=st.data())
def test_fuzz_every_tool(fuzzer: tuple[FuzzClient, Path], data: st.DataObject) -> None:
    client, root = fuzzer
    tool = data.draw(st.sampled_from(sorted(client.tools)), label="tool")
    arguments = data.draw(tool_arguments(client.tools[tool], root), label="arguments")
    outcome, _ = client.call(tool, arguments, COUNTS)
    assert outcome in ("normal", "error", "unsendable"), COUNTS.problems[-1:]
