"""Every request gets an answer: raw bytes on stdio, duplicate ids and exposed hosts over HTTP."""

from __future__ import annotations

import concurrent.futures
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from singularity_mcp._stdio import parse_line
from singularity_mcp.config import Settings
from tests.conftest import REPO_ROOT, run_cli, server_env
from tests.foundation.rawserve import RawServer
from tests.foundation.test_server import _HEADERS, _INIT, _free_port, _start_http


def test_stdio_answers_every_malformed_line(settings: Settings, tmp_path: Path) -> None:
    server = RawServer(settings, tmp_path / "stderr")
    try:
        server.initialize()
        call = {"name": "analyze_code", "arguments": {"content": "x = 1", "language": "python"}}
        cases: list[tuple[bytes, object, int]] = [
            # (line, the id the answer must carry, the JSON-RPC error code)
            (
                b'{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"analyze_code",'
                b'"arguments":{"content":"\\ud800","language":"python"}}}',
                11,
                -32602,
            ),
            (b'{"jsonrpc":"2.0","id":12,"method":"tools/call","params":"analyze_code"}', 12, -32600),
            (b'{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}', None, -32600),
            (b'{"jsonrpc":"2.0","id":13,"method":"tools/list"', None, -32700),
            (b"not json at all", None, -32700),
            (b'{"jsonrpc":"2.0","id":14,"method":"ping","params":{"x":"\xff\xfe"}}', 14, -32602),
            (b'[{"jsonrpc":"2.0","id":15,"method":"ping"}]', None, -32600),
            (
                b'{"jsonrpc":"2.0","id":16,"method":"tools/call","params":{"name":"x","\\udfff":1}}',
                16,
                -32602,
            ),
        ]
        for line, expected_id, code in cases:
            server.send(line)
            answer = server.receive(timeout=20)
            assert answer.get("id") == expected_id, (line, answer)
            assert answer["error"]["code"] == code, (line, answer)
            assert len(answer["error"]["message"]) < 600
        # A notification with a lone surrogate has nothing to answer; the server just goes on.
        server.send(b'{"jsonrpc":"2.0","method":"notifications/progress","params":{"x":"\\ud800"}}')
        answer = server.request("tools/call", call, 17)
        assert answer["id"] == 17 and not answer["result"]["isError"]
    finally:
        server.close()


def test_parse_line_names_the_surrogate_and_keeps_valid_messages() -> None:
    message, answer = parse_line(b'{"jsonrpc":"2.0","id":"a","method":"ping"}\n')
    assert answer is None and message is not None
    message, answer = parse_line(b'{"jsonrpc":"2.0","id":"a","method":"x","params":{"q":["ok","\\ud83d"]}}')
    assert message is None and answer is not None
    assert answer.id == "a" and "q[1]" in answer.error.message and "surrogate" in answer.error.message
    # A surrogate pair is valid Unicode and passes.
    message, answer = parse_line(b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"q":"\\ud83d\\ude00"}}')
    assert answer is None and message is not None
    # A client's error answer to one of our requests is a valid message, not something to answer.
    message, answer = parse_line(b'{"jsonrpc":"2.0","id":5,"error":{"code":-1,"message":"declined"}}')
    assert answer is None and message is not None
    huge = b'{"jsonrpc":"2.0","id":2,"method":"x","params":' + b"[" * 10 + b"x" * 100_000
    _, answer = parse_line(huge)
    assert answer is not None and len(answer.error.message) < 600


def _session(client: httpx2.Client, url: str, headers: dict[str, str]) -> dict[str, str]:
    response = client.post(url, json=_INIT, headers=headers)
    assert response.status_code == 200
    session_headers = {
        **headers,
        "mcp-session-id": response.headers["mcp-session-id"],
        "mcp-protocol-version": "2025-06-18",
    }
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert client.post(url, json=initialized, headers=session_headers).status_code == 202
    return session_headers


def _sse_json(text: str) -> dict:
    data = [line[5:].strip() for line in text.splitlines() if line.startswith("data:") and line[5:].strip()]
    return json.loads(data[-1])


def test_http_second_request_with_an_id_in_flight_gets_an_error(settings: Settings, tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    for i in range(40):
        (code / f"m{i}.py").write_text(f"def f{i}(x):\n    '''Function {i}.'''\n    return x * {i}\n")
    port = _free_port()
    process = _start_http(settings, port, token="tok")
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        with httpx2.Client(timeout=120) as client:
            headers = _session(client, url, {**_HEADERS, "Authorization": "Bearer tok"})
            slow = {
                "jsonrpc": "2.0",
                "id": 7,
                "method": "tools/call",
                "params": {"name": "index_codebase", "arguments": {"path": str(code), "force": True}},
            }
            other = {"jsonrpc": "2.0", "id": 7, "method": "tools/list"}
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                first = pool.submit(client.post, url, json=slow, headers=headers)
                time.sleep(0.5)  # the index call loads the model and embeds: it is still running
                assert not first.done()
                second = client.post(url, json=other, headers=headers)
                answer = first.result(timeout=120)
            assert second.status_code == 409
            error = second.json()
            assert error["id"] == 7 and error["error"]["code"] == -32600
            assert "already in use" in error["error"]["message"]
            assert answer.status_code == 200
            assert _sse_json(answer.text)["id"] == 7
            # Once a request is answered, its id is free again at once (it used to be freed only when the
            # app returned, which could be after the client had the answer).
            for _ in range(30):
                again = client.post(url, json=other, headers=headers)
                assert again.status_code == 200 and _sse_json(again.text)["id"] == 7
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_http_on_a_public_address_needs_a_token_or_insecure(settings: Settings, tmp_path: Path) -> None:
    port = _free_port()
    command = [sys.executable, "-m", "singularity_mcp", "serve", "--transport", "http", "--port", str(port)]
    # The refusal, in this process (the exit status through the real entry point: tests/foundation/test_cli.py).
    refused = run_cli(server_env(settings), *command[3:], "--host", "0.0.0.0")
    assert refused.returncode == 2
    assert "SINGULARITY_HTTP_TOKEN" in refused.stderr and "--insecure" in refused.stderr

    process = subprocess.Popen(
        [*command, "--host", "0.0.0.0", "--insecure"],
        env=server_env(settings),
        cwd=REPO_ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with httpx2.Client(timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    response = client.post(f"http://127.0.0.1:{port}/mcp", json=_INIT, headers=_HEADERS)
                    break
                except httpx2.TransportError:
                    assert time.monotonic() < deadline, "HTTP server did not start"
                    time.sleep(0.2)
        assert response.status_code == 200
        # SIGTERM: an orderly exit, status 0, no traceback.
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        seconds = time.monotonic() - started
        stderr = process.stderr.read()
        print(f"HTTP serve: SIGTERM to exit {seconds:.2f}s")
        assert seconds < 5
        assert "Traceback" not in stderr, stderr[-3000:]
        assert "--insecure" in stderr  # the warning it serves with
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.1.2.3"])
def test_loopback_hosts_need_no_token(host: str) -> None:
    from singularity_mcp.cli.serve import is_loopback

    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "example.com"])
def test_other_hosts_are_not_loopback(host: str) -> None:
    from singularity_mcp.cli.serve import is_loopback

    assert not is_loopback(host)
