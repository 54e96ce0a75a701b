"""Every tool a client sees is described for the calling model: annotations, and a description for each
parameter (the model reads nothing else before it calls)."""

from __future__ import annotations

from pathlib import Path

import pytest

from singularity_mcp.config import Settings
from singularity_mcp.server import build_server

pytestmark = pytest.mark.anyio


async def test_every_tool_has_annotations_and_every_parameter_a_description(tmp_path: Path) -> None:
    server = build_server(Settings(data_dir=tmp_path))  # listing tools touches neither database nor model
    tools = await server.list_tools()
    assert len(tools) >= 11
    problems = []
    for tool in tools:
        if not tool.description or len(tool.description) < 80:
            problems.append(f"{tool.name}: no description that tells the model when to use it")
        hints = tool.annotations
        if hints is None or not hints.title:
            problems.append(f"{tool.name}: no annotations (title, readOnlyHint, destructiveHint, ...)")
        elif None in (
            hints.read_only_hint,
            hints.destructive_hint,
            hints.idempotent_hint,
            hints.open_world_hint,
        ):
            problems.append(f"{tool.name}: an annotation hint is left unset")
        for name, schema in (tool.input_schema or {}).get("properties", {}).items():
            if not schema.get("description"):
                problems.append(f"{tool.name}.{name}: no description")
    assert not problems, "\n".join(problems)


async def test_hints_say_which_tools_change_state(tmp_path: Path) -> None:
    server = build_server(Settings(data_dir=tmp_path))
    hints = {t.name: t.annotations for t in await server.list_tools()}
    for name in (
        "semantic_search",
        "analyze_code",
        "find_symbol",
        "find_references",
        "repo_map",
        "index_status",
    ):
        assert hints[name].read_only_hint, name
    for name in ("index_codebase", "plan_task", "record_feedback"):
        assert not hints[name].read_only_hint, name
    assert hints["package_lookup"].open_world_hint
    assert not any(h.destructive_hint for h in hints.values())
