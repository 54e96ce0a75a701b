"""Asking the client's own model (MCP sampling) from a tool's `Resolve` hook, on both protocol eras."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from mcp.server.mcpserver import Context, Sample
from mcp.shared.message import ServerMessageMetadata
from mcp_types import CreateMessageRequest, CreateMessageResult
from mcp_types.version import is_version_at_least

logger = logging.getLogger(__name__)

#: From this protocol revision on, sampling rides InputRequiredResult (the framework does it).
INPUT_REQUIRED_VERSION = "2026-07-28"


@dataclass(frozen=True)
class Sampled:
    """What the client's model answered (`text`) or why it did not (`error`)."""

    text: str | None
    model: str = "client-model"
    latency_ms: float = 0.0
    error: str | None = None

    @classmethod
    def from_result(cls, result: CreateMessageResult, latency_ms: float = 0.0) -> Sampled:
        content = result.content
        blocks = content if isinstance(content, list) else [content]
        text = "".join(getattr(block, "text", "") or "" for block in blocks)
        return cls(text, result.model or "client-model", latency_ms)


def as_sampled(value: CreateMessageResult | Sampled | None) -> Sampled | None:
    """Normalise what a `Resolve` hook produced: the framework injects a raw result on new connections."""
    return Sampled.from_result(value) if isinstance(value, CreateMessageResult) else value


async def sample_or_defer(ctx: Context, marker: Sample) -> Sample | Sampled:
    """Return `marker` for the framework to send (2026-07-28+ connections), or sample now (older ones).

    Sampling now on older connections turns a refusal into a `Sampled` with an error instead of a
    protocol error, so the tool can fall back to a cheaper answer.
    """
    version = ctx.protocol_version
    if version is not None and is_version_at_least(version, INPUT_REQUIRED_VERSION):
        return marker
    started = time.perf_counter()
    try:
        result = await ctx.session.send_request(
            CreateMessageRequest(params=marker.params),
            CreateMessageResult,
            metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
        )
    except Exception as exc:
        logger.info("sampling refused or failed: %s", exc)
        return Sampled(None, error=str(exc) or type(exc).__name__)
    return Sampled.from_result(result, latency_ms=round((time.perf_counter() - started) * 1000, 2))
