"""The shipped nginx snippets, run by a real nginx with only paths and ports swapped.

Two backends stand behind them here: nothing at all (the worker pool is
down), and a small Python FastCGI stub, which shows what nginx hands the
worker and that streamed answers are not buffered.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

import fastcgi_stub
from http_client import Reply, raw_request, request, stream
from servers import NginxServer

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


def assert_openai_error(response: Reply, body: bytes, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, body
    assert response.getheader("Content-Type") == "application/json"
    assert REQUEST_ID.match(response.getheader("X-Request-Id", ""))
    error = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code
    return error


# --- worker pool down ---------------------------------------------------------------


def test_no_worker_gives_openai_shaped_502(nginx_no_worker: NginxServer) -> None:
    response, body = raw_request(nginx_no_worker, "POST", "/v1/chat/completions", json.dumps(CHAT).encode(),
                             {"Content-Type": "application/json"})
    error = assert_openai_error(response, body, 502, "worker_unavailable")
    assert error["type"] == "service_unavailable"
    assert response.getheader("Retry-After") == "5"


def test_sdk_reads_the_502(nginx_no_worker: NginxServer, openai_client: Any, openai_module: Any) -> None:
    client = openai_client(f"{nginx_no_worker.url}/v1", "sk-anything")
    with pytest.raises(openai_module.APIStatusError) as info:
        client.chat.completions.create(**CHAT)
    assert info.value.status_code == 502
    assert info.value.body["code"] == "worker_unavailable"


def test_oversized_body_gives_openai_shaped_413(nginx_no_worker: NginxServer) -> None:
    big = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"' + b"x" * (5 << 20) + b'"}]}'
    response, body = raw_request(nginx_no_worker, "POST", "/v1/chat/completions", big, {"Content-Type": "application/json"})
    error = assert_openai_error(response, body, 413, "body_too_large")
    assert error["type"] == "invalid_request_error"


def test_oversized_chunked_body_gives_413_too(nginx_no_worker: NginxServer) -> None:
    """Without Content-Length nginx only notices while reading; the answer must be the same."""
    chunks = (b"x" * 65536 for _ in range(80))  # 5 MiB
    reply = request(nginx_no_worker, "POST", "/v1/embeddings", chunks, {"Content-Type": "application/json"})
    assert_openai_error(reply, reply.body, 413, "body_too_large")


def test_sdk_reads_the_413(nginx_no_worker: NginxServer, openai_client: Any, openai_module: Any) -> None:
    client = openai_client(f"{nginx_no_worker.url}/v1", "sk-anything")
    with pytest.raises(openai_module.APIStatusError) as info:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x" * (5 << 20)}])
    assert info.value.status_code == 413
    assert info.value.body["code"] == "body_too_large"


def test_body_under_the_limit_is_not_refused(nginx_no_worker: NginxServer) -> None:
    body = b"x" * (3 << 20)
    response, _ = raw_request(nginx_no_worker, "POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    assert response.status == 502  # passed the size check, then found no worker


def test_metrics_only_from_loopback(nginx_no_worker: NginxServer) -> None:
    response, _ = raw_request(nginx_no_worker, "GET", "/metrics", source="127.0.0.2")
    assert response.status == 403
    response, _ = raw_request(nginx_no_worker, "GET", "/metrics")
    assert response.status == 502  # allowed through, then no worker


def test_admin_ui_is_static(nginx_no_worker: NginxServer) -> None:
    response, body = raw_request(nginx_no_worker, "GET", "/admin/")
    assert response.status == 200
    assert b"Satmeter admin" in body
    assert response.getheader("X-Frame-Options") == "DENY"
    response, _ = raw_request(nginx_no_worker, "GET", "/admin")
    assert response.status == 301
    assert response.getheader("Location").endswith("/admin/")


def test_admin_api_goes_to_the_worker(nginx_no_worker: NginxServer) -> None:
    response, body = raw_request(nginx_no_worker, "GET", "/admin/api/keys")
    assert_openai_error(response, body, 502, "worker_unavailable")


# --- a FastCGI worker (the Python stub) ------------------------------------------------------


def echo(server: NginxServer, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response, raw = raw_request(server, method, path, body, headers)
    assert response.status == 200, raw
    return json.loads(raw)


def test_worker_gets_headers_body_and_request_id(nginx_with_stub: NginxServer) -> None:
    body = json.dumps(CHAT).encode()
    seen = echo(nginx_with_stub, "POST", "/v1/chat/completions?x=1", body, {
        "Content-Type": "application/json", "Authorization": "Bearer sk-client",
        "X-Cashu": "cashuBabc", "Proxy": "http://evil.example",
    })
    params = seen["params"]
    assert seen["body"] == body.decode()
    assert params["REQUEST_METHOD"] == "POST"
    assert params["DOCUMENT_URI"] == "/v1/chat/completions"
    assert params["QUERY_STRING"] == "x=1"
    assert params["CONTENT_LENGTH"] == str(len(body))
    assert params["HTTP_AUTHORIZATION"] == "Bearer sk-client"
    assert params["HTTP_X_CASHU"] == "cashuBabc"
    assert params["REMOTE_ADDR"] == "127.0.0.1"
    assert REQUEST_ID.match(params["X_REQUEST_ID"])
    assert params.get("HTTP_PROXY", "") == ""  # httpoxy: the client's Proxy header never arrives


def test_browser_clients_may_call_and_read_the_change(nginx_with_stub: NginxServer) -> None:
    response, body = raw_request(nginx_with_stub, "OPTIONS", "/v1/chat/completions", headers={
        "Origin": "https://chat.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, x-cashu"})
    assert response.status == 204 and body == b""
    assert response.getheader("Access-Control-Allow-Origin") == "*"
    assert "X-Cashu" in response.getheader("Access-Control-Allow-Headers", "")
    seen = echo(nginx_with_stub, "POST", "/v1/chat/completions", json.dumps(CHAT).encode(), {"Origin": "https://chat.example"})
    assert seen["params"]["REQUEST_METHOD"] == "POST"
    response, _ = raw_request(nginx_with_stub, "POST", "/v1/chat/completions", json.dumps(CHAT).encode(), {"Origin": "https://chat.example"})
    assert "X-Cashu" in response.getheader("Access-Control-Expose-Headers", "")
    response, _ = raw_request(nginx_with_stub, "GET", "/admin/api/session", headers={"Origin": "https://chat.example"})
    assert response.getheader("Access-Control-Allow-Origin") is None  # the dashboard stays same-origin


def test_large_body_reaches_the_worker_whole(nginx_with_stub: NginxServer) -> None:
    """3 MiB is past client_body_buffer_size, so nginx spools it to its temp dir first."""
    body = bytes(range(48, 58)) * (3 * 1024 * 1024 // 10)
    seen = echo(nginx_with_stub, "POST", "/v1/embeddings", body, {"Content-Type": "application/json"})
    assert seen["params"]["CONTENT_LENGTH"] == str(len(body))
    assert seen["body"] == body.decode()


def test_streams_are_not_buffered(nginx_with_stub: NginxServer) -> None:
    arrivals = []
    with stream(nginx_with_stub, "POST", "/v1/stream", b"{}", {"Content-Type": "application/json"}) as response:
        assert response.status == 200
        assert response.getheader("Content-Type") == "text/event-stream"
        for line in response:
            if line.startswith(b"data: {"):
                arrivals.append(time.monotonic())
    assert len(arrivals) == fastcgi_stub.STUB_EVENTS
    spread = arrivals[-1] - arrivals[0]
    # buffered, all events would arrive together at the end
    assert spread >= 0.8 * (fastcgi_stub.STUB_EVENTS - 1) * fastcgi_stub.STUB_GAP, arrivals


def test_metrics_and_admin_api_reach_the_worker(nginx_with_stub: NginxServer) -> None:
    assert echo(nginx_with_stub, "GET", "/metrics")["params"]["DOCUMENT_URI"] == "/metrics"
    seen = echo(nginx_with_stub, "POST", "/admin/api/keys", b'{"balance_msat":1}', {"Content-Type": "application/json"})
    assert seen["params"]["DOCUMENT_URI"] == "/admin/api/keys"
