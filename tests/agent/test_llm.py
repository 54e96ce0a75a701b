"""LLMClient against the Anthropic SDK with a mock transport: routing, fallback, errors, cost."""

from __future__ import annotations

import json

import httpx2
import pytest

from singularity_mcp.agent import LLMClient
from singularity_mcp.agent._llm import LLMUnavailable, cost_usd, model_chain
from singularity_mcp.config import Settings
from singularity_mcp.errors import InvalidInput, NotConfigured
from tests.agent.fake_anthropic import FakeAnthropic
from tests.conftest import make_settings

pytestmark = pytest.mark.anyio


def _settings(tmp_path, **overrides) -> Settings:
    return make_settings(
        tmp_path, **{"anthropic_api_key": "sk-test", "agent_llm_max_retries": 0, **overrides}
    )


async def test_complete_uses_the_model_for_the_complexity_and_prices_the_tokens(tmp_path) -> None:
    fake = FakeAnthropic()
    settings = _settings(tmp_path)
    client = LLMClient(settings, http_client=fake.client())
    completion = await client.complete("be brief", "hello", complexity="simple", max_tokens=64)
    assert fake.requests[0]["model"] == settings.agent_model_simple
    assert fake.requests[0]["system"] == "be brief" and fake.requests[0]["max_tokens"] == 64
    assert completion.model == settings.agent_model_simple
    assert (completion.input_tokens, completion.output_tokens) == (612, 87)
    assert completion.cost_usd == pytest.approx((612 * 1.0 + 87 * 5.0) / 1e6)
    assert completion.text.startswith("ANSWER #1") and completion.attempts == ()


async def test_overload_on_the_first_model_falls_back_to_the_second(tmp_path) -> None:
    settings = _settings(tmp_path)
    fake = FakeAnthropic(overloaded={settings.agent_model_complex})
    completion = await LLMClient(settings, http_client=fake.client()).complete(
        "", "design a system", complexity="complex", max_tokens=100
    )
    assert [r["model"] for r in fake.requests] == [settings.agent_model_complex, settings.agent_model_medium]
    assert completion.model == settings.agent_model_medium
    assert completion.attempts == ((settings.agent_model_complex, "HTTP 529"),)


async def test_every_model_overloaded_raises_unavailable_with_the_attempts(tmp_path) -> None:
    settings = _settings(tmp_path)
    fake = FakeAnthropic(overloaded=set(model_chain(settings, "medium")))
    with pytest.raises(LLMUnavailable) as caught:
        await LLMClient(settings, http_client=fake.client()).complete(
            "", "q", complexity="medium", max_tokens=10
        )
    assert [m for m, _ in caught.value.attempts] == model_chain(settings, "medium")
    assert "retry later" in str(caught.value)


async def test_sdk_retries_before_falling_back(tmp_path) -> None:
    settings = _settings(tmp_path, agent_llm_max_retries=1)
    calls: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(json.loads(request.content)["model"])
        if len(calls) == 1:
            return httpx2.Response(503, json={"type": "error", "error": {"type": "api_error", "message": "busy"}},
                                   headers={"retry-after-ms": "1"})  # fmt: skip
        return FakeAnthropic().handler(request)

    client = LLMClient(settings, http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)))
    completion = await client.complete("", "q", complexity="simple", max_tokens=10)
    assert calls == [settings.agent_model_simple, settings.agent_model_simple]
    assert completion.model == settings.agent_model_simple and completion.attempts == ()


async def test_refused_key_and_bad_request_are_reported_plainly(tmp_path) -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(401, json={"type": "error", "error": {"type": "authentication_error",
                                                                     "message": "invalid x-api-key"}})  # fmt: skip

    client = LLMClient(
        _settings(tmp_path), http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(refuse))
    )
    with pytest.raises(NotConfigured, match="ANTHROPIC_API_KEY"):
        await client.complete("", "q", complexity="simple", max_tokens=10)

    def bad(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(400, json={"type": "error", "error": {"type": "invalid_request_error",
                                                                     "message": "max_tokens too large"}})  # fmt: skip

    client = LLMClient(
        _settings(tmp_path), http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(bad))
    )
    with pytest.raises(InvalidInput, match="max_tokens too large"):
        await client.complete("", "q", complexity="simple", max_tokens=10)


async def test_no_key_is_not_configured(tmp_path) -> None:
    client = LLMClient(make_settings(tmp_path))
    assert not client.configured
    with pytest.raises(NotConfigured, match="ANTHROPIC_API_KEY"):
        await client.complete("", "q", complexity="simple", max_tokens=10)


async def test_json_schema_asks_for_structured_output_and_base_url_is_honoured(tmp_path) -> None:
    seen: list[httpx2.Request] = []
    fake = FakeAnthropic()

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return fake.handler(request)

    settings = _settings(tmp_path, anthropic_base_url="http://llm.internal:8080")
    client = LLMClient(settings, http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)))
    schema = {"type": "object", "properties": {"steps": {"type": "array"}}, "required": ["steps"]}
    await client.complete("", "plan it", complexity="medium", max_tokens=10, json_schema=schema)
    assert str(seen[0].url) == "http://llm.internal:8080/v1/messages"
    assert fake.requests[0]["output_config"] == {"format": {"type": "json_schema", "schema": schema}}


def test_prices_match_model_ids_and_families(tmp_path) -> None:
    prices = {"sonnet": (3.0, 15.0), "claude-sonnet-5-5": (2.0, 10.0)}
    assert cost_usd(prices, "claude-sonnet-5-5", 1_000_000, 0) == 2.0
    assert cost_usd(prices, "claude-sonnet-4-6", 0, 1_000_000) == 15.0
    assert cost_usd(prices, "mystery-model", 1000, 1000) == 0.0
    assert model_chain(make_settings(tmp_path), "simple")[0] == "claude-haiku-5-5"
