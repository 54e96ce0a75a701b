"""The Anthropic SDK is an optional dependency (the `llm` extra): without it the LLM tier says how to
get it, and without a key it still says that the key is missing."""

from __future__ import annotations

import sys

import pytest

from singularity_mcp.agent import LLMClient
from singularity_mcp.errors import NotConfigured
from tests.conftest import make_settings

pytestmark = pytest.mark.anyio


async def test_a_key_without_the_sdk_names_the_extra(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)  # `import anthropic` now raises ImportError
    client = LLMClient(make_settings(tmp_path, anthropic_api_key="sk-test"))
    with pytest.raises(NotConfigured, match=r"pip install 'singularity-mcp\[llm\]'"):
        await client.complete("", "hello", complexity="simple", max_tokens=16)


async def test_no_key_is_reported_before_the_missing_sdk(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)
    client = LLMClient(make_settings(tmp_path, anthropic_api_key=None))
    with pytest.raises(NotConfigured, match="no Anthropic API key"):
        await client.complete("", "hello", complexity="simple", max_tokens=16)
