"""Files ↔ database sync, usage and feedback, learned artifacts (plain async API, real PostgreSQL + model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from singularity_mcp.core import Core
from singularity_mcp.errors import InvalidInput, NotFound
from singularity_mcp.knowledge import (
    export_learned,
    get_artifact,
    import_artifacts,
    list_artifacts,
    load_artifact_files,
    parse_artifact,
    record_artifact_feedback,
    record_usage,
    save_learned_artifact,
    search_knowledge,
    usage_figures,
)

pytestmark = pytest.mark.anyio


async def _scalar(core: Core, query: str, *params: object) -> object:
    database = await core.database()
    async with database.pool.connection() as conn:
        cur = await conn.execute(query, params)
        return (await cur.fetchone())[0]


async def test_import_twice_changes_and_embeds_nothing_the_second_time(kb_core: Core, kb_copy: Path) -> None:
    shipped = len(load_artifact_files(kb_copy))
    first = await import_artifacts(kb_core, kb_copy)
    assert (first.inserted, first.updated, first.removed, first.embedded) == (shipped, 0, 0, shipped)
    assert (
        await _scalar(kb_core, "SELECT count(*) FROM knowledge_artifacts WHERE embedding IS NOT NULL")
        == shipped
    )

    second = await import_artifacts(kb_core, kb_copy)
    assert (second.inserted, second.updated, second.removed, second.embedded) == (0, 0, 0, 0)
    assert second.unchanged == shipped
    assert not second.changed
    assert await _scalar(kb_core, "SELECT count(*) FROM knowledge_artifact_history") == 0


async def test_editing_one_file_reembeds_one_artifact_and_keeps_history(kb_core: Core, kb_copy: Path) -> None:
    await import_artifacts(kb_core, kb_copy)
    path = kb_copy / "rule" / "rule-git-squash.json"
    data = json.loads(path.read_text())
    data["summary"] = "How to combine several commits into one before merging a branch."
    data["version"] = "1.1.0"
    path.write_text(json.dumps(data, indent=2))

    report = await import_artifacts(kb_core, kb_copy)
    assert (report.updated, report.embedded, report.inserted, report.removed) == (1, 1, 0, 0)
    assert report.changed_ids == ["rule-git-squash"]
    stored = await get_artifact(kb_core, "rule", "rule-git-squash")
    assert stored.version == "1.1.0" and stored.summary.startswith("How to combine several commits")
    assert (
        await _scalar(
            kb_core,
            "SELECT version FROM knowledge_artifact_history WHERE artifact_id = %s",
            "rule-git-squash",
        )
        == "1.0.0"
    )
    assert (
        await _scalar(
            kb_core, "SELECT raw_text FROM knowledge_artifacts WHERE artifact_id = %s", "rule-git-squash"
        )
        == path.read_text()
    )


async def test_a_change_outside_the_embedded_text_updates_without_embedding(
    kb_core: Core, kb_copy: Path
) -> None:
    await import_artifacts(kb_core, kb_copy)
    path = kb_copy / "framework_pattern" / "python-pytest-fixtures.json"
    data = json.loads(path.read_text())
    data["content"]["notes"].append("Fixtures can request other fixtures.")
    path.write_text(json.dumps(data, indent=2))
    report = await import_artifacts(kb_core, kb_copy)
    assert (report.updated, report.embedded) == (1, 0)


async def test_removed_files_leave_the_database_and_go_to_history(kb_core: Core, kb_copy: Path) -> None:
    await import_artifacts(kb_core, kb_copy)
    (kb_copy / "rule" / "rule-kill-port.json").unlink()
    report = await import_artifacts(kb_core, kb_copy)
    assert report.removed == 1 and report.changed_ids == ["rule-kill-port"]
    with pytest.raises(NotFound):
        await get_artifact(kb_core, "rule", "rule-kill-port")
    assert (
        await _scalar(
            kb_core, "SELECT change FROM knowledge_artifact_history WHERE artifact_id = %s", "rule-kill-port"
        )
        == "removed"
    )


async def test_a_broken_artifact_imports_nothing(kb_core: Core, kb_copy: Path) -> None:
    await import_artifacts(kb_core, kb_copy)
    good = kb_copy / "rule" / "rule-git-squash.json"
    data = json.loads(good.read_text())
    data["title"] = "An edit that must not land"
    good.write_text(json.dumps(data))
    broken = kb_copy / "rule" / "rule-cors-error.json"
    data = json.loads(broken.read_text())
    data["content"]["confidence"] = 1.5
    broken.write_text(json.dumps(data))

    with pytest.raises(InvalidInput) as caught:
        await import_artifacts(kb_core, kb_copy)
    assert "rule/rule-cors-error.json: content.confidence:" in str(caught.value)
    assert (await get_artifact(kb_core, "rule", "rule-git-squash")).title != "An edit that must not land"
    assert await _scalar(kb_core, "SELECT count(*) FROM knowledge_artifact_history") == 0


async def test_reading_artifacts(imported_core: Core) -> None:
    rules = await list_artifacts(imported_core, "rule")
    assert rules and all(a.artifact_type == "rule" for a in rules)
    sparc = await get_artifact(imported_core, "decomposition_template", "sparc")
    assert sparc.content.steps[0].key == "specification"
    with pytest.raises(NotFound, match="knowledge://artifacts"):
        await get_artifact(imported_core, "rule", "sparc")  # right id, wrong type
    with pytest.raises(InvalidInput, match="unknown artifact_type"):
        await list_artifacts(imported_core, "recipe")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("undo my last git commit", "rule-git-undo-last-commit"),
        ("asyncio retries with exponential backoff", "python-asyncio-taskgroup-retries"),
        ("N+1 queries in the Django ORM", "python-django-n-plus-one"),
        ("plan the fix of a regression bug", "bug-fix"),
    ],
)
async def test_search_finds_the_artifact(imported_core: Core, query: str, expected: str) -> None:
    hits = await search_knowledge(imported_core, query, top_k=3)
    assert hits[0].artifact_id == expected
    assert hits[0].uri == f"knowledge://{hits[0].artifact_type}/{expected}"
    assert hits[0].kind == "knowledge" and 0 < hits[0].score <= 1


async def test_search_filters(imported_core: Core) -> None:
    hits = await search_knowledge(imported_core, "error handling", artifact_type="quality_standard", top_k=20)
    assert hits and {h.artifact_type for h in hits} == {"quality_standard"}
    hits = await search_knowledge(imported_core, "error handling", language="Rust", top_k=20)
    assert hits and {h.language for h in hits} == {"rust"}
    with pytest.raises(InvalidInput):
        await search_knowledge(imported_core, "   ")
    with pytest.raises(InvalidInput):
        await search_knowledge(imported_core, "x", top_k=0)


async def test_feedback_moves_an_artifact_up(kb_core: Core) -> None:
    await import_artifacts(kb_core)
    hits = await search_knowledge(kb_core, "graceful shutdown", top_k=5)
    runner_up = hits[1].artifact_id
    before = hits[1].score
    for _ in range(5):
        figures = await record_artifact_feedback(kb_core, runner_up, success=True)
        hits = await search_knowledge(kb_core, "graceful shutdown", top_k=5)
        if hits[0].artifact_id == runner_up:
            break
    assert hits[0].artifact_id == runner_up
    assert hits[0].score > before
    assert figures.success_count >= 1 and figures.success_rate > 0.5

    # and failures push it back down
    for _ in range(6):
        await record_artifact_feedback(kb_core, runner_up, success=False)
    hits = await search_knowledge(kb_core, "graceful shutdown", top_k=5)
    assert hits[0].artifact_id != runner_up


async def test_usage_counts_and_unknown_ids(kb_core: Core) -> None:
    await import_artifacts(kb_core)
    updated = await record_usage(kb_core, ["sparc", "sparc", "no-such-artifact", "bug-fix"])
    assert sorted(f.artifact_id for f in updated) == ["bug-fix", "sparc"]
    figures = await usage_figures(kb_core, "sparc")
    assert figures.usage_count == 1 and figures.last_used_at is not None
    assert figures.success_rate == 0.5  # no feedback yet: neutral, not punished
    with pytest.raises(NotFound):
        await record_artifact_feedback(kb_core, "no-such-artifact", success=True)


async def test_learned_artifacts_survive_imports_and_export(kb_core: Core, tmp_path: Path) -> None:
    await import_artifacts(kb_core)
    learned = parse_artifact(
        {
            "artifact_id": "learned-pip-upgrade",
            "artifact_type": "rule",
            "version": "1",
            "title": "Upgrade pip",
            "summary": "How to upgrade pip inside a virtual environment.",
            "language": "python",
            "tags": ["learned"],
            "content": {
                "task_types": ["general"],
                "triggers": {"patterns": [r"upgrade pip"], "keywords": ["upgrade", "pip"]},
                "answer": "Run `python -m pip install --upgrade pip` inside the activated environment.",
                "confidence": 0.8,
            },
        }
    )
    summary = await save_learned_artifact(kb_core, learned)
    assert summary.source == "learned"
    hits = await search_knowledge(kb_core, "how do I upgrade pip", top_k=3)
    assert hits[0].artifact_id == "learned-pip-upgrade"

    report = await import_artifacts(kb_core)  # files know nothing of it: it must stay
    assert report.removed == 0
    assert (await get_artifact(kb_core, "rule", "learned-pip-upgrade")).title == "Upgrade pip"

    curated = await get_artifact(kb_core, "rule", "rule-git-squash")
    with pytest.raises(InvalidInput, match="curated"):
        await save_learned_artifact(kb_core, curated)

    below = await export_learned(kb_core, tmp_path, min_uses=1)
    assert below.written == [] and below.skipped == 1
    await record_usage(kb_core, ["learned-pip-upgrade"])
    await record_artifact_feedback(kb_core, "learned-pip-upgrade", success=True)
    exported = await export_learned(kb_core, tmp_path, min_uses=1, min_success_rate=0.6)
    assert exported.written == [str(tmp_path / "rule" / "learned-pip-upgrade.json")]
    again = load_artifact_files(tmp_path)  # what was written is a valid artifact, ready to promote
    assert again[0].artifact_id == "learned-pip-upgrade"
    assert again[0].provenance is not None and again[0].provenance.usage_count == 1


async def test_search_on_a_never_imported_database_imports_first(kb_core: Core) -> None:
    hits = await search_knowledge(kb_core, "undo my last git commit", top_k=1)
    assert hits[0].artifact_id == "rule-git-undo-last-commit"
    assert await _scalar(kb_core, "SELECT count(*) FROM knowledge_artifacts") == len(load_artifact_files())


async def test_the_configured_folder_is_the_default(kb_core: Core, kb_copy: Path) -> None:
    for path in (kb_copy / "framework_pattern").glob("*.json"):
        path.unlink()
    kb_core.settings = kb_core.settings.model_copy(update={"knowledge_dir": kb_copy})
    report = await import_artifacts(kb_core)
    assert report.folder == str(kb_copy)
    assert await list_artifacts(kb_core, "framework_pattern") == []
