"""Satmeter itself, behind the shipped nginx snippets, in front of the mock upstream.

These skip until the binary is built (.build/debug/satmeter or $SATMETER_BIN).
They hold satmeter to the interface in Tests/integration/README.md and to the
error vocabulary of Sources/SatmeterGateway/HTTP/APIError.swift.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest

from conftest import UPSTREAM_KEY
from http_client import post_json
from mock_upstream import MockUpstream
from servers import NginxServer, SatmeterServer

pytestmark = pytest.mark.satmeter

RICH = 10**12  # msat: far more than any test spends
MESSAGES = [{"role": "user", "content": "say five words"}]


def test_keys_create_prints_json(create_key: Callable[[int], dict[str, Any]]) -> None:
    key = create_key(12_345)
    assert key["api_key"].startswith("sk-")
    assert key["balance_msat"] == 12_345


def test_chat_completion_is_relayed_with_the_upstream_key(
        gateway_client: Callable[..., Any], create_key: Callable[[int], dict[str, Any]], mock: MockUpstream) -> None:
    key = create_key(RICH)["api_key"]
    completion = gateway_client(key).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=5)
    assert completion.choices[0].message.content == "alpha bravo charlie delta echo"
    assert completion.usage.completion_tokens == 5
    upstream = [r for r in mock.requests() if r["path"].endswith("/chat/completions")]
    assert len(upstream) == 1
    assert upstream[0]["headers"]["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert key not in json.dumps(upstream[0]), "the client's key must never reach the upstream"


def test_stream_relays_every_chunk_and_the_usage(
        gateway_client: Callable[..., Any], create_key: Callable[[int], dict[str, Any]]) -> None:
    client = gateway_client(create_key(RICH)["api_key"])
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=4,
                                                 stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "alpha bravo charlie delta"
    assert chunks[-1].usage.completion_tokens == 4


def test_models(gateway_client: Callable[..., Any], create_key: Callable[[int], dict[str, Any]]) -> None:
    assert "gpt-4o-mini" in [m.id for m in gateway_client(create_key(RICH)["api_key"]).models.list()]


@pytest.mark.parametrize(("headers", "code"), [
    ({}, "missing_api_key"),
    ({"Authorization": "Bearer sk-not-a-real-key"}, "invalid_api_key"),
])
def test_bad_credentials_are_openai_401(gateway: NginxServer, headers: dict[str, str], code: str) -> None:
    reply = post_json(gateway, "/v1/chat/completions", {"model": "gpt-4o-mini", "messages": MESSAGES}, headers)
    assert reply.status == 401
    assert reply.json["error"]["type"] == "authentication_error"
    assert reply.json["error"]["code"] == code


def test_empty_balance_is_402(gateway: NginxServer, create_key: Callable[[int], dict[str, Any]], mock: MockUpstream) -> None:
    key = create_key(0)["api_key"]
    reply = post_json(gateway, "/v1/chat/completions", {"model": "gpt-4o-mini", "messages": MESSAGES}, api_key=key)
    assert reply.status == 402
    assert reply.json["error"]["code"] == "insufficient_balance"
    assert mock.requests() == [], "an unpaid request must not reach the upstream"


def test_sigterm_stops_satmeter_cleanly(start_satmeter: Callable[[], SatmeterServer]) -> None:
    server = start_satmeter()
    stderr = server.stop(timeout=10)
    assert server.returncode == 0, stderr
