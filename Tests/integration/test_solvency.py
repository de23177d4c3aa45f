"""Issue 10, point 8: only ecash-backed value leaves the node, against a real Nutshell mint.

Credit the operator grants (`keys create --balance-msat`) pays for requests but cannot be taken
out as ecash unless the operator allowed it for that key (`--withdrawable-grant`), and
`satmeter wallet audit` fails when the wallet holds less than depositors could withdraw."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cashu_wallet import TokenFactory
from gateway_helpers import GATEWAY_CONFIG, audit, balance, wallet_audit
from http_client import raw_request
from servers import MintServer, NginxServer, SatmeterServer

pytestmark = [pytest.mark.satmeter, pytest.mark.mint]


@pytest.fixture(scope="module")
def satmeter_config(mint: MintServer) -> str:
    return GATEWAY_CONFIG + f'\ncashu:\n  mints: ["{mint.url}"]\n'


def post(gateway: NginxServer, path: str, body: Any, key: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    response, raw = raw_request(gateway, "POST", path, json.dumps(body).encode(), headers)
    return response.status, json.loads(raw) if raw else {}


def test_granted_credit_pays_for_requests_but_is_not_withdrawn_from_depositors_ecash(
        gateway: NginxServer, satmeter: SatmeterServer, make_token: TokenFactory, create_key) -> None:
    # A depositor's 100 sats are the node's only ecash.
    status, created = post(gateway, "/v1/wallet/create", {"cashu_token": make_token(100)})
    assert status == 200, created
    granted = create_key(50_000)["api_key"]

    status, answer = post(gateway, "/v1/chat/completions",
                          {"model": "gpt-4o-mini", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}, granted)
    assert status == 200, answer
    status, error = post(gateway, "/v1/wallet/withdraw", {"amount": 10}, granted)
    assert status == 403, error
    assert "cannot be withdrawn" in error["error"]["message"]
    status, error = post(gateway, "/v1/wallet/refund", {}, granted)
    assert status in (400, 404), error
    assert balance(gateway, granted)["total_withdrawn"] == 0

    # The depositor still gets every sat of theirs out.
    status, sent = post(gateway, "/v1/wallet/withdraw", {"amount": 100}, created["api_key"])
    assert status == 200, sent
    audit(satmeter)
    report = wallet_audit(satmeter)
    assert report["solvent"] is True


def test_wallet_audit_fails_when_withdrawable_credit_is_not_backed(gateway: NginxServer, satmeter: SatmeterServer,
                                                                    make_token: TokenFactory) -> None:
    status, created = post(gateway, "/v1/wallet/create", {"cashu_token": make_token(20)})
    assert status == 200, created
    assert wallet_audit(satmeter)["solvent"] is True
    # The operator lets a key withdraw 30 sats of granted credit the wallet does not hold.
    made = satmeter.cli.json("keys", "create", "--balance-msat", "30000", "--withdrawable-grant", "--json")
    assert made["withdrawable_grant"] is True
    result = satmeter.cli.run("wallet", "audit", check=False)
    report = json.loads(result.stdout)
    assert result.returncode != 0 and report["solvent"] is False and report["consistent"] is False, report
    assert report["withdrawable_msat"] > report["wallet_unspent_msat"]
    audit(satmeter)
