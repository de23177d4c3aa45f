"""The paid gateway end to end: the official OpenAI SDK → nginx (shipped snippets) →
satmeter → the mock upstream, with balances checked to the msat after every call."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable

import pytest

from gateway_helpers import PRICED_GATEWAY_CONFIG, assert_openai_error, audit, balance, priced_cost
from http_client import raw_request, stream
from mock_upstream import MockUpstream
from servers import NginxServer, SatmeterServer

pytestmark = pytest.mark.satmeter

CHAT = [{"role": "user", "content": "tell me a story please"}]  # 5 words: 5 prompt tokens at the mock


@pytest.fixture(scope="module")
def satmeter_config() -> str:
    return PRICED_GATEWAY_CONFIG


def test_chat_completion_charges_exactly_the_priced_usage(gateway: NginxServer, gateway_client: Callable[..., Any],
                                                          create_key: Callable[[int], dict[str, Any]]) -> None:
    key = create_key(1_000_000)
    client = gateway_client(key["api_key"])
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=CHAT, max_tokens=800, extra_headers={"X-Mock-Completion-Tokens": "700"})
    completion = raw.parse()
    assert completion.choices[0].message.content.count(" ") == 699
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 700)
    cost = priced_cost(5, 700)
    assert cost == 140_500
    assert int(raw.headers["X-Satmeter-Cost-Msat"]) == cost
    assert raw.headers["X-Satmeter-Prompt-Tokens"] == "5" and raw.headers["X-Satmeter-Completion-Tokens"] == "700"
    after = balance(gateway, key["api_key"])
    assert after["balance"] == 1_000_000 - cost
    assert after["total_spent"] == cost and after["total_deposited"] == 1_000_000 and after["last_used"] > 0
    assert int(raw.headers["X-Satmeter-Balance-Msat"]) == after["balance"]


def test_streaming_relays_every_chunk_and_charges_the_reported_usage(
        gateway: NginxServer, gateway_client: Callable[..., Any], create_key: Callable[[int], dict[str, Any]],
        mock: MockUpstream) -> None:
    key = create_key(10_000_000)
    client = gateway_client(key["api_key"])
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=CHAT, stream=True,
                                            extra_headers={"X-Mock-Completion-Tokens": "600"})
    pieces = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    assert len("".join(pieces).split()) == 600
    # satmeter asked the upstream for usage although the client did not.
    sent = [r for r in mock.requests() if r["path"].endswith("/chat/completions")][-1]
    assert json.loads(sent["body"])["stream_options"] == {"include_usage": True}
    assert balance(gateway, key["api_key"])["balance"] == 10_000_000 - priced_cost(5, 600) == 10_000_000 - 120_500


def test_stream_usage_chunk_reaches_a_client_that_asked(gateway_client: Callable[..., Any],
                                                       create_key: Callable[[int], dict[str, Any]]) -> None:
    client = gateway_client(create_key(10_000_000)["api_key"])
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=CHAT, stream=True,
                                                 stream_options={"include_usage": True}))
    usages = [c.usage for c in chunks if c.usage is not None]
    assert len(usages) == 1 and usages[0].completion_tokens == 27


def test_stream_arrives_chunk_by_chunk_not_buffered(gateway: NginxServer, create_key: Callable[[int], dict[str, Any]]) -> None:
    key = create_key(100_000)
    body = json.dumps({"model": "gpt-4o-mini", "messages": CHAT, "stream": True, "max_tokens": 10}).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key['api_key']}", "X-Mock-Chunk-Delay": "0.3"}
    arrivals: list[float] = []
    start = time.monotonic()
    with stream(gateway, "POST", "/v1/chat/completions", body, headers, timeout=10) as response:
        assert "text/event-stream" in response.getheader("Content-Type", "")  # (nginx consumes our X-Accel-Buffering: no)
        for line in response:
            if line.startswith(b"data: {"):
                arrivals.append(time.monotonic() - start)
            if line.startswith(b"data: [DONE]"):
                break
    assert len(arrivals) >= 10
    # Ten words 0.3 s apart: the first arrives long before the last.
    assert arrivals[-1] - arrivals[0] > 2.0, arrivals


def test_completions_embeddings_and_models(gateway: NginxServer, gateway_client: Callable[..., Any],
                                           create_key: Callable[[int], dict[str, Any]]) -> None:
    key = create_key(1_000_000)
    client = gateway_client(key["api_key"])
    ten = "one two three four five six seven eight nine ten"
    text = client.completions.create(model="gpt-3.5-turbo-instruct", prompt=ten, max_tokens=5)
    assert text.usage.completion_tokens == 5
    embedding = client.embeddings.create(model="text-embedding-3-small", input=ten + " eleven twelve")
    assert len(embedding.data[0].embedding) == 8
    streamed = list(client.completions.create(model="gpt-3.5-turbo-instruct", prompt=ten, max_tokens=3, stream=True))
    assert "".join(c.choices[0].text for c in streamed if c.choices).split() != []
    models = client.models.list()
    assert "gpt-4o-mini" in {m.id for m in models.data}
    spent = priced_cost(10, 5) + priced_cost(12, 0) + priced_cost(10, 3)
    assert spent == 2_000 + 1_200 + 1_600
    assert balance(gateway, key["api_key"])["total_spent"] == spent


def test_missing_and_unknown_keys_get_401(gateway: NginxServer, gateway_client: Callable[..., Any], openai_module: Any) -> None:
    response, body = raw_request(gateway, "POST", "/v1/chat/completions", json.dumps({"model": "gpt-4o-mini"}).encode())
    assert_openai_error(response, body, 401, "missing_api_key")
    with pytest.raises(openai_module.AuthenticationError):
        gateway_client("sk-" + "0" * 64).chat.completions.create(model="gpt-4o-mini", messages=CHAT)


def test_insufficient_balance_gets_402_with_both_amounts(gateway_client: Callable[..., Any], openai_module: Any,
                                                        create_key: Callable[[int], dict[str, Any]], gateway: NginxServer) -> None:
    key = create_key(1_500)
    with pytest.raises(openai_module.APIStatusError) as info:
        gateway_client(key["api_key"]).chat.completions.create(model="gpt-4o-mini", messages=CHAT, max_tokens=10_000)
    assert info.value.status_code == 402
    error = info.value.body["error"] if "error" in info.value.body else info.value.body
    assert error["type"] == "insufficient_balance" and error["code"] == "insufficient_balance"
    assert error["message"].startswith("Insufficient balance. Current: 1.5 sats, Required: ")
    assert balance(gateway, key["api_key"])["balance"] == 1_500


@pytest.mark.parametrize("body, status, code", [
    (b"{not json", 400, "invalid_json"),
    (b"[]", 400, "invalid_json"),
    (b'{"messages": []}', 400, "invalid_request"),
    (b'{"model": "gpt-4o-mini", "max_tokens": -1}', 400, "invalid_request"),
    (b'{"model": "gpt-4o-mini", "max_tokens": 100000000000}', 400, "invalid_request"),
    (b'{"model": "gpt-4o-mini", "stream": "yes"}', 400, "invalid_request"),
    (b'{"model": "gpt-4o-mini\\u0000"}', 400, "invalid_request"),
    (b'{"model": "\xff\xfe"}', 400, "invalid_json"),
])
def test_bad_input_gets_a_clear_400_and_costs_nothing(gateway: NginxServer, create_key: Callable[[int], dict[str, Any]],
                                                      body: bytes, status: int, code: str) -> None:
    key = create_key(10_000_000)
    response, answer = raw_request(gateway, "POST", "/v1/chat/completions", body,
                                   {"Authorization": f"Bearer {key['api_key']}", "Content-Type": "application/json"})
    assert_openai_error(response, answer, status, code)
    assert balance(gateway, key["api_key"])["balance"] == 10_000_000


def test_oversized_body_gets_413(gateway: NginxServer, create_key: Callable[[int], dict[str, Any]]) -> None:
    key = create_key(10_000_000)
    big = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * (5 << 20)}]}).encode()
    response, body = raw_request(gateway, "POST", "/v1/chat/completions", big, {"Authorization": f"Bearer {key['api_key']}"})
    assert response.status == 413
    assert json.loads(body)["error"]["code"] == "body_too_large"
    assert balance(gateway, key["api_key"])["balance"] == 10_000_000


@pytest.mark.parametrize("behavior, status, code", [
    ("fail-500", 502, "upstream_failed"),
    ("garbage", 502, "upstream_failed"),
    ("drop-connection", 502, "upstream_failed"),
    ("truncated-sse", 502, "upstream_failed"),
    ("fail-429", 429, "rate_limit_exceeded"),
])
def test_upstream_failures_charge_nothing(gateway: NginxServer, create_key: Callable[[int], dict[str, Any]],
                                          behavior: str, status: int, code: str) -> None:
    key = create_key(10_000_000)
    body = json.dumps({"model": "gpt-4o-mini", "messages": CHAT}).encode()
    response, answer = raw_request(gateway, "POST", "/v1/chat/completions", body,
                                   {"Authorization": f"Bearer {key['api_key']}", "X-Mock-Behavior": behavior})
    assert_openai_error(response, answer, status, code)
    after = balance(gateway, key["api_key"])
    assert (after["balance"], after["reserved"], after["total_spent"]) == (10_000_000, 0, 0)


def test_truncated_stream_ends_with_an_error_event_and_no_charge(gateway: NginxServer, gateway_client: Callable[..., Any],
                                                                 create_key: Callable[[int], dict[str, Any]],
                                                                 openai_module: Any) -> None:
    key = create_key(10_000_000)
    stream = gateway_client(key["api_key"]).chat.completions.create(
        model="gpt-4o-mini", messages=CHAT, stream=True, extra_headers={"X-Mock-Behavior": "truncated-sse"})
    with pytest.raises(openai_module.APIError, match="ended early"):
        for _ in stream:
            pass
    assert balance(gateway, key["api_key"])["total_spent"] == 0


def test_usage_missing_is_charged_from_the_text_returned(gateway: NginxServer, create_key: Callable[[int], dict[str, Any]]) -> None:
    key = create_key(1_000_000)
    body = json.dumps({"model": "gpt-4o-mini", "messages": CHAT, "max_tokens": 2000}).encode()
    response, answer = raw_request(gateway, "POST", "/v1/chat/completions", body,
                                   {"Authorization": f"Bearer {key['api_key']}", "X-Mock-Behavior": "no-usage",
                                    "X-Mock-Completion-Tokens": "1500"})
    assert response.status == 200
    charged = int(response.getheader("X-Satmeter-Cost-Msat"))
    assert charged >= MIN_CHARGED_FOR_NO_USAGE
    assert balance(gateway, key["api_key"])["total_spent"] == charged


MIN_CHARGED_FOR_NO_USAGE = 1000


def test_fifty_concurrent_requests_on_a_key_that_affords_ten(gateway: NginxServer, satmeter: SatmeterServer,
                                                            create_key: Callable[[int], dict[str, Any]]) -> None:
    # Each request costs a flat 1 sat, reserved and charged alike: exactly ten fit.
    key = create_key(10_000)
    body = json.dumps({"model": "flat-1sat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}).encode()
    statuses: list[int] = []
    lock = threading.Lock()

    def call() -> None:
        response, _ = raw_request(gateway, "POST", "/v1/chat/completions", body,
                                  {"Authorization": f"Bearer {key['api_key']}", "X-Mock-Chunk-Delay": "0"})
        with lock:
            statuses.append(response.status)

    threads = [threading.Thread(target=call) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(200) == 10 and statuses.count(402) == 40, statuses
    after = balance(gateway, key["api_key"])
    assert (after["balance"], after["reserved"], after["total_spent"]) == (0, 0, 10_000)
    audit(satmeter)


def test_the_books_balance_after_the_module(satmeter: SatmeterServer, gateway: NginxServer) -> None:
    report = audit(satmeter)
    assert report["owed_msat"] + report["earned_msat"] == report["granted_msat"] + report["deposited_msat"] - report["withdrawn_msat"]
