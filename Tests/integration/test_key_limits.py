"""Issue 10, point 9's last part: per-key limits (requests/min, tokens/min, concurrent streams),
set with `keys create`/`keys set-rate-limits` or `cashu.key_limits` for ecash-minted accounts,
enforced in the reservation's transaction, so they hold across threads and worker processes
(two here) and, on PostgreSQL, hosts. A refusal is OpenAI's 429 (`rate_limit_exceeded`, type
`requests`/`tokens`/`streams`, Retry-After, x-ratelimit-* headers), charges nothing and takes no
X-Cashu token. `ledger audit` and `wallet audit` hold after each test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from gateway_helpers import GATEWAY_CONFIG, assert_openai_error, audit, balance, wallet_audit
from http_client import Reply, post_json, stream
from servers import MintServer, NginxServer, SatmeterServer

pytestmark = [pytest.mark.satmeter, pytest.mark.mint]

CHAT = {"model": "gpt-4o-mini", "max_tokens": 20, "messages": [{"role": "user", "content": "hello there"}]}
SLOW_STREAM = {**CHAT, "stream": True}
# 27 chunks 0.15 s apart: a stream stays open for about 4 s unless its client leaves.
SLOW_HEADERS = {"X-Mock-Chunk-Delay": "0.15", "X-Mock-Completion-Tokens": "27"}
ECASH_RPM = 2


@pytest.fixture(scope="module")
def satmeter_config(mint: MintServer) -> str:
    return GATEWAY_CONFIG + f"""
server:
  processes: 2
cashu:
  mints: ["{mint.url}"]
  mint_timeout_seconds: 5
  key_limits:
    requests_per_minute: {ECASH_RPM}
    tokens_per_minute: 500
"""


@pytest.fixture(autouse=True)
def books_hold_after_each_test(satmeter: SatmeterServer, gateway: NginxServer) -> Iterator[None]:
    yield
    audit(satmeter)
    wallet_audit(satmeter)


def limited_key(satmeter: SatmeterServer, *limits: str, balance_msat: int = 1_000_000) -> str:
    key = satmeter.cli.json("keys", "create", "--balance-msat", str(balance_msat), "--json", *limits)
    return key["api_key"]


def chat(gateway: NginxServer, key: str | None, body: dict[str, Any] = CHAT, headers: dict[str, str] | None = None) -> Reply:
    return post_json(gateway, "/v1/chat/completions", body, headers, api_key=key)


def assert_rate_limited(reply: Reply, kind: str) -> dict[str, Any]:
    error = assert_openai_error(reply, reply.body, 429, "rate_limit_exceeded")
    assert error["type"] == kind, error
    assert int(reply.header("Retry-After")) >= 1, reply.headers
    return error


def test_a_burst_over_the_requests_limit_admits_exactly_the_limit(gateway: NginxServer, satmeter: SatmeterServer) -> None:
    key = limited_key(satmeter, "--requests-per-minute", "5")
    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(lambda _: chat(gateway, key), range(20)))
    ok = [r for r in replies if r.status == 200]
    refused = [r for r in replies if r.status != 200]
    assert len(ok) == 5, [(r.status, r.body[:200]) for r in replies]
    for reply in refused:
        assert_rate_limited(reply, "requests")
        assert reply.header("x-ratelimit-limit-requests") == "5"
        assert reply.header("x-ratelimit-remaining-requests") == "0"
        assert reply.header("x-ratelimit-reset-requests").endswith("s")
        assert 1 <= int(reply.header("Retry-After")) <= 60
    # Admitted answers carry the headers too, counting down.
    assert sorted(r.header("x-ratelimit-remaining-requests") for r in ok) == ["0", "1", "2", "3", "4"]
    # Only the five were charged (each is one mock answer's cost, at the minimum charge).
    spent = 1_000_000 - balance(gateway, key)["balance"]
    assert spent == 5 * 1000, spent


def test_tokens_per_minute_counts_the_admitted_then_the_billed_tokens(gateway: NginxServer, satmeter: SatmeterServer) -> None:
    key = limited_key(satmeter, "--tokens-per-minute", "70")
    first = chat(gateway, key)
    assert first.status == 200, first.body
    admitted = 70 - int(first.header("x-ratelimit-remaining-tokens"))
    billed = first.json["usage"]["total_tokens"]
    assert admitted > billed >= 20, (admitted, billed)  # the prompt estimate and max_tokens, then what was used
    # Settled: the first request now counts its billed tokens, so one asking more than is left is refused.
    greedy = chat(gateway, key, {**CHAT, "max_tokens": 70 - billed})
    error = assert_rate_limited(greedy, "tokens")
    assert f"Used {billed}," in error["message"], error
    assert greedy.header("x-ratelimit-limit-tokens") == "70"
    assert greedy.header("x-ratelimit-remaining-tokens") == str(70 - billed)
    assert chat(gateway, key, {**CHAT, "max_tokens": 5}).status == 200
    # More than the whole limit can never pass: said so.
    too_large = chat(gateway, key, {**CHAT, "max_tokens": 500})
    assert "Request too large" in assert_rate_limited(too_large, "tokens")["message"]


def test_open_streams_over_the_limit_get_429_and_closing_one_frees_its_slot(gateway: NginxServer, satmeter: SatmeterServer) -> None:
    key = limited_key(satmeter, "--concurrent-streams", "2")
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", **SLOW_HEADERS}
    body = json.dumps(SLOW_STREAM)
    with stream(gateway, "POST", "/v1/chat/completions", body, headers) as kept:
        assert kept.status == 200
        kept.readline()
        with stream(gateway, "POST", "/v1/chat/completions", body, headers) as left:
            assert left.status == 200 and left.getheader("x-ratelimit-remaining-streams") in {"0", "1"}
            left.readline()
            third = chat(gateway, key, SLOW_STREAM, SLOW_HEADERS)
            assert_rate_limited(third, "streams")
            assert third.header("x-ratelimit-limit-streams") == "2" and third.header("x-ratelimit-remaining-streams") == "0"
            # A request that does not stream is not held back by the streams.
            assert chat(gateway, key).status == 200
        # That client left: satmeter notices at its next write, settles, and the slot is free.
        deadline = time.monotonic() + 10
        while (reply := chat(gateway, key, SLOW_STREAM, {"X-Mock-Chunk-Delay": "0"})).status == 429:
            assert time.monotonic() < deadline, "closing a stream never freed its slot"
            time.sleep(0.2)
        assert reply.status == 200 and "[DONE]" in reply.text()
        for _ in kept:  # read to the end: settled before its [DONE]
            pass


def test_a_killed_workers_stream_slot_is_freed_by_the_sweep(start_satmeter: Callable[[], SatmeterServer],
                                                           start_nginx: Callable[[Path], NginxServer]) -> None:
    server = start_satmeter()
    nginx = start_nginx(server.socket_path)
    key = limited_key(server, "--concurrent-streams", "1")
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", **SLOW_HEADERS}
    with stream(nginx, "POST", "/v1/chat/completions", json.dumps(SLOW_STREAM), headers) as held:
        assert held.status == 200
        held.readline()
        assert_rate_limited(chat(nginx, key, SLOW_STREAM, SLOW_HEADERS), "streams")
        workers = [int(p) for p in subprocess.run(["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True).stdout.split()]
        assert workers
        for worker in workers:  # whichever serves the stream dies mid-stream
            os.kill(worker, signal.SIGKILL)
    # The replacement workers sweep the dead one's reservations as they start.
    deadline = time.monotonic() + 15
    while (reply := chat(nginx, key, SLOW_STREAM, {"X-Mock-Chunk-Delay": "0"})).status != 200:
        assert reply.status in {429, 502, 503}, reply.body
        assert time.monotonic() < deadline, "the dead worker's stream kept its slot"
        time.sleep(0.2)
    audit(server)


def test_the_openai_sdk_sees_a_rate_limit_error(gateway: NginxServer, satmeter: SatmeterServer,
                                                gateway_client: Callable[..., Any], openai_module: Any) -> None:
    key = limited_key(satmeter, "--rpm", "1")
    client = gateway_client(key)
    client.chat.completions.create(model="gpt-4o-mini", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai_module.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.code == "rate_limit_exceeded" and caught.value.type == "requests"
    assert caught.value.response.headers["x-ratelimit-limit-requests"] == "1"
    # The raw answer as the SDK would read it for backing off.
    raw = client.chat.completions.with_raw_response
    with pytest.raises(openai_module.RateLimitError):
        raw.create(model="gpt-4o-mini", max_tokens=5, messages=[{"role": "user", "content": "hi"}])


def test_limits_change_on_a_live_key(gateway: NginxServer, satmeter: SatmeterServer) -> None:
    key = limited_key(satmeter)
    assert chat(gateway, key).header("x-ratelimit-limit-requests") is None  # unlimited: no headers, no extra work
    key_id = satmeter.cli.json("keys", "list", "--json")[-1]["id"]
    satmeter.cli.run("keys", "set-rate-limits", str(key_id), "--rpm", "2")
    assert chat(gateway, key).status == 200
    assert_rate_limited(chat(gateway, key), "requests")  # the request before the change counts
    satmeter.cli.run("keys", "set-rate-limits", str(key_id), "--rpm", "none")
    assert chat(gateway, key).status == 200


@pytest.mark.parametrize("args, says", [
    (["--rpm", "0"], "1 to 1000000"),
    (["--requests-per-minute=-5"], "1 to 1000000"),
    (["--tpm", "99999999999999999999999"], "out of range"),
    (["--tokens-per-minute", "1000000000001"], "1 to 1000000000000"),
    (["--max-streams", "two"], "whole number or none"),
    (["--concurrent-streams", "0"], "disable"),
])
def test_hostile_limit_values_are_refused_clearly(satmeter: SatmeterServer, args: list[str], says: str) -> None:
    keys_before = len(satmeter.cli.json("keys", "list", "--json"))
    result = satmeter.cli.run("keys", "create", "--balance-msat", "1000", *args, check=False)
    assert result.returncode == 64 and says in result.stderr, (result.returncode, result.stderr)
    assert len(satmeter.cli.json("keys", "list", "--json")) == keys_before
    changed = satmeter.cli.run("keys", "set-rate-limits", "1", *args, check=False)
    assert changed.returncode == 64 and says in changed.stderr, changed.stderr


def test_ecash_accounts_get_the_configured_limits(gateway: NginxServer, make_token: Callable[[int], str]) -> None:
    token = make_token(64)
    for _ in range(ECASH_RPM):
        assert chat(gateway, token).status == 200
    assert_rate_limited(chat(gateway, token), "requests")
    created = post_json(gateway, "/v1/wallet/create", {"cashu_token": make_token(64)})
    assert created.status == 200, created.body
    key = created.json["api_key"]
    for _ in range(ECASH_RPM):
        assert chat(gateway, key).status == 200
    refused = chat(gateway, key)
    assert_rate_limited(refused, "requests")
    assert refused.header("x-ratelimit-limit-requests") == str(ECASH_RPM)


def test_a_refused_x_cashu_payment_keeps_the_token(gateway: NginxServer, make_token: Callable[[int], str],
                                                   new_wallet: Callable[[], Any]) -> None:
    token = make_token(64)
    refused = chat(gateway, None, {**CHAT, "max_tokens": 1000}, {"X-Cashu": token})
    assert "Request too large" in assert_rate_limited(refused, "tokens")["message"]
    assert refused.header("X-Cashu") is None  # nothing taken, so no change either
    new_wallet().receive(token)  # still the client's: the wallet takes it
