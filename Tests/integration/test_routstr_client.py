"""A Routstr client pointed at satmeter, changing only the base URL: what routstr-chat and the
Routstr scripts do (models → create a key from a token → info → streamed chat → top-up →
refund), child keys, node info, and an OpenAI SDK stream paid with `X-Cashu` that gets its
change from the response header. Real nginx, a real Nutshell mint (FakeWallet, no input fee);
every token handed out is accepted by `cashu receive`; the ledger and the wallet audit hold
after each test."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from typing import Any, Callable, Iterator

import pytest

import cashu_token
from cashu_wallet import TokenFactory, Wallet
from gateway_helpers import GATEWAY_CONFIG, assert_openai_error, audit, wallet_audit
from gateway_helpers import json_request as call
from http_client import raw_request
from servers import MintServer, NginxServer, SatmeterServer

pytestmark = [pytest.mark.satmeter, pytest.mark.mint]

MODEL = "gpt-4o-mini"
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "tell me a story please"}]}


@pytest.fixture(scope="module")
def satmeter_config(mint: MintServer) -> str:
    return GATEWAY_CONFIG + f"""
cashu:
  mints: ["{mint.url}"]
"""


@pytest.fixture(autouse=True)
def books_balance_after_each_test(satmeter: SatmeterServer, gateway: NginxServer) -> Iterator[None]:
    yield
    audit(satmeter)
    wallet_audit(satmeter)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def q(token: str) -> str:
    return urllib.parse.quote(token, safe="")


def routstr_model(gateway: NginxServer) -> dict[str, Any]:
    response, listing = call(gateway, "GET", "/v1/models")
    assert response.status == 200
    return next(m for m in listing["data"] if m["id"] == MODEL)


# --- what routstr-chat does --------------------------------------------------------


def test_models_carry_routstr_sats_pricing(gateway: NginxServer) -> None:
    sats = routstr_model(gateway)["sats_pricing"]
    # $1 / $2 per 1M tokens at 100,000 USD/BTC: 0.001 / 0.002 sats per token, as numbers.
    assert sats["prompt"] == pytest.approx(0.001) and sats["completion"] == pytest.approx(0.002)
    assert isinstance(sats["request"], (int, float)) and isinstance(sats["image"], (int, float))
    assert sats["max_prompt_cost"] > 0 and sats["max_completion_cost"] > 0
    assert isinstance(sats["max_cost"], int) and sats["max_cost"] >= sats["max_prompt_cost"] + sats["max_completion_cost"]
    assert sats["prompt_per_1m"] == "1000"  # ours stay beside Routstr's


def test_routstr_chat_session(gateway: NginxServer, make_token: TokenFactory, new_wallet: Callable[[], Wallet],
                              gateway_client: Callable[..., Any]) -> None:
    # Size the first token the way routstr-chat does: the model's sats_pricing.max_cost.
    max_cost = routstr_model(gateway)["sats_pricing"]["max_cost"]
    token = make_token(max(max_cost, 60))
    expiry = int(time.time()) + 3600
    response, created = call(gateway, "GET", f"/v1/balance/create?initial_balance_token={q(token)}",
                             headers={"Refund-LNURL": "alice@example.com", "Key-Expiry-Time": str(expiry)})
    assert response.status == 200, created
    key = created["api_key"]
    assert key.startswith("sk-") and created["balance"] == cashu_token.value(token) * 1000

    response, info = call(gateway, "GET", "/v1/balance/info", headers=bearer(key))
    assert response.status == 200, info
    assert info["api_key"] == key and info["balance"] == created["balance"] and info["reserved"] == 0
    assert info["is_child"] is False and info["total_requests"] == 0 and info["total_spent"] == 0
    assert info["validity_date"] == expiry and info["refund_address"] == "alice@example.com"

    stream = gateway_client(key).chat.completions.create(**CHAT, max_tokens=50, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text
    _, after_chat = call(gateway, "GET", "/v1/balance/info", headers=bearer(key))
    spent = created["balance"] - after_chat["balance"]
    assert spent > 0 and after_chat["total_spent"] == spent and after_chat["total_requests"] == 1 and after_chat["reserved"] == 0

    # Top-ups as Routstr's clients send them: the token in the query with an empty body, or in JSON.
    topup = make_token(30)
    response, credited = call(gateway, "POST", f"/v1/balance/topup?cashu_token={q(topup)}", headers=bearer(key))
    assert response.status == 200 and credited["msats"] == 30_000, credited
    response, credited = call(gateway, "POST", "/v1/balance/topup", {"cashu_token": make_token(20)}, headers=bearer(key))
    assert response.status == 200 and credited["msats"] == 20_000, credited
    response, credited = call(gateway, "POST", f"/v1/wallet/topup?cashu_token={q(make_token(10))}", headers=bearer(key))
    assert response.status == 200 and credited["msats"] == 10_000, credited
    response, again = call(gateway, "POST", f"/v1/balance/topup?cashu_token={q(topup)}", headers=bearer(key))
    assert_openai_error(response, json.dumps(again).encode(), 400, "cashu_token_already_spent")

    # routstr-chat refunds at /v1/wallet/refund and takes a token (a key with a refund address
    # is paid by Lightning at /v1/balance/refund instead: test_routstr_lightning.py).
    _, before_refund = call(gateway, "GET", "/v1/balance/info", headers=bearer(key))
    response, refund = call(gateway, "POST", "/v1/wallet/refund", headers=bearer(key))
    assert response.status == 200, refund
    assert refund["token"].startswith("cashuB") and response.getheader("X-Cashu") == refund["token"]
    assert int(refund["sats"]) == cashu_token.value(refund["token"]) == before_refund["balance"] // 1000
    receiver = new_wallet()
    receiver.receive(refund["token"])
    assert receiver.balance() == int(refund["sats"])
    # Asking again (a client that lost the answer) gets the same token.
    response, replay = call(gateway, "POST", "/v1/wallet/refund", headers=bearer(key))
    assert response.status == 200 and replay["token"] == refund["token"]


def test_create_by_post_json_and_wallet_alias(gateway: NginxServer, make_token: TokenFactory,
                                             new_wallet: Callable[[], Wallet]) -> None:
    response, created = call(gateway, "POST", "/v1/balance/create", {"initial_balance_token": make_token(25), "balance_limit": 20_000})
    assert response.status == 200, created
    response, info = call(gateway, "GET", "/v1/wallet/info", headers=bearer(created["api_key"]))
    assert response.status == 200 and info["balance"] == 25_000 and info["balance_limit"] == 20_000
    response, created2 = call(gateway, "GET", f"/v1/wallet/create?initial_balance_token={q(make_token(5))}")
    assert response.status == 200 and created2["balance"] == 5_000
    for key in (created["api_key"], created2["api_key"]):
        response, refund = call(gateway, "POST", "/v1/wallet/refund", headers=bearer(key))
        assert response.status == 200, refund
        new_wallet().receive(refund["token"])


def test_bad_create_requests_take_nothing(gateway: NginxServer, make_token: TokenFactory, new_wallet: Callable[[], Wallet]) -> None:
    response, raw = raw_request(gateway, "GET", "/v1/balance/create")
    assert_openai_error(response, raw, 400, "invalid_request")
    token = make_token(7)
    response, raw = raw_request(gateway, "GET", f"/v1/balance/create?initial_balance_token={q(token)}",
                                headers={"Key-Expiry-Time": str(int(time.time()) + 60)})
    assert_openai_error(response, raw, 400, "invalid_request")
    response, raw = raw_request(gateway, "GET", f"/v1/balance/create?initial_balance_token={q(token)}",
                                headers={"Refund-LNURL": "not an address"})
    assert_openai_error(response, raw, 400, "invalid_request")
    response, raw = raw_request(gateway, "GET", f"/v1/balance/create?initial_balance_token={q(token)}&balance_limit_reset=daily")
    assert_openai_error(response, raw, 400, "invalid_request")
    response, raw = raw_request(gateway, "DELETE", "/v1/balance/info")
    assert_openai_error(response, raw, 405, "method_not_allowed")
    response, raw = raw_request(gateway, "GET", "/v1/balance/info")
    assert_openai_error(response, raw, 401, "missing_api_key")
    new_wallet().receive(token)  # never taken


def test_child_keys_spend_the_parent_balance(gateway: NginxServer, make_token: TokenFactory,
                                            gateway_client: Callable[..., Any], new_wallet: Callable[[], Wallet]) -> None:
    _, created = call(gateway, "GET", f"/v1/balance/create?initial_balance_token={q(make_token(50))}")
    parent = created["api_key"]
    response, children = call(gateway, "POST", "/v1/balance/child-key", {"count": 2, "balance_limit": 5000}, headers=bearer(parent))
    assert response.status == 200, children
    assert children["count"] == 2 and len(children["api_keys"]) == 2 and children["cost_msats"] == 0
    child = children["api_keys"][0]
    gateway_client(child).chat.completions.create(**CHAT, max_tokens=20)
    _, child_info = call(gateway, "GET", "/v1/balance/info", headers=bearer(child))
    _, parent_info = call(gateway, "GET", "/v1/balance/info", headers=bearer(parent))
    assert child_info["is_child"] is True and child_info["balance"] == parent_info["balance"] < 50_000
    assert child_info["balance_limit"] == 5000 and child_info["total_spent"] == 50_000 - parent_info["balance"]
    assert len(parent_info["child_keys"]) == 2
    response, raw = raw_request(gateway, "POST", "/v1/balance/child-key", json.dumps({"count": 51}).encode(),
                                {"Content-Type": "application/json", **bearer(parent)})
    assert_openai_error(response, raw, 400, "invalid_request")
    response, refund = call(gateway, "POST", "/v1/balance/refund", headers=bearer(parent))
    assert response.status == 200, refund
    new_wallet().receive(refund["token"])


def test_node_info_and_providers(gateway: NginxServer, mint: MintServer) -> None:
    response, info = call(gateway, "GET", "/v1/info")
    assert response.status == 200
    assert {"name", "description", "version", "npub", "mints", "http_url", "onion_url", "child_key_cost_msats"} <= set(info)
    assert info["mints"] == [mint.url.rstrip("/")]
    response, providers = call(gateway, "GET", "/v1/providers/")
    assert response.status == 200 and providers == {"providers": []}


# --- X-Cashu streams: change SDKs receive ------------------------------------------


def test_sdk_stream_paid_with_x_cashu_gets_change_in_the_header(gateway: NginxServer, make_token: TokenFactory,
                                                                gateway_client: Callable[..., Any],
                                                                new_wallet: Callable[[], Wallet]) -> None:
    token = make_token(64)
    client = gateway_client("unused")
    raw = client.chat.completions.with_raw_response.create(**CHAT, max_tokens=2000, stream=True, extra_headers={"X-Cashu": token})
    upfront = raw.headers["X-Cashu"]  # before any chunk is read
    text = "".join(chunk.choices[0].delta.content or "" for chunk in raw.parse() if chunk.choices)
    assert text and upfront.startswith("cashuB")
    assert cashu_token.mint_of(upfront) == cashu_token.mint_of(token)
    wallet = new_wallet()
    wallet.receive(upfront)
    # The rest of the reservation (the SSE event after [DONE], which SDKs never read) comes
    # from the refund endpoint with the original token.
    response, rest = call(gateway, "POST", "/v1/wallet/refund", headers={"X-Cashu": token})
    assert response.status == 200, rest
    wallet.receive(rest["token"])
    cost_msat = 64_000 - (cashu_token.value(upfront) + cashu_token.value(rest["token"])) * 1000
    # Paid: the charge, plus less than a sat lost to rounding each change down to whole sats.
    assert 1000 <= cost_msat < 1000 + 2000, cost_msat
    assert wallet.balance() == cashu_token.value(upfront) + cashu_token.value(rest["token"])


def test_refund_is_pending_while_the_stream_runs(gateway: NginxServer, make_token: TokenFactory,
                                                 gateway_client: Callable[..., Any], new_wallet: Callable[[], Wallet]) -> None:
    token = make_token(40)
    client = gateway_client("unused")
    raw = client.chat.completions.with_raw_response.create(**CHAT, max_tokens=2000, stream=True,
                                                           extra_headers={"X-Cashu": token, "X-Mock-Chunk-Delay": "0.3"})
    upfront = raw.headers["X-Cashu"]
    response, body = call(gateway, "POST", "/v1/balance/refund", headers={"X-Cashu": token})
    assert response.status == 425 and response.getheader("Retry-After") == "2", body
    assert body["error"]["code"] == "refund_pending"
    chunks = list(raw.parse())
    assert chunks
    response, rest = call(gateway, "POST", "/v1/balance/refund", headers={"X-Cashu": token})
    assert response.status == 200 and int(rest["sats"]) == cashu_token.value(rest["token"]), rest
    wallet = new_wallet()
    wallet.receive(upfront)
    wallet.receive(rest["token"])


def test_stream_the_upstream_refuses_returns_one_token_with_everything(gateway: NginxServer, make_token: TokenFactory,
                                                                      new_wallet: Callable[[], Wallet]) -> None:
    token = make_token(30)
    body = json.dumps({**CHAT, "stream": True, "max_tokens": 2000}).encode()
    response, raw = raw_request(gateway, "POST", "/v1/chat/completions", body,
                                {"Content-Type": "application/json", "X-Cashu": token, "X-Mock-Behavior": "fail-500"})
    assert response.status >= 500, raw
    change = response.getheader("X-Cashu")
    assert change and cashu_token.value(change) == 30  # nothing charged, nothing lost to the upfront part
    new_wallet().receive(change)


# --- self-service for key holders ----------------------------------------------------


def test_holder_sees_usage_rotates_the_key_and_sets_expiry_and_refund_address(
        gateway: NginxServer, make_token: TokenFactory, gateway_client: Callable[..., Any], new_wallet: Callable[[], Wallet]) -> None:
    _, created = call(gateway, "GET", f"/v1/balance/create?initial_balance_token={q(make_token(40))}")
    key = created["api_key"]
    client = gateway_client(key)
    for _ in range(3):
        client.chat.completions.create(**CHAT, max_tokens=20)
    deadline = time.monotonic() + 15  # the request log is written by the housekeeping tick
    while True:
        response, page = call(gateway, "GET", "/v1/balance/usage?limit=2", headers=bearer(key))
        assert response.status == 200, page
        if page["has_more"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(page["data"]) == 2 and page["has_more"] is True, page
    first = page["data"][0]
    assert first["model"] == MODEL and first["prompt_tokens"] and first["completion_tokens"] == 20 and first["cost_msat"] > 0
    assert len(first["request_id"]) >= 8 and first["created_at"] <= time.time()
    _, rest = call(gateway, "GET", f"/v1/balance/usage?limit=2&before={page['next_before']}", headers=bearer(key))
    assert len(rest["data"]) == 1 and rest["has_more"] is False and rest["data"][0]["id"] < page["data"][1]["id"]
    response, raw = raw_request(gateway, "GET", "/v1/balance/usage?limit=0", headers=bearer(key))
    assert_openai_error(response, raw, 400, "invalid_request")

    _, before = call(gateway, "GET", "/v1/balance/info", headers=bearer(key))
    response, rotated = call(gateway, "POST", "/v1/balance/rotate", headers=bearer(key))
    assert response.status == 200 and rotated["api_key"] != key, rotated
    response, raw = raw_request(gateway, "GET", "/v1/balance/info", headers=bearer(key))
    assert_openai_error(response, raw, 401, "invalid_api_key")  # the old key is revoked
    new_key = rotated["api_key"]
    _, after = call(gateway, "GET", "/v1/balance/info", headers=bearer(new_key))
    assert after["balance"] == before["balance"] and after["total_requests"] == 3

    later, sooner = int(time.time()) + 7200, int(time.time()) + 3600
    response, settings = call(gateway, "POST", "/v1/balance/settings", {"validity_date": sooner, "refund_address": "bob@example.com"},
                              headers=bearer(new_key))
    assert response.status == 200 and settings == {"validity_date": sooner, "refund_address": "bob@example.com"}, settings
    _, settings = call(gateway, "POST", "/v1/balance/settings", {"validity_date": later, "refund_address": None}, headers=bearer(new_key))
    assert settings == {"validity_date": sooner, "refund_address": None}  # an expiry only moves earlier
    response, raw = raw_request(gateway, "POST", "/v1/balance/settings", json.dumps({"refund_address": "nope"}).encode(),
                                {"Content-Type": "application/json", **bearer(new_key)})
    assert_openai_error(response, raw, 400, "invalid_request")
    response, refund = call(gateway, "POST", "/v1/balance/refund", headers=bearer(new_key))
    assert response.status == 200, refund
    new_wallet().receive(refund["token"])
