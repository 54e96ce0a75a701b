"""JSON over HTTP for the registry clients: timeouts, a response size cap, retries that honour Retry-After."""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from typing import Any

import anyio
import httpx2

from singularity_mcp import __version__
from singularity_mcp.errors import NotFound, Unavailable

logger = logging.getLogger(__name__)

USER_AGENT = f"singularity-mcp/{__version__} (package_lookup; https://github.com/singularity-mcp)"
DEFAULT_TIMEOUT = httpx2.Timeout(10.0, connect=3.0)
MAX_RESPONSE_BYTES = 32 * 1024 * 1024  # npm documents for the biggest packages run to ~10 MiB
_RETRY_STATUS = {429, 500, 502, 503, 504}


class JSONService:
    """One remote JSON API: an `httpx2.AsyncClient` on the given transport plus the retry policy.

    `transport=None` uses the network; tests pass `httpx2.MockTransport`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        label: str,
        transport: httpx2.AsyncBaseTransport | None = None,
        timeout: httpx2.Timeout = DEFAULT_TIMEOUT,
        retries: int = 2,
        backoff_s: float = 0.25,
        max_retry_after_s: float = 10.0,
        max_bytes: int = MAX_RESPONSE_BYTES,
        cooldown_s: float = 30.0,
    ) -> None:
        self.label = label
        self.cooldown_s = cooldown_s
        self._down_until = 0.0
        self._down_reason = ""
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_retry_after_s = max_retry_after_s
        self.max_bytes = max_bytes
        self._client = httpx2.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=timeout,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=True,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, path: str, *, params: dict[str, Any] | None = None) -> Any:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, body: Any) -> Any:
        return await self.request("POST", path, body=body)

    async def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None
    ) -> Any:
        """The decoded JSON body. 404 → `NotFound`; unreachable, throttled or broken → `Unavailable`.

        After the service proved unreachable (or asked for a long Retry-After), calls fail at once until
        the cool-down ends, so a dead registry costs one round of retries, not one per lookup.
        """
        wait_left = self._down_until - time.monotonic()
        if wait_left > 0:
            raise Unavailable(f"{self._down_reason} (not retrying for another {wait_left:.0f}s)")
        attempt = 0
        while True:
            try:
                status, headers, data = await self._send(method, path, params, body)
            except httpx2.TransportError as exc:
                if attempt >= self.retries:
                    raise self._down(
                        f"{self.label} could not be reached ({type(exc).__name__}: {exc or 'no detail'}); "
                        "check the network or try again later",
                        self.cooldown_s,
                    ) from exc
                await anyio.sleep(self._backoff(attempt))
                attempt += 1
                continue
            if status == 404 or status == 410:
                raise NotFound(f"{self.label}: {path} not found")
            if status in _RETRY_STATUS:
                wait = _retry_after(headers.get("retry-after"))
                if attempt >= self.retries or (wait is not None and wait > self.max_retry_after_s):
                    hint = f"; it asks to retry after {wait:.0f}s" if wait is not None else ""
                    raise self._down(
                        f"{self.label} answered HTTP {status}{hint}: try again later", wait or 0.0
                    )
                await anyio.sleep(wait if wait is not None else self._backoff(attempt))
                attempt += 1
                continue
            if status >= 400:
                raise Unavailable(f"{self.label} answered HTTP {status} for {path}")
            try:
                return json.loads(data)
            except ValueError as exc:
                raise Unavailable(f"{self.label} sent a response that is not JSON for {path}") from exc

    async def _send(
        self, method: str, path: str, params: dict[str, Any] | None, body: Any
    ) -> tuple[int, httpx2.Headers, bytes]:
        kwargs: dict[str, Any] = {"params": params}
        if body is not None:
            kwargs["json"] = body
        async with self._client.stream(method, path, **kwargs) as response:
            if response.status_code >= 400:
                return response.status_code, response.headers, b""
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise Unavailable(self._too_big(path))
            chunks = bytearray()
            async for chunk in response.aiter_bytes():
                chunks += chunk
                if len(chunks) > self.max_bytes:
                    raise Unavailable(self._too_big(path))
            return response.status_code, response.headers, bytes(chunks)

    def _down(self, reason: str, for_s: float) -> Unavailable:
        """Remember that the service is unavailable for `for_s` seconds; return the error to raise."""
        if for_s > 0:
            self._down_until = time.monotonic() + for_s
            self._down_reason = reason
        return Unavailable(reason)

    def _too_big(self, path: str) -> str:
        return f"{self.label}: the response for {path} is larger than {self.max_bytes // (1024 * 1024)} MiB"

    def _backoff(self, attempt: int) -> float:
        return self.backoff_s * (2**attempt) * (0.5 + random.random() / 2)


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
