"""Recorded registry responses (recorded/), served two ways: an `httpx2.MockTransport` for the clients'
unit tests, and a small HTTP server on 127.0.0.1 for the spawned MCP server (which can't take a transport).

Layout: recorded/<service>/<request path>.json, where <service> is the first path segment of the base URL
(pypi, npm, npmdl, crates, hex, osv). OSV queries are POSTs: recorded/osv/<ecosystem>/<name>/<version>.json.
A request with no recorded file gets 404 (OSV: `{}`, its "no vulnerabilities" answer).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx2

RECORDED = Path(__file__).resolve().parent / "recorded"
SERVICES = ("pypi", "npm", "npmdl", "crates", "hex", "osv")


def settings_urls(base: str) -> dict[str, str]:
    """Settings fields pointing every registry at `base` (one path prefix per service)."""
    return {
        "pypi_url": f"{base}/pypi",
        "npm_url": f"{base}/npm",
        "npm_downloads_url": f"{base}/npmdl",
        "crates_url": f"{base}/crates",
        "hex_url": f"{base}/hex",
        "osv_url": f"{base}/osv",
    }


def settings_env(base: str) -> dict[str, str]:
    return {f"SINGULARITY_{k.upper()}": v for k, v in settings_urls(base).items()}


@dataclass
class Recorded:
    """The router, with a log of what was asked (to prove a bad name made no request)."""

    requests: list[tuple[str, str]] = field(default_factory=list)
    overrides: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    offline: bool = False
    """MockTransport only: every request fails to connect, as with no network."""
    down: set[str] = field(default_factory=set)
    """Services (path prefixes: pypi, npm, crates, hex, osv, ...) answering 503, as when out of reach."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def route(self, method: str, raw_path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        path = urlsplit(raw_path).path
        with self.lock:
            self.requests.append((method, path))
            if path in self.overrides:
                return self.overrides[path]
        service, _, rest = path.lstrip("/").partition("/")
        if service in self.down:
            return 503, {"Retry-After": "0"}, b""
        if service not in SERVICES:
            return 404, {}, b""
        if service == "osv" and method == "POST":
            return 200, _JSON, self._osv(json.loads(body or b"{}"))
        candidate = RECORDED / service / (unquote(rest) + ".json")
        if RECORDED not in candidate.resolve().parents or not candidate.is_file():
            return 404, _JSON, b'{"message": "Not Found"}'
        return 200, _JSON, candidate.read_bytes()

    def _osv(self, query: dict[str, Any]) -> bytes:
        package = query.get("package") or {}
        ecosystem, name, version = (
            package.get("ecosystem", ""),
            package.get("name", ""),
            query.get("version", ""),
        )
        for candidate_name in (name, name.lower()):
            candidate = RECORDED / "osv" / ecosystem / candidate_name / f"{version}.json"
            if candidate.is_file():
                return candidate.read_bytes()
        return b"{}"

    def asked(self, prefix: str = "") -> list[str]:
        with self.lock:
            return [p for _, p in self.requests if p.startswith(prefix)]

    def transport(self) -> httpx2.MockTransport:
        def handler(request: httpx2.Request) -> httpx2.Response:
            if self.offline:
                with self.lock:
                    self.requests.append((request.method, "OFFLINE " + request.url.path))
                raise httpx2.ConnectError("network is unreachable", request=request)
            status, headers, content = self.route(
                request.method, request.url.raw_path.decode(), request.content
            )
            return httpx2.Response(status, headers=headers, content=content)

        return httpx2.MockTransport(handler)


_JSON = {"Content-Type": "application/json"}


@contextmanager
def serve_recorded(recorded: Recorded | None = None) -> Iterator[tuple[str, Recorded]]:
    """Serve the recorded responses on 127.0.0.1 in a thread; yield (base URL, router)."""
    router = recorded or Recorded()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, content = router.route(self.command, self.path, body)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", router
    finally:
        server.shutdown()
        server.server_close()
