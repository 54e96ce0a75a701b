"""ask_agent and stats://router through the real MCP client, connected in memory (handshake-era and
2026-07-28 connections).

The LLM tier talks to a fake Messages API on 127.0.0.1 (ANTHROPIC_BASE_URL), the only thing faked;
sampling goes to the test client's `sampling_callback`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp.client.session import ClientSession
from mcp_types import (
    CallToolResult,
    CreateMessageRequestParams,
    CreateMessageResult,
    ErrorData,
    InputRequiredResult,
    TextContent,
)

from singularity_mcp.config import Settings
from singularity_mcp.core import Core
from tests.agent.fake_anthropic import FakeAnthropic, serve_fake
from tests.conftest import mcp_client, run_cli, server_env

pytestmark = pytest.mark.anyio


async def _ask(session: ClientSession, **arguments: Any) -> dict[str, Any]:
    result = await session.call_tool("ask_agent", arguments)
    assert not result.is_error, result.content
    return result.structured_content


@pytest.fixture(scope="module")
async def imported(agent_core: Core) -> None:
    """The shipped knowledge base in the session's database (what the server's startup import does)."""
    from singularity_mcp.knowledge import import_artifacts

    await import_artifacts(agent_core)


async def test_llm_tier_cache_near_miss_and_fallback(
    settings: Settings, agent_env: dict[str, str], imported
) -> None:
    fake = FakeAnthropic(overloaded={"claude-opus-5-5"})
    with serve_fake(fake) as url:
        env = {**agent_env, "ANTHROPIC_API_KEY": "sk-test", "ANTHROPIC_BASE_URL": url,
               "SINGULARITY_AGENT_LLM_MAX_RETRIES": "0"}  # fmt: skip
        async with mcp_client(settings, env=env) as session:
            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert "ask_agent" in tools and "sampled" not in json.dumps(tools["ask_agent"].input_schema)
            assert tools["ask_agent"].output_schema["properties"]["source"]

            prompt = "How do I memoize a recursive function in Python?"
            first = await _ask(session, prompt=prompt, task_type="coder")
            assert first["source"] == "llm" and first["model"] == "claude-sonnet-5-5"
            assert first["usage"] == {"input_tokens": 612, "output_tokens": 87}
            assert first["cost_usd"] == pytest.approx((612 * 3 + 87 * 15) / 1e6)
            assert fake.requests[0]["system"] and prompt in fake.requests[0]["messages"][0]["content"]

            paraphrase = await _ask(session, prompt="In Python, how can I memoize a recursive function?",
                                    task_type="coder")  # fmt: skip
            assert paraphrase["source"] == "cache" and paraphrase["similarity"] >= 0.95
            assert paraphrase["answer"] == first["answer"] and paraphrase["cost_usd"] == 0

            for near_miss in (
                "How do I memoize a recursive function in Rust?",
                "How do I not memoize a recursive function in Python?",
            ):
                answer = await _ask(session, prompt=near_miss, task_type="coder")
                assert answer["source"] == "llm", near_miss

            complex_answer = await _ask(
                session, prompt="Design the architecture of a multi-region event store", task_type="architect"
            )
            assert (
                complex_answer["complexity"] == "complex" and complex_answer["model"] == "claude-sonnet-5-5"
            )
            assert [r["model"] for r in fake.requests[-2:]] == ["claude-opus-5-5", "claude-sonnet-5-5"]

            simple = await _ask(
                session, prompt="Label this ticket: login button is misaligned", task_type="classifier"
            )
            assert simple["complexity"] == "simple" and simple["model"] == "claude-haiku-5-5"

            bad = await session.call_tool("ask_agent", {"prompt": "  "})
            assert bad.is_error and "prompt is empty" in bad.content[0].text

            resource = await session.read_resource("stats://router")
            stats = json.loads(resource.contents[0].text)
            counts = {t["source"]: t["count"] for t in stats["tiers"]}
            assert counts["llm"] >= 5 and counts["cache"] >= 1
            assert stats["llm_failures"] >= 1 and stats["cost_usd"] > 0 and stats["estimated_saving_usd"] > 0


async def test_sampling_without_a_key(settings: Settings, agent_env: dict[str, str], imported) -> None:
    received: list[CreateMessageRequestParams] = []

    async def sampling_callback(context: Any, params: CreateMessageRequestParams) -> CreateMessageResult:
        received.append(params)
        return CreateMessageResult(
            role="assistant",
            content=TextContent(type="text", text="Use a context manager: `with open(path) as f:`."),
            model="client-llm-1",
            stop_reason="endTurn",
        )

    async with mcp_client(settings, env=agent_env, sampling_callback=sampling_callback) as session:
        prompt = "How do I make sure a file handle is closed in Python?"
        answer = await _ask(session, prompt=prompt)
        assert answer["source"] == "sampling" and answer["model"] == "client-llm-1"
        assert answer["answer"].startswith("Use a context manager") and answer["cost_usd"] == 0
        assert len(received) == 1 and received[0].system_prompt and received[0].max_tokens >= 1024
        assert prompt in received[0].messages[0].content.text
        assert received[0].model_preferences.hints[0].name in ("haiku", "sonnet", "opus")

        again = await _ask(session, prompt="how do i make sure a file handle is closed in python")
        assert again["source"] == "cache" and len(received) == 1  # the client's model is not asked again

        rule = await _ask(session, prompt="Is it fine to store money as a float?")
        assert rule["source"] == "rule" and rule["confidence"] >= 0.9 and len(received) == 1


async def test_no_key_and_no_sampling_answers_from_knowledge(
    settings: Settings, agent_env: dict[str, str], imported
) -> None:
    async with mcp_client(settings, env=agent_env) as session:
        answer = await _ask(session, prompt="What are good practices for graceful shutdown with tokio?")
        assert answer["source"] == "none" and answer["artifacts"]
        assert answer["artifacts"][0]["uri"].startswith("knowledge://")
        assert "ANTHROPIC_API_KEY" in answer["answer"] and answer["answer_id"]


async def test_sampling_refused_by_the_client_is_a_none_answer(
    settings: Settings, agent_env: dict[str, str], imported
) -> None:
    async def refuse(context: Any, params: CreateMessageRequestParams) -> ErrorData:
        return ErrorData(code=-1, message="user rejected sampling")

    async with mcp_client(settings, env=agent_env, sampling_callback=refuse) as session:
        answer = await _ask(session, prompt="How do I write a Kotlin coroutine with a timeout?")
        assert answer["source"] == "none" and "sampling failed" in answer["note"]


def test_cli_ask_and_stats(settings: Settings, agent_env: dict[str, str], imported) -> None:
    env = server_env(settings, **agent_env)
    ask = run_cli(env, "ask", "--json", "--no-llm", "Is a float OK for prices?")
    assert ask.returncode == 0, ask.stderr
    answer = json.loads(ask.stdout)
    assert answer["source"] == "rule" and answer["answer_id"]
    stats = run_cli(env, "stats", "--json")
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["total"] >= 1


async def test_sampling_on_a_2026_07_28_connection_rides_input_required(
    settings: Settings, agent_env: dict[str, str], imported
) -> None:
    async def sampling_callback(context: Any, params: CreateMessageRequestParams) -> CreateMessageResult:
        raise AssertionError("on 2026-07-28 sampling must ride InputRequiredResult, not a server request")

    async with mcp_client(
        settings, env=agent_env, mode="auto", sampling_callback=sampling_callback
    ) as session:
        discovered = await session.discover()
        assert session.protocol_version == "2026-07-28", discovered
        arguments = {"prompt": "How do I pin a transitive dependency with uv?"}
        first = await session.call_tool("ask_agent", arguments, allow_input_required=True)
        assert isinstance(first, InputRequiredResult), first
        ((key, request),) = first.input_requests.items()
        assert request.method == "sampling/createMessage"
        assert "pin a transitive dependency" in request.params.messages[0].content.text
        reply = CreateMessageResult(
            role="assistant", content=TextContent(type="text", text="Add it to [tool.uv] constraint-dependencies."),
            model="client-llm-2", stop_reason="endTurn",
        )  # fmt: skip
        final = await session.call_tool(
            "ask_agent", arguments, input_responses={key: reply}, request_state=first.request_state,
            allow_input_required=True,
        )  # fmt: skip
        assert isinstance(final, CallToolResult) and not final.is_error, final
        assert final.structured_content["source"] == "sampling"
        assert final.structured_content["model"] == "client-llm-2"


async def test_record_feedback_evicts_and_learns_through_mcp(
    settings: Settings, agent_env: dict[str, str], imported
) -> None:
    fake = FakeAnthropic()
    with serve_fake(fake) as url:
        env = {**agent_env, "ANTHROPIC_API_KEY": "sk-test", "ANTHROPIC_BASE_URL": url,
               "SINGULARITY_AGENT_LEARN_AFTER": "2"}  # fmt: skip
        async with mcp_client(settings, env=env) as session:
            prompt = {"prompt": "What is a Python descriptor?", "task_type": "explainer"}
            first = await _ask(session, **prompt)
            assert first["source"] == "llm"
            bad = await session.call_tool(
                "record_feedback", {"answer_id": first["answer_id"], "success": False}
            )
            assert not bad.is_error and bad.structured_content["answer"]["cache"]["evicted"] is True

            second = await _ask(session, **prompt)
            assert second["source"] == "llm" and second["answer"] != first["answer"]
            for answer in (second, await _ask(session, **prompt)):
                good = await session.call_tool(
                    "record_feedback", {"answer_id": answer["answer_id"], "success": True}
                )
                assert not good.is_error, good.content
            assert good.structured_content["answer"]["learned_rule_id"].startswith("learned-")
            ruled = await _ask(session, prompt="what is a python descriptor", task_type="explainer")
            assert ruled["source"] == "rule" and ruled["answer"] == second["answer"]
            assert len(fake.requests) == 2
