"""The Anthropic client: one model per complexity, timeouts, retries, and fallback on overload.

The SDK (built on httpx2) is imported lazily so the server lists its tools without loading it; tests pass
`http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(...))`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from singularity_mcp.errors import InvalidInput, NotConfigured, Unavailable

if TYPE_CHECKING:
    import httpx2

    from singularity_mcp.config import Settings

logger = logging.getLogger(__name__)

Complexity = Literal["simple", "medium", "complex"]
COMPLEXITIES: tuple[Complexity, ...] = ("simple", "medium", "complex")
#: Which other complexities' models to try, in order, when a model is overloaded or unavailable.
_FALLBACK_ORDER: dict[str, tuple[Complexity, ...]] = {
    "simple": ("medium", "complex"),
    "medium": ("complex", "simple"),
    "complex": ("medium", "simple"),
}
#: HTTP statuses after which the next model is tried (overloaded, unavailable, gateway timeout, 5xx).
_FALLBACK_STATUSES = {500, 502, 503, 504, 529}


@dataclass(frozen=True)
class Completion:
    """One finished LLM answer with what it cost."""

    text: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: float
    attempts: tuple[tuple[str, str], ...] = ()
    """(model, error) of the models tried before this one answered (overloaded or unavailable)."""


class LLMUnavailable(Unavailable):
    """Every model in the chain was overloaded or unreachable; `attempts` lists (model, error)."""

    def __init__(self, message: str, attempts: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.attempts = attempts


def price_per_mtok(prices: dict[str, tuple[float, float]], model: str) -> tuple[float, float] | None:
    """(input, output) USD per million tokens: the exact model id, else the longest key contained in it."""
    if model in prices:
        return prices[model]
    matches = [key for key in prices if key in model]
    return prices[max(matches, key=len)] if matches else None


def cost_usd(
    prices: dict[str, tuple[float, float]], model: str, input_tokens: int, output_tokens: int
) -> float:
    price = price_per_mtok(prices, model)
    if price is None:
        logger.warning("no price for model %s in SINGULARITY_AGENT_PRICES: cost counted as 0", model)
        return 0.0
    return round((input_tokens * price[0] + output_tokens * price[1]) / 1_000_000, 8)


def model_for(settings: Settings, complexity: str) -> str:
    return {
        "simple": settings.agent_model_simple,
        "medium": settings.agent_model_medium,
        "complex": settings.agent_model_complex,
    }[complexity]


def model_chain(settings: Settings, complexity: str) -> list[str]:
    """The model for `complexity` first, then the fallbacks, without repeats."""
    if complexity not in COMPLEXITIES:
        raise InvalidInput(f"complexity {complexity!r} is not one of {', '.join(COMPLEXITIES)}")
    chain: list[str] = []
    for level in (complexity, *_FALLBACK_ORDER[complexity]):
        model = model_for(settings, level)
        if model not in chain:
            chain.append(model)
    return chain


def llm_configured(settings: Settings) -> bool:
    return settings.anthropic_api_key is not None and bool(settings.anthropic_api_key.get_secret_value())


class LLMClient:
    """Messages API calls with complexity routing; `complete` raises `NotConfigured` without a key."""

    def __init__(self, settings: Settings, *, http_client: httpx2.AsyncClient | None = None) -> None:
        self.settings = settings
        self._http_client = http_client
        self._client: Any = None

    @property
    def configured(self) -> bool:
        return llm_configured(self.settings)

    def _sdk(self) -> Any:
        if self._client is None:
            if not self.configured:
                raise NotConfigured(
                    "no Anthropic API key: set ANTHROPIC_API_KEY (or SINGULARITY_ANTHROPIC_API_KEY) "
                    "to get LLM answers"
                )
            anthropic = _anthropic_sdk()
            assert self.settings.anthropic_api_key is not None
            self._client = anthropic.AsyncAnthropic(
                api_key=self.settings.anthropic_api_key.get_secret_value(),
                base_url=self.settings.anthropic_base_url,
                timeout=self.settings.agent_llm_timeout_s,
                max_retries=self.settings.agent_llm_max_retries,
                http_client=self._http_client,
            )
        return self._client

    async def complete(
        self,
        system: str,
        prompt: str,
        *,
        complexity: str,
        max_tokens: int,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        """Ask the model for `complexity`; on overload/unavailable (after the SDK's retries) try the next.

        `json_schema` asks for structured output (the text is then JSON matching it).
        Raises `NotConfigured` (no key), `InvalidInput` (the API rejected the request) or `Unavailable`.
        """
        client = self._sdk()
        anthropic = _anthropic_sdk()
        if max_tokens < 1:
            raise InvalidInput("max_tokens must be at least 1")
        errors: list[tuple[str, str]] = []
        for model in model_chain(self.settings, complexity):
            started = time.perf_counter()
            kwargs: dict[str, Any] = {
                "model": model,
                "max_tokens": max_tokens,
                "messages": [{"role": "user", "content": prompt}],
            }
            if system:
                kwargs["system"] = system
            if json_schema is not None:
                kwargs["output_config"] = {"format": {"type": "json_schema", "schema": json_schema}}
            try:
                message = await client.messages.create(**kwargs)
            except anthropic.APIStatusError as exc:
                if exc.status_code in _FALLBACK_STATUSES:
                    logger.warning("model %s answered %s; trying the next model", model, exc.status_code)
                    errors.append((model, f"HTTP {exc.status_code}"))
                    continue
                if exc.status_code in (401, 403):
                    raise NotConfigured(
                        f"the Anthropic API refused the key (HTTP {exc.status_code}): check ANTHROPIC_API_KEY"
                    ) from exc
                if exc.status_code == 429:
                    raise Unavailable(
                        "the Anthropic API is rate limiting this key (HTTP 429): retry later"
                    ) from exc
                raise InvalidInput(
                    f"the Anthropic API rejected the request (HTTP {exc.status_code}): {_error_message(exc)}"
                ) from exc
            except anthropic.APIConnectionError as exc:  # includes timeouts
                logger.warning("model %s unreachable (%s); trying the next model", model, exc)
                errors.append((model, type(exc).__name__))
                continue
            text = "".join(getattr(block, "text", "") for block in message.content)
            usage = message.usage
            return Completion(
                text=text,
                model=message.model or model,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cost_usd=cost_usd(
                    self.settings.agent_prices,
                    message.model or model,
                    usage.input_tokens,
                    usage.output_tokens,
                ),
                latency_ms=round((time.perf_counter() - started) * 1000, 2),
                attempts=tuple(errors),
            )
        summary = "; ".join(f"{m}: {e}" for m, e in errors)
        raise LLMUnavailable(f"every model is overloaded or unreachable ({summary}); retry later", errors)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def _error_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(exc)


def _anthropic_sdk() -> Any:
    """The Anthropic SDK, an optional dependency (the `llm` extra): only the LLM tier needs it."""
    try:
        import anthropic
    except ImportError:
        raise NotConfigured(
            "an Anthropic API key is set, but the Anthropic SDK is not installed (the default install "
            "leaves the LLM tier out): pip install 'singularity-mcp[llm]'"
        ) from None
    return anthropic
