"""ask_agent through the SDK's in-memory client (`mcp.Client(server)`): no subprocess.

The Anthropic API is the fake Messages API on 127.0.0.1 (the only thing faked); sampling goes to the
client's `sampling_callback`, which the in-memory client answers through `InputRequiredResult`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client
from mcp_types import CreateMessageRequestParams, CreateMessageResult, TextContent
from pydantic import SecretStr

from singularity_mcp.config import Settings
from singularity_mcp.server import build_server
from tests.agent.fake_anthropic import FakeAnthropic, serve_fake

pytestmark = pytest.mark.anyio

MODELS = {"claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5"}


def _with_key(settings: Settings, url: str) -> Settings:
    return settings.model_copy(
        update={
            "anthropic_api_key": SecretStr("sk-test"),
            "anthropic_base_url": url,
            "agent_llm_max_retries": 0,
        }
    )


async def _ask(client: Client, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool("ask_agent", arguments)
    assert not result.is_error, result.content
    return result.structured_content


async def test_refused_cache_hit_says_why_in_the_answer_and_in_stats(
    agent_settings: Settings, database
) -> None:
    fake = FakeAnthropic()
    with serve_fake(fake) as url:
        async with Client(build_server(_with_key(agent_settings, url))) as client:
            cached = "How do I convert Kelvin to Rankine in Python?"
            first = await _ask(client, prompt=cached, task_type="refusal-test")
            assert first["source"] == "llm" and first["cache_refused"] is None

            paraphrase = await _ask(client, prompt="In Python, how do I convert Kelvin to Rankine?",
                                    task_type="refusal-test")  # fmt: skip
            assert paraphrase["source"] == "cache" and paraphrase["answer"] == first["answer"]

            swapped = await _ask(
                client, prompt="How do I convert Rankine to Kelvin in Python?", task_type="refusal-test"
            )
            assert swapped["source"] == "llm" and swapped["answer"] != first["answer"]
            assert swapped["cache_refused"].startswith("direction:"), swapped
            assert "not served (direction:" in swapped["note"]

            unmatched = await _ask(client, prompt="How do I truncate Kelvin to Rankine in Python?",
                                   task_type="refusal-test", use_llm=False)  # fmt: skip
            assert unmatched["source"] == "none" and unmatched["cache_refused"].startswith("unmatched:")
            assert "'truncate'" in unmatched["cache_refused"] or "'convert'" in unmatched["cache_refused"]

            stats = json.loads((await client.read_resource("stats://router")).contents[0].text)
            assert stats["refusals"]["direction"] >= 1 and stats["refusals"]["unmatched"] >= 1
            assert stats["guard_rejections"] >= sum(stats["refusals"][k] for k in ("direction", "unmatched"))


async def test_every_model_overloaded_falls_back_to_the_clients_model(
    agent_settings: Settings, database
) -> None:
    fake = FakeAnthropic(overloaded=set(MODELS))
    received: list[CreateMessageRequestParams] = []

    async def sampling_callback(context: Any, params: CreateMessageRequestParams) -> CreateMessageResult:
        received.append(params)
        return CreateMessageResult(
            role="assistant",
            content=TextContent(type="text", text="Use functools.cache on the function."),
            model="client-llm-3",
            stop_reason="endTurn",
        )

    with serve_fake(fake) as url:
        settings = _with_key(agent_settings, url)
        async with Client(build_server(settings), sampling_callback=sampling_callback) as client:
            prompt = "How do I cache the results of a pure function in Python 3.12?"
            answer = await _ask(client, prompt=prompt, task_type="overload-test")
            assert answer["source"] == "sampling" and answer["model"] == "client-llm-3"
            assert answer["answer"].startswith("Use functools.cache") and answer["cost_usd"] == 0
            assert "overloaded" in answer["note"] and "fell back to the client's model" in answer["note"]
            assert {r["model"] for r in fake.requests} == MODELS  # every model was tried first
            assert len(received) == 1 and prompt in received[0].messages[0].content.text

            again = await _ask(client, prompt=prompt, task_type="overload-test")
            assert again["source"] == "cache" and len(received) == 1  # the sampled answer was cached

            fake.overloaded.clear()
            healthy = await _ask(client, prompt="What does asyncio.TaskGroup do in Python 3.12?",
                                 task_type="overload-test")  # fmt: skip
            assert healthy["source"] == "llm" and len(received) == 1  # no sampling when the API answers

        async with Client(build_server(settings)) as client:  # no sampling support: `none`, with the reason
            fake.overloaded.update(MODELS)
            none = await _ask(
                client, prompt="How do I pin numpy below 2 in pyproject.toml?", task_type="overload-test"
            )
            assert none["source"] == "none" and "overloaded" in none["note"]
