"""Automatic payouts of the operator's earnings to a Lightning address: LNURL-pay against a local
LNURL server, NUT-05 melt at the FakeWallet mint, users' balances untouched, books still whole."""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Iterator

import pytest

from gateway_helpers import GATEWAY_CONFIG, audit, balance, wallet_audit
from http_client import raw_request
from lnurl_server import LNURLServer
from servers import MintServer, NginxServer, SatmeterServer

pytestmark = [pytest.mark.satmeter, pytest.mark.mint]


@pytest.fixture(scope="module")
def invoice_mint(start_mint: Callable[..., MintServer]) -> MintServer:
    """Where the payee's invoices come from: another FakeWallet node, so the melt is a real
    outgoing Lightning payment for the node's mint (FakeWallet "pays" it)."""
    return start_mint("payee-mint")


@pytest.fixture(scope="module")
def lnurl(invoice_mint: MintServer) -> Iterator[LNURLServer]:
    with LNURLServer(invoice_mint.url) as server:
        yield server


@pytest.fixture(scope="module")
def satmeter_config(mint: MintServer, lnurl: LNURLServer) -> str:
    return GATEWAY_CONFIG + f"""
cashu:
  mints: ["{mint.url}"]
  receive_ln_address: "{lnurl.address}"
  payout_threshold_sat: 10
  payout_interval_seconds: 10
"""


def test_earnings_above_the_threshold_are_paid_out_and_users_keep_their_balance(
        gateway: NginxServer, satmeter: SatmeterServer, make_token: Callable[[int], str], lnurl: LNURLServer) -> None:
    response, body = raw_request(gateway, "POST", "/v1/wallet/create", json.dumps({"cashu_token": make_token(500)}).encode())
    assert response.status == 200, body
    key = json.loads(body)["api_key"]
    request = json.dumps({"model": "gpt-4o-mini", "max_tokens": 20000,
                          "messages": [{"role": "user", "content": "write a long story"}]}).encode()
    for _ in range(3):  # 15,000 completion tokens at 2 msat each: 30 sat earned per request
        response, _ = raw_request(gateway, "POST", "/v1/chat/completions", request,
                                  {"Authorization": f"Bearer {key}", "X-Mock-Completion-Tokens": "15000"})
        assert response.status == 200
    owed_before = balance(gateway, key)["balance"]
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and not lnurl.quotes:
        time.sleep(1)
    assert lnurl.quotes, "no payout within 40 s"
    paid = lnurl.quotes[0]
    assert 10_000 <= paid["msat"] <= 90_000
    report: dict[str, Any] = {}
    while time.monotonic() < deadline:
        report = wallet_audit(satmeter, require_consistent=False)
        if report["paid_out_msat"] >= paid["msat"] and report["pending_operations"] == 0:
            break
        time.sleep(1)
    report = wallet_audit(satmeter)
    assert report["paid_out_msat"] >= paid["msat"], report
    # The users' money did not move; what left is at most what was earned.
    assert balance(gateway, key)["balance"] == owed_before
    assert report["paid_out_msat"] <= report["earned_msat"]
    audit(satmeter)


def test_an_expired_key_is_refunded_to_its_refund_address_given_as_an_lnurl(
        gateway: NginxServer, satmeter: SatmeterServer, make_token: Callable[[int], str], lnurl: LNURLServer) -> None:
    response, body = raw_request(gateway, "POST", "/v1/wallet/create", json.dumps({"cashu_token": make_token(120)}).encode())
    assert response.status == 200, body
    created = json.loads(body)
    key_id = str(balance_id(satmeter, created["api_key"]))
    quotes_before = len(lnurl.quotes)
    # lnurl1… here; the operator's payouts above use the name@host form of the same endpoint.
    satmeter.cli.run("keys", "set-refund-address", key_id, lnurl.lnurl)
    satmeter.cli.run("keys", "set-expiry", key_id, "--at", str(int(time.time()) - 1))
    deadline = time.monotonic() + 50  # the sweep runs every 30 s
    while time.monotonic() < deadline and len(lnurl.quotes) == quotes_before:
        time.sleep(1)
    assert len(lnurl.quotes) > quotes_before, "no refund within 50 s"
    refunded = lnurl.quotes[-1]
    assert 100_000 <= refunded["msat"] <= 120_000
    deadline = time.monotonic() + 60  # a payment the mint reports PENDING is finished by the next sweep
    while time.monotonic() < deadline and wallet_audit(satmeter, require_consistent=False)["pending_operations"] > 0:
        time.sleep(1)
    left = balance(gateway, created["api_key"])
    # What stays is the unused part of the fees: at most a few sats.
    assert left["balance"] <= 120_000 - refunded["msat"] and left["reserved"] == 0
    audit(satmeter)
    wallet_audit(satmeter)


def balance_id(satmeter: SatmeterServer, api_key: str) -> int:
    return satmeter.cli.json("keys", "show", api_key)["id"]
