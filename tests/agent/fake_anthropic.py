"""Transport-level fakes of the Anthropic Messages API: an `httpx2.MockTransport` handler for in-process
tests and a tiny HTTP server on 127.0.0.1 for spawned MCP servers (pointed at by ANTHROPIC_BASE_URL).

Both answer with the recorded response in `data/messages_response.json` (the model and text adjusted
per request) and can be told to answer 529 (overloaded) for some models.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2

RECORDED = json.loads((Path(__file__).parent / "data" / "messages_response.json").read_text())
OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


@dataclass
class FakeAnthropic:
    """What the fake answers, and every request body it received."""

    overloaded: set[str] = field(default_factory=set)
    requests: list[dict[str, Any]] = field(default_factory=list)
    answer_prefix: str = "ANSWER"

    def respond(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.requests.append(body)
        model = body.get("model", "")
        if model in self.overloaded:
            return 529, OVERLOADED
        response = copy.deepcopy(RECORDED)
        response["model"] = model
        question = body["messages"][-1]["content"]
        response["content"][0]["text"] = f"{self.answer_prefix} #{len(self.requests)} to: {question[-80:]}"
        return 200, response

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        status, payload = self.respond(json.loads(request.content))
        return httpx2.Response(status, json=payload)

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self.handler))


@contextmanager
def serve_fake(fake: FakeAnthropic) -> Iterator[str]:
    """Serve `fake` over HTTP on a free loopback port; yield its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            status, payload = fake.respond(json.loads(self.rfile.read(length)))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
