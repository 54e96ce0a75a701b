"""`singularity-mcp kb ...` as a user runs it (run in this process)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import anyio
import pytest

from singularity_mcp.config import Settings
from singularity_mcp.knowledge import load_artifact_files
from tests.conftest import CliResult, run_cli, server_env, test_model_dir
from tests.knowledge.conftest import isolated_settings


def _kb(settings: Settings, *args: str) -> CliResult:
    return run_cli(server_env(settings, SINGULARITY_MODEL_DIR=str(test_model_dir())), "kb", *args)


def test_validate_shipped_and_broken(settings: Settings, kb_copy: Path) -> None:
    ok = _kb(settings, "validate", "--json")
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert report["problems"] == [] and report["valid"] == len(load_artifact_files())

    broken = kb_copy / "rule" / "rule-git-squash.json"
    data = json.loads(broken.read_text())
    del data["content"]["answer"]
    broken.write_text(json.dumps(data))
    bad = _kb(settings, "validate", str(kb_copy))
    assert bad.returncode == 1
    assert "rule/rule-git-squash.json: content.answer: Field required" in bad.stdout


@pytest.mark.anyio
async def test_import_twice_then_export(
    settings: Settings, kb_database: str, kb_copy: Path, tmp_path: Path
) -> None:
    if not any(test_model_dir().rglob("model-fp32.onnx")):
        pytest.skip("embedding model not built (run the embedding tests once)")
    isolated = isolated_settings(settings, kb_database)
    shutil.rmtree(kb_copy / "framework_pattern")  # a smaller import keeps the test quick

    first = await anyio.to_thread.run_sync(lambda: _kb(isolated, "import", str(kb_copy), "--json"))
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    expected = len(load_artifact_files(kb_copy))
    assert (report["inserted"], report["embedded"]) == (expected, expected)

    second = await anyio.to_thread.run_sync(lambda: _kb(isolated, "import", str(kb_copy)))
    assert second.returncode == 0, second.stderr
    assert f"0 new, 0 updated, {expected} unchanged, 0 removed; 0 embedded" in second.stdout

    exported = await anyio.to_thread.run_sync(
        lambda: _kb(isolated, "export-learned", "--out", str(tmp_path), "--json")
    )
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["written"] == []  # nothing learned yet
