"""Paying with Cashu ecash against a real Nutshell mint (input fee 100 ppk, as Nutshell ships):
deposit, pay per request with change, tokens as keys, withdraw, refund, double spends,
untrusted mints, short payments, and a mint that fails in the middle of a swap.

After every scenario the node's ecash must back the books (`satmeter wallet audit`: each unspent
proof confirmed at the mint with NUT-07 equals owed + earned − granted)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import cashu_token
from cashu_wallet import TokenFactory, Wallet
from gateway_helpers import GATEWAY_CONFIG, assert_openai_error, audit, balance, expected_cost, wallet_audit
from http_client import post_json, raw_http, send_raw
from mint_proxy import MintProxy
from servers import MintServer, NginxServer, SatmeterServer

pytestmark = [pytest.mark.satmeter, pytest.mark.mint]

FEE_PPK = 100
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "tell me a story please"}], "max_tokens": 50}


@pytest.fixture(scope="module")
def fee_mint(start_mint: Callable[..., MintServer]) -> MintServer:
    return start_mint("fee-mint", input_fee_ppk=FEE_PPK)


@pytest.fixture(scope="module")
def proxy(fee_mint: MintServer) -> Iterator[MintProxy]:
    """Everyone reaches the mint through this proxy, so tests can make it fail on purpose."""
    with MintProxy(fee_mint.url) as running:
        yield running


@pytest.fixture(autouse=True)
def proxy_passes(proxy: MintProxy) -> None:
    proxy.mode = "pass"


@pytest.fixture(scope="module")
def satmeter_config(proxy: MintProxy) -> str:
    return GATEWAY_CONFIG + f"""
cashu:
  mints: ["{proxy.url}"]
  mint_timeout_seconds: 2
"""


@pytest.fixture(scope="module")
def tokens(proxy: MintProxy, tmp_path_factory: pytest.TempPathFactory) -> TokenFactory:
    return TokenFactory(Wallet(proxy.url, tmp_path_factory.mktemp("client-wallet")), fund_sats=5000, balance=0)


@pytest.fixture
def fresh_wallet(proxy: MintProxy, tmp_path: Path) -> Callable[[], Wallet]:
    count = iter(range(1000))
    return lambda: Wallet(proxy.url, tmp_path / f"receiver{next(count)}")


@pytest.fixture(autouse=True)
def books_balance_after_each_test(satmeter: SatmeterServer, gateway: NginxServer, proxy: MintProxy) -> Iterator[None]:
    yield
    proxy.mode = "pass"
    audit(satmeter)
    wallet_audit(satmeter)


def net(token: str) -> int:
    """What the node credits for a token: its value less the mint's input fee, in msat."""
    return (cashu_token.value(token) - cashu_token.input_fee(token, FEE_PPK)) * 1000


# --- deposits and keys ---------------------------------------------------------------


def test_deposit_creates_a_key_worth_the_token_less_the_mint_fee(gateway: NginxServer, tokens: TokenFactory,
                                                                gateway_client: Callable[..., Any]) -> None:
    token = tokens(300)
    response = post_json(gateway, "/v1/wallet/create", {"cashu_token": token})
    created = response.json
    assert response.status == 200, created
    assert created["api_key"].startswith("sk-") and created["balance"] == net(token)
    raw = gateway_client(created["api_key"]).chat.completions.with_raw_response.create(**CHAT)
    cost = int(raw.headers["X-Satmeter-Cost-Msat"])
    assert cost == expected_cost(5, 27)
    assert balance(gateway, created["api_key"])["balance"] == net(token) - cost


def test_a_token_is_credited_once(gateway: NginxServer, tokens: TokenFactory) -> None:
    token = tokens(100)
    first = post_json(gateway, "/v1/wallet/create", {"cashu_token": token})
    second = post_json(gateway, "/v1/wallet/create", {"cashu_token": token})
    assert first.status == 200
    assert_openai_error(second, second.body, 400, "cashu_token_already_spent")


def test_twenty_clients_racing_one_token_get_one_credit(gateway: NginxServer, tokens: TokenFactory,
                                                       create_key: Callable[[int], dict[str, Any]]) -> None:
    token = tokens(120)
    keys = [create_key(0)["api_key"] for _ in range(20)]
    statuses: list[int] = []
    lock = threading.Lock()

    def topup(key: str) -> None:
        response = post_json(gateway, "/v1/wallet/topup", {"cashu_token": token}, {"Authorization": f"Bearer {key}"})
        with lock:
            statuses.append(response.status)

    threads = [threading.Thread(target=topup, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(200) == 1, statuses
    assert all(s in (400, 409) for s in statuses if s != 200), statuses
    assert sum(balance(gateway, k)["total_deposited"] for k in keys) == net(token)


def test_topup_then_withdraw_part_as_a_token_the_wallet_accepts(gateway: NginxServer, tokens: TokenFactory,
                                                               fresh_wallet: Callable[[], Wallet]) -> None:
    created = post_json(gateway, "/v1/wallet/create", {"cashu_token": tokens(200)}).json
    key = created["api_key"]
    response = post_json(gateway, "/v1/wallet/topup", {"cashu_token": tokens(100)}, {"Authorization": f"Bearer {key}"})
    top = response.json
    assert response.status == 200, top
    before = balance(gateway, key)["balance"]
    response = post_json(gateway, "/v1/wallet/withdraw", {"amount": 50}, {"Authorization": f"Bearer {key}"})
    sent = response.json
    assert response.status == 200, sent
    assert cashu_token.value(sent["token"]) == 50 and response.getheader("X-Cashu") == sent["token"]
    assert sent["balance"] == before - (50 + sent["fee"]) * 1000
    receiver = fresh_wallet()
    receiver.receive(sent["token"])
    assert receiver.balance() == 50 - cashu_token.input_fee(sent["token"], FEE_PPK)


def test_refund_returns_everything_and_can_be_replayed(gateway: NginxServer, tokens: TokenFactory,
                                                      fresh_wallet: Callable[[], Wallet]) -> None:
    created = post_json(gateway, "/v1/wallet/create", {"cashu_token": tokens(64)}).json
    key = created["api_key"]
    response = post_json(gateway, "/v1/wallet/refund", {}, {"Authorization": f"Bearer {key}"})
    refund = response.json
    assert response.status == 200, refund
    assert refund["balance"] < 1000  # only sub-sat dust can stay behind
    again_response = post_json(gateway, "/v1/wallet/refund", {}, {"Authorization": f"Bearer {key}"})
    again = again_response.json
    assert again_response.status == 200 and again["token"] == refund["token"] and again["replayed"] is True
    fresh_wallet().receive(refund["token"])


# --- paying per request ----------------------------------------------------------------


def test_no_payment_gets_402_with_a_payment_request(gateway: NginxServer, proxy: MintProxy) -> None:
    response = post_json(gateway, "/v1/chat/completions", CHAT)
    body = response.json
    assert response.status == 402 and body["error"]["code"] == "payment_required"
    assert response.getheader("X-Cashu", "").startswith("creqA")


def test_x_cashu_pays_one_request_and_returns_change(gateway: NginxServer, tokens: TokenFactory,
                                                    gateway_client: Callable[..., Any], fresh_wallet: Callable[[], Wallet]) -> None:
    token = tokens(40)
    raw = gateway_client("unused").chat.completions.with_raw_response.create(**CHAT, extra_headers={"X-Cashu": token})
    assert raw.parse().usage.completion_tokens == 27
    cost = int(raw.headers["X-Satmeter-Cost-Msat"])
    change = raw.headers["X-Cashu"]
    assert change.startswith("cashuB") and cashu_token.mint_of(change) == cashu_token.mint_of(token)
    # Change is what is left in whole sats, less the fee of the swap that made it (if one was needed).
    left_sat = (net(token) - cost) // 1000
    assert left_sat - 1 <= cashu_token.value(change) <= left_sat
    receiver = fresh_wallet()
    receiver.receive(change)
    assert receiver.balance() > 0


def test_x_cashu_stream_gets_change_in_the_header_and_the_rest_after_done(gateway: NginxServer, tokens: TokenFactory,
                                                                         fresh_wallet: Callable[[], Wallet]) -> None:
    token = tokens(40)
    # Read to the end of the connection, as a raw SSE client does (an SDK stops at [DONE]).
    body = json.dumps({**CHAT, "stream": True, "max_tokens": 2000}).encode()
    reply = send_raw(gateway, raw_http("POST", "/v1/chat/completions", [("Content-Type", "application/json"), ("X-Cashu", token)],
                                       body), timeout=15)
    text = reply.text()
    # The change above the reservation, in the head: what SDKs can read.
    upfront = reply.header("X-Cashu")
    assert upfront, reply.header_list
    # The unused reservation: one more event after [DONE], which raw SSE clients read.
    assert "data: [DONE]" in text and "event: cashu-change" in text
    assert text.index("data: [DONE]") < text.index("event: cashu-change")
    event = text[text.index("event: cashu-change"):]
    change = json.loads(event.split("data: ", 1)[1].split("\n", 1)[0])
    receiver = fresh_wallet()
    receiver.receive(upfront)
    receiver.receive(change["token"])
    # Paid: at least the minimum charge; each part loses less than a sat plus its swap fee.
    paid_sat = cashu_token.value(token) - cashu_token.value(upfront) - change["amount"]
    assert 1 <= paid_sat <= 1 + 2 * 2, paid_sat


def test_same_token_twice_is_refused_the_second_time(gateway: NginxServer, tokens: TokenFactory) -> None:
    token = tokens(30)
    first = post_json(gateway, "/v1/chat/completions", CHAT, {"X-Cashu": token})
    second = post_json(gateway, "/v1/chat/completions", CHAT, {"X-Cashu": token})
    assert first.status == 200
    assert_openai_error(second, second.body, 400, "cashu_token_already_spent")


def test_a_token_worth_less_than_the_price_is_not_taken(gateway: NginxServer, tokens: TokenFactory,
                                                       fresh_wallet: Callable[[], Wallet]) -> None:
    token = tokens(2)
    response = post_json(gateway, "/v1/chat/completions", {**CHAT, "max_tokens": 5000}, {"X-Cashu": token})
    body = response.json
    assert response.status == 402 and body["error"]["code"] == "payment_required"
    assert "Required" in body["error"]["message"]
    fresh_wallet().receive(token)  # still the client's


def test_upstream_failure_returns_the_whole_payment(gateway: NginxServer, tokens: TokenFactory) -> None:
    token = tokens(30)
    response = post_json(gateway, "/v1/chat/completions", CHAT, {"X-Cashu": token, "X-Mock-Behavior": "fail-500"})
    body = response.json
    assert response.status == 502, body
    change = response.getheader("X-Cashu")
    assert change and cashu_token.value(change) >= net(token) // 1000 - 1


def test_token_as_bearer_key_keeps_one_balance(gateway: NginxServer, tokens: TokenFactory,
                                              gateway_client: Callable[..., Any]) -> None:
    token = tokens(60)
    client = gateway_client(token)
    client.chat.completions.create(**CHAT)
    client.chat.completions.create(**CHAT)
    after = balance(gateway, token)
    assert after["total_deposited"] == net(token)
    assert after["balance"] == net(token) - 2 * expected_cost(5, 27)


# --- refusals ----------------------------------------------------------------------


@pytest.mark.parametrize("mangle", [lambda t: t[:-20], lambda t: t[:40], lambda t: "cashuBnotbase64!!", lambda t: "cashuZ" + t[6:]])
def test_malformed_tokens_get_400(gateway: NginxServer, tokens: TokenFactory, mangle: Callable[[str], str]) -> None:
    response = post_json(gateway, "/v1/chat/completions", CHAT, {"X-Cashu": mangle("cashuB" + "A" * 80)})
    assert_openai_error(response, response.body, 400, "invalid_cashu_token")


def test_a_token_from_an_untrusted_mint_is_refused_and_not_taken(gateway: NginxServer, make_token: Callable[[int], str],
                                                                new_wallet: Callable[[], Wallet]) -> None:
    foreign = make_token(20)  # the session's other mint, which this node does not trust
    response = post_json(gateway, "/v1/chat/completions", CHAT, {"X-Cashu": foreign})
    assert_openai_error(response, response.body, 400, "untrusted_mint")
    new_wallet().receive(foreign)


# --- a mint that fails -------------------------------------------------------------


def test_mint_down_gives_503_and_the_token_stays_spendable(gateway: NginxServer, tokens: TokenFactory, proxy: MintProxy) -> None:
    token = tokens(25)
    proxy.mode = "down"
    response = post_json(gateway, "/v1/wallet/create", {"cashu_token": token})
    body = response.json
    assert response.status == 503 and body["error"]["code"] == "cashu_mint_unreachable", body
    proxy.mode = "pass"
    response = post_json(gateway, "/v1/wallet/create", {"cashu_token": token})
    created = response.json
    assert response.status == 200 and created["balance"] == net(token)


def test_a_lost_swap_answer_is_recovered_at_once(gateway: NginxServer, tokens: TokenFactory, proxy: MintProxy) -> None:
    """The mint performs the swap but its answer is lost: the node asks the proofs' state (NUT-07)
    and the signatures again (NUT-09) and carries on as if nothing happened. Only that one answer
    is lost: the swap that makes the change goes through, whatever the node's wallet held before."""
    token = tokens(30)
    lost_before = proxy.swaps_lost
    proxy.mode = "lose-swap"
    response = post_json(gateway, "/v1/chat/completions", CHAT, {"X-Cashu": token})
    body = response.json
    assert response.status == 200, body
    assert proxy.swaps_lost == lost_before + 1
    assert response.getheader("X-Cashu", "").startswith("cashuB")


def test_mint_dying_mid_swap_is_recovered_later(gateway: NginxServer, tokens: TokenFactory, proxy: MintProxy,
                                                fresh_wallet: Callable[[], Wallet]) -> None:
    """The mint performs the swap, the answer is lost and the mint goes away: 503, and once the
    mint is back the node learns the outcome (NUT-07 state + NUT-09 restore) and credits the
    token's balance, which the client gets back with /v1/wallet/refund."""
    token = tokens(35)
    lost_before = proxy.swaps_lost
    proxy.mode = "lose-swap-then-down"
    response = post_json(gateway, "/v1/chat/completions", CHAT, {"X-Cashu": token})
    body = response.json
    assert response.status == 503 and body["error"]["code"] == "cashu_mint_unreachable", body
    # Under load the node's mint timeout can end its wait before the mint has answered the proxy:
    # the mint is "down" only once the proxy has lost that answer. Bring it back after that.
    proxy.wait_for_lost_swaps(lost_before + 1)
    proxy.mode = "pass"
    # Recovery takes the swap over once it is 2 × mint timeout + 10 s old, at the next sweep
    # (every 30 s): poll for the refund until the balance is credited.
    deadline = time.monotonic() + 120
    while True:
        response = post_json(gateway, "/v1/wallet/refund", {}, {"X-Cashu": token})
        refund = response.json
        if response.status == 200 or time.monotonic() > deadline:
            break
        assert response.status in (404, 425), refund  # nothing credited yet, or the request still settling
        time.sleep(1)
    assert response.status == 200, refund
    assert cashu_token.value(refund["token"]) >= net(token) // 1000 - 1
    fresh_wallet().receive(refund["token"])
