"""The SDK's private parts we rely on (`tools/_sdk_seams.py`) are still there: fails loudly on an SDK
upgrade that moves them, instead of letting resources/list or list_changed notifications break quietly."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from mcp.server.session import ServerSession

from singularity_mcp.config import Settings
from singularity_mcp.server import build_server
from singularity_mcp.tools import _sdk_seams

pytestmark = pytest.mark.anyio


def test_the_private_parts_we_use_exist(tmp_path: Path) -> None:
    server = build_server(Settings(data_dir=tmp_path))
    inner = _sdk_seams.lowlevel(server)
    for name in ("get_request_handler", "add_request_handler", "run", "create_initialization_options"):
        assert callable(getattr(inner, name, None)), f"the low-level server has no {name}()"
    for method in ("resources/list", "completion/complete"):
        entry = inner.get_request_handler(method)
        assert entry is not None and callable(entry.handler) and entry.params_type is not None, method
    assert callable(getattr(_sdk_seams.subscription_bus(server), "publish", None)), "no subscription bus"
    assert "self._connection" in inspect.getsource(ServerSession), "ServerSession keeps no _connection"


async def test_resources_list_still_carries_the_artifacts(settings: Settings) -> None:
    """The wrapped resources/list answers with the SDK's own resources plus one per artifact."""
    from tests.conftest import mcp_client

    async with mcp_client(settings) as session:
        listed = {str(r.uri) for r in (await session.list_resources()).resources}
    assert "knowledge://artifacts" in listed  # the SDK's own handler ran
    assert any(uri.startswith("knowledge://") and uri.count("/") == 3 for uri in listed)  # ours too
