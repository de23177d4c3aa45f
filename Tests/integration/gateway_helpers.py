"""Shared helpers for tests that drive the real gateway (nginx → satmeter → mock upstream).

Prices in the test configuration (GATEWAY_CONFIG) are chosen so costs are easy to predict:
at 100,000 USD/BTC, $1 per 1M tokens is exactly 1 msat per token.
"""

from __future__ import annotations

import json
import time
from typing import Any

from http_client import Reply, request
from servers import NginxServer, SatmeterServer

PROMPT_MSAT_PER_TOKEN = 1
COMPLETION_MSAT_PER_TOKEN = 2
MIN_REQUEST_MSAT = 1000

# The pricing section the tests run with: every factor 1, so cost = tokens × msat rate.
GATEWAY_CONFIG = """
upstream:
  forward_headers: ["x-mock-*"]   # the tests steer the mock upstream through satmeter
pricing:
  btc_price: {usd_per_btc: 100000}
  exchange_fee: 1
  upstream_fee: 1
  min_charge_msat: 1000
  overrides:
    gpt-4o-mini: {prompt_usd_per_1m: "1", completion_usd_per_1m: "2"}
    text-embedding-3-small: {prompt_usd_per_1m: "1", completion_usd_per_1m: "0"}
    gpt-3.5-turbo-instruct: {prompt_usd_per_1m: "1", completion_usd_per_1m: "2"}
"""


# The main gateway tests' prices: 100 / 200 msat a token, so their charges sit far above the
# minimum and a pricing mistake changes the number (at the minimum every mistake is hidden).
PRICED_PROMPT_MSAT_PER_TOKEN = 100
PRICED_COMPLETION_MSAT_PER_TOKEN = 200
PRICED_GATEWAY_CONFIG = """
upstream:
  forward_headers: ["x-mock-*"]
pricing:
  btc_price: {usd_per_btc: 100000}
  exchange_fee: 1
  upstream_fee: 1
  min_charge_msat: 1000
  overrides:
    gpt-4o-mini: {prompt_usd_per_1m: "100", completion_usd_per_1m: "200"}
    text-embedding-3-small: {prompt_usd_per_1m: "100", completion_usd_per_1m: "0"}
    gpt-3.5-turbo-instruct: {prompt_usd_per_1m: "100", completion_usd_per_1m: "200"}
    flat-1sat: {sats_per_request: 1}
"""


def expected_cost(prompt_tokens: int, completion_tokens: int) -> int:
    """What the gateway must charge, in msat, for this usage under GATEWAY_CONFIG."""
    return max(MIN_REQUEST_MSAT, prompt_tokens * PROMPT_MSAT_PER_TOKEN + completion_tokens * COMPLETION_MSAT_PER_TOKEN)


def json_request(server: NginxServer, method: str, path: str, body: Any = None,
                 headers: dict[str, str] | None = None) -> tuple[Reply, dict[str, Any]]:
    """One request with an optional JSON body; the answer parsed ({} when empty)."""
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json", **(headers or {})} if data is not None else dict(headers or {})
    reply = request(server, method, path, data, all_headers)
    return reply, json.loads(reply.body) if reply.body else {}


def priced_cost(prompt_tokens: int, completion_tokens: int) -> int:
    """The same under PRICED_GATEWAY_CONFIG; the tests that use it stay above the minimum."""
    cost = prompt_tokens * PRICED_PROMPT_MSAT_PER_TOKEN + completion_tokens * PRICED_COMPLETION_MSAT_PER_TOKEN
    assert cost > MIN_REQUEST_MSAT, "a priced test must not land on the minimum charge"
    return cost


def balance(server: NginxServer, api_key: str) -> dict[str, Any]:
    # /v1/wallet is rate limited per address (10 r/s, bursts of 100: satmeter-locations.conf); a
    # suite that reads the balance around every request can outrun it once the gateway is fast.
    for _ in range(30):
        reply = request(server, "GET", "/v1/wallet/balance", headers={"Authorization": f"Bearer {api_key}"})
        if reply.status != 429:
            break
        time.sleep(0.2)
    assert reply.status == 200, reply.body
    return reply.json


def audit(satmeter: SatmeterServer) -> dict[str, Any]:
    """`satmeter ledger audit`: the books re-derived from the ledger rows, consistent, nothing held."""
    return satmeter.cli.ledger_audit()


def wallet_audit(satmeter: SatmeterServer, require_consistent: bool = True) -> dict[str, Any]:
    """`satmeter wallet audit`: every unspent proof confirmed at its mint (NUT-07), and the
    ecash equal to owed + earned − granted − paid out."""
    return satmeter.cli.wallet_audit(require_consistent)


def assert_openai_error(response: Reply, body: bytes, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, body
    assert response.getheader("Content-Type") == "application/json"
    error = json.loads(body)["error"]
    assert {"type", "message", "code"} <= set(error), error
    assert error["code"] == code, error
    return error
