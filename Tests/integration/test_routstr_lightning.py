"""Lightning for people without ecash, as Routstr's clients drive it (RIP-08): a key created or
topped up by paying an invoice (a NUT-04 quote at the trusted mint, FakeWallet backend, which
pays its own invoices), settled by polling, by `recover`, or by the housekeeping sweep when
nobody polls; and a key's balance refunded to its Lightning address (LNURL-pay + NUT-05 melt).
The ledger and the wallet audit hold after each test."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any, Callable, Iterator

import pytest

from gateway_helpers import GATEWAY_CONFIG, assert_openai_error, audit, wallet_audit
from gateway_helpers import json_request as call
from http_client import raw_request
from lnurl_server import LNURLServer
from servers import MintServer, NginxServer, SatmeterServer

pytestmark = [pytest.mark.satmeter, pytest.mark.mint]

BASE = "/v1/balance/lightning"


@pytest.fixture(scope="module")
def satmeter_config(mint: MintServer) -> str:
    return GATEWAY_CONFIG + f"""
cashu:
  mints: ["{mint.url}"]
"""


@pytest.fixture(scope="module")
def payee_mint(start_mint: Callable[..., MintServer]) -> MintServer:
    """Where the holder's invoices come from: another FakeWallet node. (An invoice of the node's
    own FakeWallet mint pays itself after a moment, and a melt to it would find it paid.)"""
    return start_mint("payee-mint")


@pytest.fixture(scope="module")
def lnurl(payee_mint: MintServer) -> Iterator[LNURLServer]:
    with LNURLServer(payee_mint.url, user="holder") as server:
        yield server


@pytest.fixture(autouse=True)
def books_balance_after_each_test(satmeter: SatmeterServer, gateway: NginxServer) -> Iterator[None]:
    yield
    audit(satmeter)
    wallet_audit(satmeter)


def wait_paid(gateway: NginxServer, invoice_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response, status = call(gateway, "GET", f"{BASE}/invoice/{invoice_id}/status")
        assert response.status == 200, status
        if status["status"] == "paid" or time.monotonic() > deadline:
            return status
        time.sleep(0.5)


def balance_of(gateway: NginxServer, key: str) -> int:
    response, info = call(gateway, "GET", "/v1/balance/info", headers={"Authorization": f"Bearer {key}"})
    assert response.status == 200, info
    return info["balance"]


def test_a_key_created_by_paying_an_invoice(gateway: NginxServer, gateway_client: Callable[..., Any]) -> None:
    response, invoice = call(gateway, "POST", f"{BASE}/invoice", {"amount_sats": 100, "purpose": "create"})
    assert response.status == 200, invoice
    assert invoice["bolt11"].startswith("lnbc") and invoice["amount_sats"] == 100 and invoice["expires_at"] > time.time()
    assert len(invoice["payment_hash"] or "") == 64
    status = wait_paid(gateway, invoice["invoice_id"])
    assert status["status"] == "paid" and status["amount_sats"] == 100 and status["paid_at"], status
    key = status["api_key"]
    assert key == invoice["api_key"] and balance_of(gateway, key) == 100_000
    gateway_client(key).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=20)
    assert balance_of(gateway, key) < 100_000
    # Polling again credits nothing more.
    assert wait_paid(gateway, invoice["invoice_id"])["status"] == "paid"
    assert balance_of(gateway, key) < 100_000


def test_a_top_up_by_invoice_recovered_by_its_bolt11(gateway: NginxServer, create_key: Callable[[int], dict[str, Any]]) -> None:
    key = create_key(0)["api_key"]
    response, raw = raw_request(gateway, "POST", f"{BASE}/invoice", json.dumps({"amount_sats": 21, "purpose": "topup"}).encode(),
                                {"Content-Type": "application/json"})
    assert_openai_error(response, raw, 401, "missing_api_key")
    response, invoice = call(gateway, "POST", f"{BASE}/invoice", {"amount_sats": 21, "purpose": "topup"},
                             headers={"Authorization": f"Bearer {key}"})
    assert response.status == 200, invoice and "api_key" not in invoice
    time.sleep(1)
    response, recovered = call(gateway, "POST", f"{BASE}/recover", {"bolt11": invoice["bolt11"]})
    assert response.status == 200, recovered
    if recovered["status"] != "paid":  # FakeWallet may take a moment to see its own payment
        recovered = wait_paid(gateway, invoice["invoice_id"])
    assert recovered["status"] == "paid" and recovered["api_key"] is None
    assert balance_of(gateway, key) == 21_000
    response, raw = raw_request(gateway, "GET", f"{BASE}/invoice/{'0' * 64}/status")
    assert_openai_error(response, raw, 404, "not_found")
    response, raw = raw_request(gateway, "POST", f"{BASE}/invoice", json.dumps({"amount_sats": 0}).encode(),
                                {"Content-Type": "application/json"})
    assert_openai_error(response, raw, 400, "invalid_request")


def test_an_invoice_nobody_polls_is_credited_by_the_sweep(gateway: NginxServer, create_key: Callable[[int], dict[str, Any]]) -> None:
    key = create_key(0)["api_key"]
    response, invoice = call(gateway, "POST", f"{BASE}/invoice", {"amount_sats": 33, "purpose": "topup"},
                             headers={"Authorization": f"Bearer {key}"})
    assert response.status == 200, invoice
    deadline = time.monotonic() + 45  # the sweep runs every 30 s
    while balance_of(gateway, key) == 0 and time.monotonic() < deadline:
        time.sleep(1)
    assert balance_of(gateway, key) == 33_000
    assert wait_paid(gateway, invoice["invoice_id"])["status"] == "paid"


def test_refund_to_the_lightning_address_given_at_create(gateway: NginxServer, lnurl: LNURLServer,
                                                         make_token: Callable[[int], str]) -> None:
    token = make_token(80)
    response, created = call(gateway, "GET", f"/v1/balance/create?initial_balance_token={token}",
                             headers={"Refund-LNURL": lnurl.address})
    assert response.status == 200, created
    quotes_before = len(lnurl.quotes)
    response, refund = call(gateway, "POST", "/v1/balance/refund", headers={"Authorization": f"Bearer {created['api_key']}"})
    assert response.status == 200, refund
    assert refund["recipient"] == lnurl.address and int(refund["sats"]) > 0
    assert len(lnurl.quotes) == quotes_before + 1
    paid = lnurl.quotes[-1]
    assert paid["msat"] == int(refund["sats"]) * 1000
    # What the payment did not use of the fee reserve came back to the key.
    assert refund["balance"] == 80_000 - (int(refund["sats"]) + refund["fee_sats"]) * 1000


def test_withdraw_to_an_invoice_and_to_an_address(gateway: NginxServer, lnurl: LNURLServer, payee_mint: MintServer,
                                                   make_token: Callable[[int], str]) -> None:
    _, created = call(gateway, "GET", f"/v1/balance/create?initial_balance_token={make_token(200)}")
    key = {"Authorization": f"Bearer {created['api_key']}"}
    request = urllib.request.Request(f"{payee_mint.url.rstrip('/')}/v1/mint/quote/bolt11", method="POST",
                                     data=json.dumps({"amount": 50, "unit": "sat"}).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        quote = json.loads(answer.read())
    response, paid = call(gateway, "POST", f"{BASE}/withdraw", {"invoice": quote["request"]}, headers=key)
    assert response.status == 200, paid
    assert paid["amount_sats"] == 50 and paid["balance"] == 200_000 - (50 + paid["fee_sats"]) * 1000
    assert lnurl.quote_state(quote["quote"]) in ("PAID", "ISSUED")
    response, paid2 = call(gateway, "POST", f"{BASE}/withdraw", {"address": lnurl.address, "amount_sats": 60}, headers=key)
    assert response.status == 200, paid2
    assert 0 < paid2["amount_sats"] and paid2["amount_sats"] + paid2["fee_sats"] <= 60
    assert paid2["balance"] == paid["balance"] - (paid2["amount_sats"] + paid2["fee_sats"]) * 1000
    response, raw = raw_request(gateway, "POST", f"{BASE}/withdraw", json.dumps({"invoice": quote["request"]}).encode(),
                                {"Content-Type": "application/json"})
    assert_openai_error(response, raw, 401, "missing_api_key")
    response, raw = raw_request(gateway, "POST", f"{BASE}/withdraw", json.dumps({"address": lnurl.address, "amount_sats": 10_000}).encode(),
                                {"Content-Type": "application/json", **key})
    assert_openai_error(response, raw, 402, "insufficient_balance")
