"""The knowledge base through the real MCP server over stdio: resources, completion, prompts, feedback,
and the list-changed notification after an import triggered by editing the knowledge folder."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import psycopg
import pytest
from mcp.client.session import ClientSession
from mcp_types import PromptReference, ResourceListChangedNotification, ResourceTemplateReference

from singularity_mcp.config import Settings
from singularity_mcp.db import Database
from singularity_mcp.knowledge import load_artifact_files
from singularity_mcp.knowledge._files import default_folder
from tests.conftest import mcp_client, test_model_dir
from tests.knowledge.conftest import fresh_database_url, isolated_settings

pytestmark = pytest.mark.anyio


@dataclass
class KnowledgeServer:
    session: ClientSession
    url: str
    folder: Path
    changes: list[object] = field(default_factory=list)
    changed: anyio.Event = field(default_factory=anyio.Event)


async def _count(url: str) -> int:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        try:
            cur = await conn.execute("SELECT count(*) FROM knowledge_artifacts WHERE embedding IS NOT NULL")
        except psycopg.errors.UndefinedTable:
            return 0
        return (await cur.fetchone())[0]


async def _wait_for_count(url: str, expected: int) -> None:
    """Poll the database (another process writes it; there is nothing to wait on but the rows)."""
    with anyio.fail_after(120):
        while True:
            if await _count(url) == expected:
                return
            await anyio.sleep(0.2)


@pytest.fixture(scope="module")
async def kb_server(
    settings: Settings, database: Database, kb_template: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[KnowledgeServer]:
    """A spawned server on a fresh database that imports (and watches) a copy of the knowledge base.

    Shared by this module's tests; the one that edits the folder runs last.
    """
    if not any(test_model_dir().rglob("model-fp32.onnx")):
        pytest.skip("embedding model not built (run the embedding tests once)")
    kb_copy = tmp_path_factory.mktemp("kb") / "knowledge_base"
    shutil.copytree(default_folder(), kb_copy, ignore=shutil.ignore_patterns("learned"))
    url = await fresh_database_url(database, kb_template)
    env = {"SINGULARITY_MODEL_DIR": str(test_model_dir()), "SINGULARITY_KNOWLEDGE_DIR": str(kb_copy)}
    holder: dict[str, KnowledgeServer] = {}

    async def on_message(message: object) -> None:
        if isinstance(message, ResourceListChangedNotification) and "server" in holder:
            holder["server"].changes.append(message)
            holder["server"].changed.set()

    async with mcp_client(isolated_settings(settings, url), env=env, message_handler=on_message) as session:
        server = holder["server"] = KnowledgeServer(session=session, url=url, folder=kb_copy)
        await _wait_for_count(url, len(load_artifact_files(kb_copy)))  # the startup import finished
        yield server


def _text(result: object) -> str:
    return result.contents[0].text  # type: ignore[attr-defined]


async def test_resources_list_read_and_complete(kb_server: KnowledgeServer) -> None:
    session = kb_server.session
    shipped = load_artifact_files(kb_server.folder)

    listed = {str(r.uri): r for r in (await session.list_resources()).resources}
    assert "knowledge://artifacts" in listed
    for artifact in shipped:
        assert artifact.uri in listed
    assert listed["knowledge://decomposition_template/sparc"].mime_type == "application/json"

    templates = [t.uri_template for t in (await session.list_resource_templates()).resource_templates]
    assert "knowledge://{artifact_type}/{artifact_id}" in templates

    catalogue = json.loads(_text(await session.read_resource("knowledge://artifacts")))
    assert len(catalogue) == len(shipped)
    assert {"artifact_id", "artifact_type", "uri", "usage_count", "success_rate"} <= catalogue[0].keys()

    sparc = json.loads(_text(await session.read_resource("knowledge://decomposition_template/sparc")))
    assert sparc["artifact_id"] == "sparc" and sparc["content"]["steps"][0]["key"] == "specification"

    with pytest.raises(Exception, match="no rule artifact 'sparc'"):
        await session.read_resource("knowledge://rule/sparc")

    ref = ResourceTemplateReference(uri="knowledge://{artifact_type}/{artifact_id}")
    types = await session.complete(ref, {"name": "artifact_type", "value": "fr"})
    assert types.completion.values == ["framework_pattern"]
    ids = await session.complete(ref, {"name": "artifact_id", "value": "rule-git"}, {"artifact_type": "rule"})
    assert ids.completion.values == ["rule-git-squash", "rule-git-undo-last-commit"]
    none = await session.complete(
        ref, {"name": "artifact_id", "value": "rule-git"}, {"artifact_type": "system_prompt"}
    )
    assert none.completion.values == []
    # completion for other references is left to their owners (and answers empty here)
    other = await session.complete(PromptReference(name="code_review"), {"name": "path", "value": "/"})
    assert other.completion.values == []


async def test_prompts(kb_server: KnowledgeServer, tmp_path: Path) -> None:
    session = kb_server.session
    names = {p.name for p in (await session.list_prompts()).prompts}
    assert {"sparc_plan", "code_review", "refactor", "write_tests"} <= names

    plan = await session.get_prompt("sparc_plan", {"goal": "Add CSV export to the reports page"})
    text = plan.messages[0].content.text
    assert "Add CSV export to the reports page" in text
    assert "Write the specification" in text and "Complete: docs, integration, rollout" in text
    assert "You break a software goal into a plan" in text  # the planner system prompt

    source = tmp_path / "shipping.py"
    source.write_text("def cost(kg):\n    return kg * 4.5\n")
    review = (await session.get_prompt("code_review", {"path": str(source)})).messages[0].content.text
    assert "return kg * 4.5" in review
    assert (
        "Python production standard" in review and "You review code like a careful senior engineer" in review
    )

    tests = (await session.get_prompt("write_tests", {"path": str(source)})).messages[0].content.text
    assert "pytest" in tests and "return kg * 4.5" in tests

    refactor = (await session.get_prompt("refactor", {"path": str(source)})).messages[0].content.text
    assert "behaviour-preserving" in refactor

    with pytest.raises(Exception, match="does not exist"):
        await session.get_prompt("code_review", {"path": str(tmp_path / "missing.py")})


async def test_record_feedback_tool(kb_server: KnowledgeServer) -> None:
    session = kb_server.session
    result = await session.call_tool("record_feedback", {"artifact_id": "sparc", "success": True})
    assert not result.is_error
    figures = result.structured_content["artifact"]
    assert figures["artifact_id"] == "sparc" and figures["success_count"] >= 1
    assert figures["success_rate"] > 0.5 and figures["last_used_at"]

    missing = await session.call_tool("record_feedback", {"artifact_id": "nope", "success": True})
    assert missing.is_error and "no knowledge artifact 'nope'" in missing.content[0].text

    neither = await session.call_tool("record_feedback", {"success": False})
    assert neither.is_error and "answer_id" in neither.content[0].text

    bogus_answer = await session.call_tool("record_feedback", {"answer_id": "not-an-answer", "success": True})
    assert bogus_answer.is_error


async def test_feedback_on_an_answer_reaches_the_artifacts_it_used(kb_server: KnowledgeServer) -> None:
    session = kb_server.session
    tools = {t.name for t in (await session.list_tools()).tools}
    if "ask_agent" not in tools:
        pytest.skip("ask_agent is not registered in this build")
    asked = await session.call_tool(
        "ask_agent", {"prompt": "How do I undo the last commit?", "task_type": "general", "use_llm": False}
    )
    assert not asked.is_error, asked.content
    answer = asked.structured_content
    assert answer["source"] == "rule"

    result = await session.call_tool("record_feedback", {"answer_id": answer["answer_id"], "success": True})
    assert not result.is_error, result.content
    feedback = result.structured_content
    assert feedback["answer"]["answer_id"] == answer["answer_id"]
    used = {f["artifact_id"]: f for f in feedback["artifacts_used"]}
    assert "rule-git-undo-last-commit" in used
    assert used["rule-git-undo-last-commit"]["success_count"] >= 1


async def test_editing_the_folder_reimports_and_notifies(kb_server: KnowledgeServer) -> None:
    session = kb_server.session
    before = {str(r.uri) for r in (await session.list_resources()).resources}  # this session now listens
    source = kb_server.folder / "rule" / "rule-git-squash.json"
    data = json.loads(source.read_text())
    data.update(
        artifact_id="rule-git-amend",
        title="Amend the last commit",
        summary="Fix the last commit's message or add a forgotten file with git commit --amend.",
    )
    target = kb_server.folder / "rule" / "rule-git-amend.json"
    target.write_text(json.dumps(data, indent=2))

    with anyio.fail_after(60):
        await kb_server.changed.wait()
    after = {str(r.uri) for r in (await session.list_resources()).resources}
    assert after - before == {"knowledge://rule/rule-git-amend"}
    amended = json.loads(_text(await session.read_resource("knowledge://rule/rule-git-amend")))
    assert amended["title"] == "Amend the last commit"

    # a broken edit is refused and changes nothing
    kb_server.changed = anyio.Event()
    shutil.copy(source, kb_server.folder / "rule" / "broken.json")  # file name != artifact_id
    await anyio.sleep(3)
    assert not kb_server.changed.is_set()
    assert "knowledge://rule/broken" not in {str(r.uri) for r in (await session.list_resources()).resources}
