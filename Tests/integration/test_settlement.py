"""Issue 16, point 4, through nginx → satmeter → the mock upstream, with a real mint:

- `settlement: after-response` on a route: a key is admitted on its prompt's cost, charged the
  actual bill after the response, and what its balance cannot cover is the operator's loss
  (`ledger audit`, /metrics); a failed call costs nothing; an `X-Cashu` token must still cover
  the worst case, and its change is a token `cashu receive` accepts.
- a session product: one flat price per key and window, taken once even when the first requests
  race; a request over the cap is refused (429, nothing charged); X-Cashu cannot buy a window.

`ledger audit` and `wallet audit` hold after each test.
"""

from __future__ import annotations

import os
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator

import pytest

import cashu_token
from cashu_wallet import TokenFactory, Wallet
from gateway_helpers import PRICED_GATEWAY_CONFIG, assert_openai_error, audit, balance, priced_cost, wallet_audit
from http_client import Reply, post_json, request
from servers import MintServer, NginxServer, SatmeterServer

pytestmark = [pytest.mark.satmeter, pytest.mark.mint]

SESSION_PRICE_MSAT = 5_000
# Windows of 31 days, aligned to the epoch: a test cannot straddle one unless it runs within
# a minute of a boundary (waited out below).
SESSION_PERIOD = 31 * 86_400
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "tell me a story please"}], "max_tokens": 1000}
PROMPT = 5  # the mock's word count of CHAT's prompt


@pytest.fixture(scope="module")
def satmeter_config(mint: MintServer) -> str:
    return PRICED_GATEWAY_CONFIG + f"""
cashu:
  mints: ["{mint.url}"]
routes:
  "POST /v1/chat/completions":
    settlement: after-response
    match:
      - where: {{ headers.x-plan: batch }}
        session: {{ name: batch, price: {SESSION_PRICE_MSAT // 1000}, per: "31d", max_requests: 4, max_tokens: 100000 }}
"""


@pytest.fixture(autouse=True)
def books_balance_after_each_test(satmeter: SatmeterServer) -> Iterator[None]:
    yield
    audit(satmeter)
    wallet_audit(satmeter)


@pytest.fixture(autouse=True)
def not_at_a_window_boundary() -> None:
    left = SESSION_PERIOD - int(time.time()) % SESSION_PERIOD
    if left < 60:
        time.sleep(left + 1)


def chat(gateway: NginxServer, key: str | None = None, body: dict[str, Any] | None = None, **headers: str) -> Reply:
    return post_json(gateway, "/v1/chat/completions", body or CHAT,
                     {k.replace("_", "-"): v for k, v in headers.items()}, api_key=key)


def reservation(satmeter: SatmeterServer, request_id: str) -> tuple[int, int | None]:
    with sqlite3.connect(f"file:{satmeter.state_dir / 'satmeter.db'}?mode=ro", uri=True) as db:
        row = db.execute("SELECT amount_msat, charged_msat FROM reservations WHERE request_id = ?", (request_id,)).fetchone()
    return row if row else (0, None)


def metric(gateway: NginxServer, name: str) -> int:
    reply = request(gateway, "GET", "/metrics")
    line = next(line for line in reply.body.decode().splitlines() if line.startswith(name + " "))
    return int(line.split()[1])


def uses_sqlite() -> bool:
    return os.environ.get("SATMETER_TEST_BACKEND", "sqlite") == "sqlite"


# --- after-response ---------------------------------------------------------------------------

def test_after_response_admits_on_the_prompt_and_charges_the_bill(gateway: NginxServer, satmeter: SatmeterServer,
                                                                  create_key: Callable[..., Any], gateway_client: Callable[..., Any]) -> None:
    # Far below the worst case (1000 completion tokens × 200 msat), above the prompt's cost.
    key = create_key(20_000)["api_key"]
    raw = gateway_client(key).chat.completions.with_raw_response.create(**CHAT)
    assert raw.parse().usage.completion_tokens == 27
    cost = priced_cost(PROMPT, 27)
    assert int(raw.headers["X-Satmeter-Cost-Msat"]) == cost
    assert balance(gateway, key)["balance"] == 20_000 - cost
    if uses_sqlite():
        held, charged = reservation(satmeter, raw.headers["X-Request-Id"])
        assert held < cost and charged == cost, (held, charged)


def test_after_response_loss_is_recorded_and_a_failed_call_costs_nothing(gateway: NginxServer, satmeter: SatmeterServer,
                                                                         create_key: Callable[..., Any]) -> None:
    key = create_key(10_000)["api_key"]
    failed = chat(gateway, key, X_Mock_Behavior="fail-500")
    assert failed.status == 502 and balance(gateway, key)["balance"] == 10_000
    loss_before = audit(satmeter)["overrun_msat"]
    reply = chat(gateway, key, X_Mock_Completion_Tokens="500")
    assert reply.status == 200, reply.body
    assert int(reply.header("X-Satmeter-Cost-Msat")) == 10_000  # all there was; never below zero
    assert balance(gateway, key)["balance"] == 0
    report = audit(satmeter)
    assert report["overrun_msat"] == loss_before + priced_cost(PROMPT, 500) - 10_000
    assert metric(gateway, "satmeter_overrun_loss_msat") == report["overrun_msat"]
    # An empty balance is not admitted at all.
    assert_openai_error(*(lambda r: (r, r.body))(chat(gateway, key)), 402, "insufficient_balance")


def test_after_response_streams_are_charged_after_done(gateway: NginxServer, create_key: Callable[..., Any],
                                                       gateway_client: Callable[..., Any]) -> None:
    key = create_key(20_000)["api_key"]
    stream = gateway_client(key).chat.completions.create(**CHAT, stream=True, stream_options={"include_usage": True})
    usage = [chunk.usage for chunk in stream if chunk.usage]
    assert usage and usage[0].completion_tokens == 27
    assert balance(gateway, key)["balance"] == 20_000 - priced_cost(PROMPT, 27)


def test_x_cashu_on_an_after_response_route_still_covers_the_worst_case(gateway: NginxServer, make_token: TokenFactory,
                                                                         new_wallet: Callable[[], Wallet]) -> None:
    worst = priced_cost(PROMPT, 1000)
    short = make_token(worst // 1000 - 10)
    refused = chat(gateway, X_Cashu=short)
    assert_openai_error(refused, refused.body, 402, "payment_required")
    new_wallet().receive(short)  # not taken: the client still has it
    token = make_token(worst // 1000 + 5)
    reply = chat(gateway, X_Cashu=token)
    assert reply.status == 200, reply.body
    change = reply.header("X-Cashu")
    assert cashu_token.value(change) * 1000 + int(reply.header("X-Satmeter-Cost-Msat")) <= cashu_token.value(token) * 1000
    receiver = new_wallet()
    receiver.receive(change)
    assert receiver.balance() == cashu_token.value(change)


def test_a_balance_with_a_bill_open_cannot_be_withdrawn_until_it_settles(gateway: NginxServer, create_key: Callable[..., Any],
                                                                          make_token: TokenFactory, new_wallet: Callable[[], Wallet]) -> None:
    key = create_key(1_000)["api_key"]
    assert post_json(gateway, "/v1/wallet/topup", {"cashu_token": make_token(20)}, api_key=key).status == 200
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(chat, gateway, key, X_Mock_Behavior="slow", X_Mock_Sleep="2")
        time.sleep(1)
        early = post_json(gateway, "/v1/wallet/withdraw", {"amount": 20}, api_key=key)
        assert_openai_error(early, early.body, 425, "refund_pending")
        assert slow.result().status == 200
    left = balance(gateway, key)["balance"]
    assert left == 21_000 - priced_cost(PROMPT, 27)
    withdrawn = post_json(gateway, "/v1/wallet/withdraw", {"amount": left // 1000}, api_key=key)
    assert withdrawn.status == 200, withdrawn.body
    new_wallet().receive(withdrawn.json["token"])


# --- session products -------------------------------------------------------------------------

def test_a_window_is_bought_once_even_by_racing_first_requests(gateway: NginxServer, create_key: Callable[..., Any]) -> None:
    key = create_key(20_000)["api_key"]
    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda _: chat(gateway, key, X_Plan="batch"), range(3)))
    assert [r.status for r in replies] == [200, 200, 200], [r.body for r in replies]
    assert sorted(int(r.header("X-Satmeter-Cost-Msat")) for r in replies) == [0, 0, SESSION_PRICE_MSAT]
    assert balance(gateway, key)["balance"] == 20_000 - SESSION_PRICE_MSAT
    # The fourth request of the window costs nothing more; the fifth is over the cap.
    fourth = chat(gateway, key, X_Plan="batch")
    assert fourth.status == 200 and fourth.header("X-Satmeter-Cost-Msat") == "0"
    over = chat(gateway, key, X_Plan="batch")
    error = assert_openai_error(over, over.body, 429, "session_cap_reached")
    assert "batch" in error["message"] and int(over.header("Retry-After")) > 0
    assert balance(gateway, key)["balance"] == 20_000 - SESSION_PRICE_MSAT
    # Without the header the same key is metered as usual.
    assert chat(gateway, key).status == 200


def test_a_window_needs_a_balance_a_failure_does_not_count_and_the_purchase_cannot_leave(
        gateway: NginxServer, create_key: Callable[..., Any], make_token: TokenFactory, new_wallet: Callable[[], Wallet],
        gateway_client: Callable[..., Any]) -> None:
    key = create_key(1_000)["api_key"]
    poor = chat(gateway, key, X_Plan="batch")
    assert_openai_error(poor, poor.body, 402, "insufficient_balance")
    topup = post_json(gateway, "/v1/wallet/topup", {"cashu_token": make_token(10)}, api_key=key)
    assert topup.status == 200, topup.body
    funded = balance(gateway, key)["balance"]
    assert funded == 11_000
    for _ in range(4):  # failures: none counts against the cap of four, none is charged
        assert chat(gateway, key, X_Plan="batch", X_Mock_Behavior="fail-500").status == 502
    assert balance(gateway, key)["balance"] == funded
    for _ in range(3):
        assert chat(gateway, key, X_Plan="batch").status == 200
    # A stream in the window: served, charged nothing more.
    stream = gateway_client(key).chat.completions.create(**CHAT, stream=True, extra_headers={"X-Plan": "batch"})
    assert sum(1 for chunk in stream if chunk.choices and chunk.choices[0].delta.content) == 27
    assert balance(gateway, key)["balance"] == funded - SESSION_PRICE_MSAT
    # What leaves as ecash is the balance left after the purchase (which spent the grant first), once.
    withdrawn = post_json(gateway, "/v1/wallet/withdraw", {"amount": 6}, api_key=key)
    assert withdrawn.status == 200, withdrawn.body
    more = post_json(gateway, "/v1/wallet/withdraw", {"amount": 1}, api_key=key)
    assert more.status in (400, 402, 403), more.body
    receiver = new_wallet()
    receiver.receive(withdrawn.json["token"])
    assert receiver.balance() == 6


def test_x_cashu_cannot_buy_a_window_and_keeps_its_token(gateway: NginxServer, make_token: TokenFactory,
                                                         new_wallet: Callable[[], Wallet]) -> None:
    token = make_token(10)
    refused = chat(gateway, X_Cashu=token, X_Plan="batch")
    error = assert_openai_error(refused, refused.body, 400, "invalid_request")
    assert "X-Cashu" in error["message"]
    receiver = new_wallet()
    receiver.receive(token)
    assert receiver.balance() == 10
