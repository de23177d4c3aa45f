"""Recorded upstream transcripts (transcripts/*.json), one test each: the request goes through
real nginx and satmeter to the mock upstream, which replays the provider's answer; the key must
lose exactly the msat the transcript's usage costs at the prices below, and the books balance.

Prices are chosen so that every charge is far above the 1,000-msat minimum: at $100,000/BTC,
$1 per 1M tokens is 1 msat a token.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from gateway_helpers import audit, balance
from http_client import raw_request
from mock_upstream import TRANSCRIPTS, MockUpstream, load_transcript
from servers import NginxServer, SatmeterServer

pytestmark = pytest.mark.satmeter

FUNDS_MSAT = 20_000_000
NAMES = sorted(path.stem for path in Path(TRANSCRIPTS).glob("*.json"))

TRANSCRIPT_CONFIG = """
upstream:
  forward_headers: ["x-mock-*"]
  stream_idle_timeout_seconds: 2
  stream_reasoning_idle_timeout_seconds: 6
pricing:
  btc_price: {usd_per_btc: 100000}
  exchange_fee: 1
  upstream_fee: 1
  min_charge_msat: 1000
  overrides:
    gpt-4o: {prompt_usd_per_1m: "2.50", completion_usd_per_1m: "10"}
    o3-mini: {prompt_usd_per_1m: "1.10", completion_usd_per_1m: "4.40"}
    gpt-4o-audio-preview: {prompt_usd_per_1m: "2.50", completion_usd_per_1m: "10",
                           audio_prompt_usd_per_1m: "40", audio_completion_usd_per_1m: "80"}
    claude-3-5-sonnet: {prompt_usd_per_1m: "3", completion_usd_per_1m: "15"}
    meta-llama/Llama-3.1-8B-Instruct: {prompt_usd_per_1m: "1", completion_usd_per_1m: "2"}
    local-llama: {prompt_sats_per_1k: 1, completion_sats_per_1k: 2}
    router-model: {usd_per_1m: "50"}
"""


@pytest.fixture(scope="module")
def satmeter_config() -> str:
    return TRANSCRIPT_CONFIG


def _summary(body: bytes) -> dict[str, Any] | None:
    """The `: satmeter {...}` comment a settled stream carries."""
    for line in body.split(b"\n"):
        if line.startswith(b": satmeter "):
            return json.loads(line[len(b": satmeter "):])
    return None


def _stream_has_error(body: bytes) -> bool:
    events = [line[len(b"data: "):] for line in body.split(b"\n") if line.startswith(b"data: {")]
    return b"event: error" in body or any("error" in json.loads(event) for event in events)


@pytest.mark.parametrize("name", NAMES)
def test_transcript_is_charged_exactly(name: str, gateway: NginxServer, create_key: Callable[[int], dict[str, Any]],
                                       mock: MockUpstream) -> None:
    transcript = load_transcript(name)
    expect = transcript["expect"]
    key = create_key(FUNDS_MSAT)
    headers = {"Authorization": f"Bearer {key['api_key']}", "Content-Type": "application/json", "X-Mock-Transcript": name}
    started = time.monotonic()
    response, body = raw_request(gateway, "POST", transcript["request"]["path"],
                                 json.dumps(transcript["request"]["body"]).encode(), headers, timeout=30)
    elapsed = time.monotonic() - started
    assert response.status == expect["status"], body[:2000]

    after = balance(gateway, key["api_key"])
    assert after["reserved"] == 0, after
    charged = FUNDS_MSAT - after["balance"]
    assert charged == after["total_spent"]
    streamed = (response.getheader("Content-Type") or "").startswith("text/event-stream")
    reported = _summary(body) if streamed else None
    if expect["charged_msat"] == "estimate":
        assert reported is not None and reported["cost_msat"] == charged > 0, (reported, charged)
    else:
        assert charged == expect["charged_msat"], (charged, expect, body[-600:])
    if streamed and charged:
        assert reported is not None and reported["cost_msat"] == charged
    elif response.status == 200 and not streamed:
        assert int(response.getheader("X-Satmeter-Cost-Msat")) == charged
        reported = {"prompt_tokens": int(response.getheader("X-Satmeter-Prompt-Tokens")),
                    "completion_tokens": int(response.getheader("X-Satmeter-Completion-Tokens")),
                    "priced_model": response.getheader("X-Satmeter-Priced-Model")}
    for field in ("prompt_tokens", "completion_tokens", "priced_model"):
        if field in expect:
            assert reported is not None and reported.get(field) == expect[field], (field, reported)

    if "error_code" in expect:
        error = json.loads(body)["error"]
        assert error["code"] == expect["error_code"] and {"type", "message", "param", "code"} <= set(error), error
    if expect.get("stream_error"):
        assert _stream_has_error(body), body[-600:]
    if expect.get("no_done"):
        assert b"data: [DONE]" not in body
    elif streamed and response.status == 200 and not expect.get("stream_error") and charged:
        assert body.rstrip().endswith(b"data: [DONE]"), body[-300:]
    if "upstream_requests" in expect:
        sent = [r for r in mock.requests() if r["headers"].get("x-mock-transcript") == name]
        assert len(sent) == expect["upstream_requests"], sent
        assert "stream_options" in json.loads(sent[0]["body"])
        if len(sent) > 1:  # the retry went without it
            assert "stream_options" not in json.loads(sent[-1]["body"])
    if "max_seconds" in expect:
        assert elapsed < expect["max_seconds"], elapsed


# --- the official SDK reads what the gateway relays --------------------------------------------


def test_the_sdk_reads_a_responses_stream_and_it_is_charged(gateway: NginxServer, gateway_client: Callable[..., Any],
                                                           create_key: Callable[[int], dict[str, Any]]) -> None:
    key = create_key(FUNDS_MSAT)
    events = list(gateway_client(key["api_key"]).responses.create(
        model="gpt-4o", input="Write one line about the sea.", stream=True, max_output_tokens=100000,
        extra_headers={"X-Mock-Transcript": "openai_responses_stream"}))
    assert events[-1].type == "response.completed" and events[-1].response.usage.input_tokens == 5000
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "The sea keeps every secret."
    assert balance(gateway, key["api_key"])["total_spent"] == load_transcript("openai_responses_stream")["expect"]["charged_msat"]


def test_the_sdk_raises_on_an_error_inside_a_stream_and_nothing_is_charged(
        gateway: NginxServer, gateway_client: Callable[..., Any], create_key: Callable[[int], dict[str, Any]],
        openai_module: Any) -> None:
    key = create_key(FUNDS_MSAT)
    stream = gateway_client(key["api_key"]).chat.completions.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Write one line about the sea."}], stream=True,
        max_tokens=100000, extra_headers={"X-Mock-Transcript": "openrouter_stream_error"})
    with pytest.raises(openai_module.APIError, match="Provider disconnected"):
        for _ in stream:
            pass
    after = balance(gateway, key["api_key"])
    assert (after["total_spent"], after["reserved"]) == (0, 0)


def test_the_books_balance_after_every_transcript(satmeter: SatmeterServer, gateway: NginxServer) -> None:
    audit(satmeter)
