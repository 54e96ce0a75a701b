"""plan_task and the plan:// resources through the real MCP client over stdio: a whole plan executed to
completion by repeatedly taking `next` and marking it done."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp.client.session import ClientSession

pytestmark = pytest.mark.anyio


async def call(mcp: ClientSession, **arguments: Any) -> dict[str, Any]:
    result = await mcp.call_tool("plan_task", arguments)
    assert not result.is_error, result.content[0].text if result.content else result
    assert result.structured_content is not None
    assert result.content and result.content[0].text  # the short human-readable text
    return result.structured_content


async def test_plan_task_is_listed_with_its_schema(mcp: ClientSession) -> None:
    tools = {t.name: t for t in (await mcp.list_tools()).tools}
    tool = tools["plan_task"]
    assert "next" in (tool.description or "")
    assert {"ready", "order", "tasks", "next"} <= set(tool.output_schema["properties"])  # type: ignore[index]


async def test_whole_plan_executed_to_completion(mcp: ClientSession) -> None:
    plan = await call(mcp, goal="Fix the crash when saving an empty file")
    plan_id = plan["plan_id"]
    assert plan["source"] == "template:bug-fix"
    assert plan["ready"] == ["1"] and plan["order"][0] == "1"
    # Add a level under "Find the root cause" with explicit subtasks.
    plan = await call(
        mcp,
        action="decompose",
        plan_id=plan_id,
        task_id="3",
        subtasks=[
            {"title": "Bisect the history", "key": "bisect", "complexity": 3},
            {"title": "Read the save path", "complexity": 2},
            {"title": "Write up the mechanism", "depends_on": ["bisect", "2"], "estimate_hours": 1},
        ],
    )
    assert [t["id"] for t in plan["tasks"] if t["parent_id"] == "3"] == ["3.1", "3.2", "3.3"]
    assert next(t for t in plan["tasks"] if t["id"] == "3.3")["depends_on"] == ["3.1", "3.2"]

    done: list[str] = []
    for _ in range(20):
        plan = await call(mcp, action="next", plan_id=plan_id)
        if plan["next"] is None:
            break
        task = plan["next"]
        assert task["id"] in plan["ready"] or task["status"] == "in_progress"
        await call(mcp, plan_id=plan_id, task_id=task["id"], status="in_progress")
        plan = await call(mcp, plan_id=plan_id, task_id=task["id"], status="done")
        done.append(task["id"])
        position = {tid: i for i, tid in enumerate(plan["order"])}
        for other in plan["tasks"]:
            for dep in other["depends_on"]:
                assert position[dep] < position[other["id"]]
    assert plan["status"] == "done"
    assert all(t["status"] == "done" for t in plan["tasks"])
    assert done == ["1", "2", "3.1", "3.2", "3.3", "4", "5", "6"]
    assert plan["progress"]["done"] == plan["progress"]["total"] == 8
    assert plan["next"] is None and plan["ready"] == []


async def test_failure_cycle_and_errors_through_the_client(mcp: ClientSession) -> None:
    plan = await call(
        mcp,
        goal="release 2.0",
        subtasks=[
            {"title": "build"},
            {"title": "test", "depends_on": ["1"]},
            {"title": "publish", "depends_on": [2]},
        ],
    )
    plan_id = plan["plan_id"]
    plan = await call(mcp, plan_id=plan_id, task_id="1", status="failed")
    assert [t["status"] for t in plan["tasks"]] == ["failed", "blocked", "blocked"]
    plan = await call(mcp, plan_id=plan_id, task_id="1", status="pending")
    assert plan["ready"] == ["1"]

    refused = await mcp.call_tool("plan_task", {"plan_id": plan_id, "task_id": "1", "add_depends_on": ["3"]})
    assert refused.is_error
    text = refused.content[0].text
    assert "cycle" in text and "1 depends on 3" in text
    missing = await mcp.call_tool("plan_task", {"action": "get", "plan_id": 99999999})
    assert missing.is_error and "no plan 99999999" in missing.content[0].text
    no_goal = await mcp.call_tool("plan_task", {"action": "create"})
    assert no_goal.is_error and "goal" in no_goal.content[0].text

    # Resources: the JSON, the markdown view, the list.
    read = await mcp.read_resource(f"plan://{plan_id}")
    body = json.loads(read.contents[0].text)  # type: ignore[union-attr]
    assert body["plan_id"] == plan_id and body["ready"] == ["1"]
    markdown = (await mcp.read_resource(f"plan://{plan_id}/markdown")).contents[0].text  # type: ignore[union-attr]
    assert markdown.startswith(f"# Plan {plan_id}: release 2.0") and "**Next:** 1 build" in markdown
    listing = json.loads((await mcp.read_resource("plan://plans")).contents[0].text)  # type: ignore[union-attr]
    assert any(p["plan_id"] == plan_id and p["uri"] == f"plan://{plan_id}" for p in listing["plans"])
    templates = {t.uri_template for t in (await mcp.list_resource_templates()).resource_templates}
    assert {"plan://{plan_id}", "plan://{plan_id}/markdown"} <= templates


async def test_llm_decomposition_through_the_server(settings: Any, database: Any) -> None:
    """A spawned server with a key, its Anthropic base URL pointing at a local fake: a goal no template
    fits goes to the LLM (malformed first answer, then a valid one), a fitting one stays on a template."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tests.conftest import mcp_client
    from tests.planning.test_decompose import GOOD, message

    answers = ['{"tasks": [{"key": "a", "title": "cut off', json.dumps(GOOD)]
    bodies: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
            bodies.append(body)
            data = json.dumps(message(answers.pop(0), body["model"])).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "ANTHROPIC_API_KEY": "sk-test-key",
        "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{server.server_address[1]}",
    }
    try:
        async with mcp_client(settings, env=env) as session:
            plan = await call(session, goal="Let people sign in with their Google account")
            assert plan["source"].startswith("llm:")
            assert [t["title"] for t in plan["tasks"]][:1] == ["Design the token schema"]
            assert plan["ready"] == ["1"] and plan["order"] == ["1", "2", "3"]
            flow = plan["tasks"][1]
            assert flow["complexity"] == 8 and flow["recommended_subtasks"] == 4
            assert len(bodies) == 2, "the truncated answer was refused and asked for again"
            fitting = await call(session, goal="Fix the crash when saving an empty file")
            assert fitting["source"] == "template:bug-fix" and len(bodies) == 2
    finally:
        server.shutdown()
        server.server_close()


async def test_sampling_decomposes_without_a_key(settings: Any, database: Any) -> None:
    """No key: a goal no template fits is decomposed by the client's own model (MCP sampling); a
    fitting goal never reaches it; a refusal falls back to a template."""
    from mcp.types import CreateMessageRequestParams, CreateMessageResult, ErrorData, TextContent

    from tests.conftest import mcp_client
    from tests.planning.test_decompose import GOOD

    received: list[CreateMessageRequestParams] = []

    async def sample(context: Any, params: CreateMessageRequestParams) -> CreateMessageResult:
        received.append(params)
        return CreateMessageResult(
            role="assistant",
            content=TextContent(type="text", text=json.dumps(GOOD)),
            model="client-llm-1",
            stop_reason="endTurn",
        )

    async with mcp_client(settings, sampling_callback=sample) as session:
        plan = await call(session, goal="Let people sign in with their Google account")
        assert plan["source"] == "sampling:client-llm-1"
        assert [t["id"] for t in plan["tasks"]] == ["1", "2", "3"] and plan["ready"] == ["1"]
        [params] = received
        assert "planning engine" in (params.system_prompt or "")
        assert "Google account" in params.messages[0].content.text  # type: ignore[union-attr]
        fitting = await call(session, goal="Fix the crash when saving an empty file")
        assert fitting["source"] == "template:bug-fix" and len(received) == 1
        # One level under the complex task, asking for the recommended number of subtasks ("implement"
        # would match a template: decomposer="llm" asks the model anyway).
        deeper = await call(
            session, action="decompose", plan_id=plan["plan_id"], task_id="2", decomposer="llm"
        )
        assert [t["id"] for t in deeper["tasks"] if t["parent_id"] == "2"] == ["2.1", "2.2", "2.3"]
        assert "about 4 tasks" in received[1].messages[0].content.text  # type: ignore[union-attr]

    async def refuse(context: Any, params: CreateMessageRequestParams) -> ErrorData:
        return ErrorData(code=-1, message="user rejected sampling")

    async with mcp_client(settings, sampling_callback=refuse) as session:
        plan = await call(session, goal="Let people sign in with their Google account")
        assert plan["source"].startswith("template:")
        assert "did not answer" in plan["message"]


async def test_done_before_prerequisites_is_refused_unless_forced(settings: Any, database: Any) -> None:
    """The same rule as the CLI's, through the in-memory MCP client."""
    from mcp import Client

    from singularity_mcp.server import build_server

    async with Client(build_server(settings)) as client:
        plan = await call(
            client,  # type: ignore[arg-type]
            goal="release 3.0",
            subtasks=[
                {"title": "build"},
                {"title": "test", "depends_on": [1]},
                {"title": "ship", "depends_on": [2]},
            ],
        )
        plan_id = plan["plan_id"]
        refused = await client.call_tool("plan_task", {"plan_id": plan_id, "task_id": "3", "status": "done"})
        assert refused.is_error
        text = refused.content[0].text  # type: ignore[union-attr]
        assert "task 3 waits for 2 (pending)" in text and "force=true" in text and "--force" not in text
        plan = await call(client, plan_id=plan_id, task_id="3", status="done", force=True)  # type: ignore[arg-type]
        assert next(t for t in plan["tasks"] if t["id"] == "3")["status"] == "done"
        await call(client, plan_id=plan_id, task_id="1", status="done")  # type: ignore[arg-type]
        plan = await call(client, plan_id=plan_id, task_id="2", status="done")  # type: ignore[arg-type]
        assert plan["status"] == "done"
