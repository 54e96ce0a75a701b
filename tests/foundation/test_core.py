"""Core's plumbing: importing heavy modules off the event loop without handing out half-made ones."""

from __future__ import annotations

import importlib
import sys
import threading
import time
from pathlib import Path

import anyio
import pytest

from singularity_mcp.core import import_off_loop


def _appears(name: str, within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while name not in sys.modules and time.monotonic() < deadline:
        time.sleep(0.005)
    return name in sys.modules


@pytest.mark.anyio
async def test_a_module_another_thread_is_importing_is_awaited_not_returned_half_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two first uses at once (the knowledge sync and a request both opening the database) import the same
    module from two threads; the second must get it whole (it once got `db` without `open_database`)."""
    (tmp_path / "slow_to_import.py").write_text("import time\ntime.sleep(0.5)\nREADY = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "slow_to_import", raising=False)
    first = threading.Thread(target=importlib.import_module, args=("slow_to_import",))
    first.start()
    assert await anyio.to_thread.run_sync(
        _appears, "slow_to_import"
    )  # half-made: the other thread is still running its body
    module = await import_off_loop("slow_to_import")
    assert module.READY
    first.join()
