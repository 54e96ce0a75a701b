"""The shipped artifacts and the file loader (no database)."""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from singularity_mcp.errors import InvalidInput
from singularity_mcp.knowledge import (
    TASK_TYPES,
    DecompositionTemplate,
    FrameworkPattern,
    Rule,
    SystemPrompt,
    load_artifact_files,
    validate_folder,
)
from singularity_mcp.knowledge._files import default_folder, export_schemas


def test_every_shipped_artifact_validates() -> None:
    files, problems = validate_folder()
    assert problems == []
    counts = Counter(f.artifact.artifact_type for f in files)
    assert counts["quality_standard"] >= 12
    assert counts["framework_pattern"] >= 25
    assert counts["system_prompt"] == len(TASK_TYPES)
    assert counts["decomposition_template"] >= 8
    assert counts["rule"] >= 10
    assert sum(counts.values()) >= 60


def test_one_system_prompt_per_task_type() -> None:
    prompts = [a for a in load_artifact_files() if isinstance(a, SystemPrompt)]
    assert sorted(p.content.task_type for p in prompts) == sorted(TASK_TYPES)


def test_the_planner_templates_are_there() -> None:
    ids = {a.artifact_id for a in load_artifact_files() if isinstance(a, DecompositionTemplate)}
    assert {
        "sparc",
        "new-feature",
        "bug-fix",
        "refactor",
        "migration",
        "performance-investigation",
        "security-review",
        "dependency-upgrade",
    } <= ids
    sparc = next(a for a in load_artifact_files() if a.artifact_id == "sparc")
    assert [s.key for s in sparc.content.steps] == [
        "specification",
        "pseudocode",
        "architecture",
        "refinement",
        "completion",
    ]


def test_python_pattern_code_parses() -> None:
    patterns = [
        a for a in load_artifact_files() if isinstance(a, FrameworkPattern) and a.language == "python"
    ]
    assert len(patterns) >= 5
    for pattern in patterns:
        ast.parse(pattern.content.code, filename=pattern.artifact_id)


def test_rules_fire_on_their_own_question() -> None:
    examples = {
        "rule-git-undo-last-commit": "how do I undo the last commit?",
        "rule-python-mutable-default": "why does my mutable default argument keep old values",
        "rule-http-401-vs-403": "should I return 401 or 403 here?",
        "rule-cors-error": "fetch blocked by CORS policy",
    }
    rules = {a.artifact_id: a for a in load_artifact_files() if isinstance(a, Rule)}
    for artifact_id, question in examples.items():
        patterns = rules[artifact_id].content.triggers.patterns
        assert any(re.search(p, question, re.IGNORECASE) for p in patterns), artifact_id


def test_schemas_on_disk_are_current(tmp_path: Path) -> None:
    for path in export_schemas(tmp_path):
        shipped = default_folder() / "schema" / path.name
        assert json.loads(shipped.read_text()) == json.loads(path.read_text()), (
            f"re-run `kb schema`: {path.name}"
        )


def _write(folder: Path, rel: str, data: object) -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _template(**overrides: object) -> dict:
    data = {
        "artifact_id": "tiny",
        "artifact_type": "decomposition_template",
        "version": "1.0.0",
        "title": "Tiny template",
        "summary": "A template used by the tests.",
        "content": {
            "applies_to": ["test"],
            "steps": [
                {
                    "key": "a",
                    "title": "First",
                    "description": "Do the first thing.",
                    "complexity": 2,
                    "acceptance_criteria": ["done"],
                },
                {
                    "key": "b",
                    "title": "Second",
                    "description": "Do the second thing.",
                    "depends_on": ["a"],
                    "complexity": 3,
                    "acceptance_criteria": ["done"],
                },
            ],
        },
    }
    data.update(overrides)
    return data


def test_broken_artifacts_name_file_and_field(tmp_path: Path) -> None:
    _write(tmp_path, "decomposition_template/tiny.json", _template())
    bad_dep = _template(artifact_id="bad-dep")
    bad_dep["content"]["steps"][1]["depends_on"] = ["zzz"]
    _write(tmp_path, "decomposition_template/bad-dep.json", bad_dep)
    _write(
        tmp_path,
        "rule/bad-regex.json",
        {
            "artifact_id": "bad-regex",
            "artifact_type": "rule",
            "version": "1",
            "title": "Bad regex",
            "summary": "A rule whose pattern does not compile.",
            "content": {
                "task_types": ["general"],
                "triggers": {"patterns": ["(unclosed"]},
                "answer": "an answer long enough",
                "confidence": 0.5,
            },
        },
    )
    _write(
        tmp_path,
        "system_prompt/no-prompt.json",
        {
            "artifact_id": "no-prompt",
            "artifact_type": "system_prompt",
            "version": "1",
            "title": "Missing",
            "summary": "The prompt text is missing.",
            "content": {"task_type": "coder"},
        },
    )
    _write(tmp_path, "rule/wrong-folder.json", _template(artifact_id="wrong-folder"))
    _write(tmp_path, "decomposition_template/not-json.json", '{"artifact_id": "x",\n  oops}')

    files, problems = validate_folder(tmp_path)
    assert [f.artifact.artifact_id for f in files] == ["tiny"]
    text = "\n".join(problems)
    assert "decomposition_template/bad-dep.json: content.steps[1].depends_on: unknown step key 'zzz'" in text
    assert "rule/bad-regex.json: content.triggers.patterns:" in text
    assert "system_prompt/no-prompt.json: content.prompt: Field required" in text
    assert "rule/wrong-folder.json: artifact_type:" in text
    assert "decomposition_template/not-json.json: invalid JSON at line 2" in text

    with pytest.raises(InvalidInput, match=r"bad-regex\.json"):
        load_artifact_files(tmp_path)


def test_duplicate_ids_and_file_names_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, "decomposition_template/tiny.json", _template())
    _write(tmp_path, "decomposition_template/other-name.json", _template())
    _, problems = validate_folder(tmp_path)
    assert any("other-name.json: artifact_id: 'tiny' does not match the file name" in p for p in problems)


def test_schema_and_learned_folders_are_not_content(tmp_path: Path) -> None:
    _write(tmp_path, "decomposition_template/tiny.json", _template())
    _write(tmp_path, "schema/artifact.schema.json", {"type": "object"})
    _write(tmp_path, "learned/rule/x.json", {"not": "an artifact"})
    assert [a.artifact_id for a in load_artifact_files(tmp_path)] == ["tiny"]
