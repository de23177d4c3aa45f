"""The admin JSON API through nginx (shipped snippets) → satmeter: authentication on every route,
wrong passwords, lockout, CSRF, cookies; and what the operator does with it (keys, child keys,
limits, models, expiry, prices, reports), checked against the paid gateway itself."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from admin_client import ADMIN_PASSWORD, AdminClient, AdminGateway, start_admin_gateway
from gateway_helpers import audit, balance
from http_client import post_json, raw_request
from mock_upstream import MockUpstream

pytestmark = pytest.mark.satmeter

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello there"}], "max_tokens": 20}


@pytest.fixture(scope="module")
def admin_gateway(satmeter_bin: Path, mock_upstream: MockUpstream, nginx_available: None,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminGateway]:
    gateway = start_admin_gateway(satmeter_bin, mock_upstream, tmp_path_factory.mktemp("admin"))
    yield gateway
    gateway.stop()


@pytest.fixture
def admin(admin_gateway: AdminGateway) -> AdminClient:
    client = AdminClient(admin_gateway.nginx)
    assert client.login().status == 200
    return client


def chat(gateway: AdminGateway, key: str, body: dict[str, Any] = CHAT) -> tuple[int, dict[str, Any]]:
    reply = post_json(gateway.nginx, "/v1/chat/completions", body, api_key=key)
    return reply.status, reply.json


PROTECTED = [("GET", "keys"), ("POST", "keys"), ("GET", "keys/1"), ("PATCH", "keys/1"), ("POST", "keys/1/children"),
             ("POST", "keys/1/withdraw"), ("GET", "pricing"), ("PUT", "pricing"), ("GET", "models"),
             ("POST", "models/price"), ("GET", "reports/margin"), ("GET", "requests"), ("POST", "logout")]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_admin_route_needs_a_session(admin_gateway: AdminGateway, method: str, path: str) -> None:
    response = AdminClient(admin_gateway.nginx).call(method, path, {} if method != "GET" else None)
    assert response.status == 401, response.body
    assert response.json["error"]["code"] == "unauthorized"
    # A forged cookie is no session either.
    forged = AdminClient(admin_gateway.nginx, {"satmeter_admin": "0" * 64, "satmeter_csrf": "x"})
    assert forged.call(method, path, {} if method != "GET" else None).status == 401


def test_session_says_whether_logged_in(admin_gateway: AdminGateway) -> None:
    client = AdminClient(admin_gateway.nginx)
    assert client.call("GET", "session").json == {"authenticated": False, "password_set": True}
    assert client.login().status == 200
    session = client.call("GET", "session").json
    assert session["authenticated"] is True and session["csrf_token"] == client.cookies["satmeter_csrf"]


def test_wrong_password_gets_401_and_no_cookie(admin_gateway: AdminGateway) -> None:
    client = AdminClient(admin_gateway.nginx)
    response = client.login("not the password")
    assert response.status == 401 and response.json["error"]["code"] == "unauthorized"
    assert response.all("Set-Cookie") == [] and client.cookies == {}
    assert client.call("GET", "keys").status == 401


def test_login_cookies_are_httponly_secure_strict(admin_gateway: AdminGateway) -> None:
    response = AdminClient(admin_gateway.nginx).login()
    assert response.status == 200
    cookies = {c.split("=", 1)[0]: c for c in response.all("Set-Cookie")}
    session = cookies["satmeter_admin"]
    assert "HttpOnly" in session and "Secure" in session and "SameSite=Strict" in session and "Path=/admin/api/" in session
    csrf = cookies["satmeter_csrf"]
    assert "Secure" in csrf and "SameSite=Strict" in csrf and "HttpOnly" not in csrf  # the page's script reads it
    assert response.json["csrf_token"] == csrf.split("=", 1)[1].split(";")[0]
    assert response.header("Cache-Control") == "no-store"
    assert response.header("X-Frame-Options") == "DENY"


def test_writes_need_the_csrf_token(admin: AdminClient) -> None:
    key = admin.ok("POST", "keys", {"balance_msat": 1000, "label": "csrf"})
    path = f"keys/{key['id']}"
    without = admin.call("PATCH", path, {"label": "x"}, csrf=False)
    assert without.status == 403 and without.json["error"]["code"] == "forbidden"
    wrong = admin.raw("PATCH", "/admin/api/" + path, b'{"label":"x"}', {"Content-Type": "application/json", "X-CSRF-Token": "0" * 64})
    assert wrong.status == 403
    # The header alone is not enough: the cookie must match too (double submit).
    token = admin.cookies.pop("satmeter_csrf")
    header_only = admin.raw("PATCH", "/admin/api/" + path, b'{"label":"x"}', {"Content-Type": "application/json", "X-CSRF-Token": token})
    assert header_only.status == 403
    admin.cookies["satmeter_csrf"] = token
    cross_site = admin.raw("PATCH", "/admin/api/" + path, b'{"label":"x"}',
                           {"Content-Type": "application/json", "X-CSRF-Token": token, "Sec-Fetch-Site": "cross-site"})
    assert cross_site.status == 403
    form = admin.raw("PATCH", "/admin/api/" + path, b"label=x", {"Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": token})
    assert form.status == 400
    assert admin.ok("PATCH", path, {"label": "renamed"})["label"] == "renamed"


def test_logout_ends_the_session(admin_gateway: AdminGateway) -> None:
    client = AdminClient(admin_gateway.nginx)
    client.login()
    stolen = dict(client.cookies)
    assert client.ok("POST", "logout")["ok"] is True
    assert client.cookies == {}
    assert AdminClient(admin_gateway.nginx, stolen).call("GET", "keys").status == 401


def test_lockout_after_repeated_failures(satmeter_bin: Path, mock_upstream: MockUpstream, nginx_available: None,
                                         tmp_path: Path) -> None:
    gateway = start_admin_gateway(satmeter_bin, mock_upstream, tmp_path / "lockout",
                                  extra_admin_config="  max_login_failures: 3\n  lockout_seconds: 10\n")
    try:
        client = AdminClient(gateway.nginx)
        for _ in range(3):
            assert client.login("wrong password!").status == 401
        locked = client.login()  # even the right password waits now
        assert locked.status == 429 and locked.json["error"]["code"] == "rate_limited"
        assert 1 <= int(locked.header("Retry-After")) <= 10
        time.sleep(int(locked.header("Retry-After")) + 0.5)
        assert client.login().status == 200
        log = gateway.satmeter.stderr()
        assert "admin login failed from 127.0.0.1" in log
        assert ADMIN_PASSWORD not in log and "wrong password!" not in log
        assert client.cookies["satmeter_admin"] not in log and client.cookies["satmeter_csrf"] not in log
    finally:
        gateway.stop()


def test_keys_search_and_settings_take_effect_on_the_gateway(admin_gateway: AdminGateway, admin: AdminClient) -> None:
    created = admin.ok("POST", "keys", {"balance_msat": 500_000, "label": "Searchable Alice",
                                        "allowed_models": ["gpt-4o*"], "spend_limit_msat": 2_500})
    key, key_id = created["api_key"], created["id"]
    found = admin.ok("GET", "keys?q=searchable%20alice")
    assert found["total"] == 1 and found["keys"][0]["id"] == key_id and "api_key" not in found["keys"][0]
    assert admin.ok("GET", "keys?q=nobody-has-this")["total"] == 0

    status, _ = chat(admin_gateway, key)
    assert status == 200
    status, body = chat(admin_gateway, key, {**CHAT, "model": "text-embedding-3-small"})
    assert status == 403 and body["error"]["code"] == "model_not_allowed"
    status, body = chat(admin_gateway, key)  # 1000 spent + a 1000+ hold would pass 2500
    assert status == 200
    status, body = chat(admin_gateway, key)
    assert status == 403 and body["error"]["code"] == "spending_limit_reached"

    updated = admin.ok("PATCH", f"keys/{key_id}", {"spend_limit_msat": None, "allowed_models": None,
                                                   "refund_address": "alice@example.com", "expires_at": int(time.time()) - 1})
    assert updated["spend_limit_msat"] is None and updated["refund_address"] == "alice@example.com" and updated["expired"]
    status, body = chat(admin_gateway, key)
    assert status == 401 and body["error"]["code"] == "key_expired"
    # An expired key pays for nothing more, but its holder still sees what is left to withdraw.
    response, raw = raw_request(admin_gateway.nginx, "GET", "/v1/wallet/balance", headers={"Authorization": f"Bearer {key}"})
    assert response.status == 200 and json.loads(raw)["balance"] > 0
    admin.ok("PATCH", f"keys/{key_id}", {"expires_at": None, "disabled": True})
    assert chat(admin_gateway, key)[1]["error"]["code"] == "key_disabled"
    bad = admin.call("PATCH", f"keys/{key_id}", {"refund_address": "not an address"})
    assert bad.status == 400 and "Lightning address" in bad.json["error"]["message"]
    assert admin.call("GET", "keys/999999").status == 404


def test_child_keys_spend_the_parents_balance(admin_gateway: AdminGateway, admin: AdminClient) -> None:
    parent = admin.ok("POST", "keys", {"balance_msat": 100_000, "label": "family"})
    child = admin.ok("POST", f"keys/{parent['id']}/children", {"label": "kid", "spend_limit_msat": 1_500})
    assert child["parent_id"] == parent["id"] and child["balance_msat"] == 0
    status, _ = chat(admin_gateway, child["api_key"])
    assert status == 200
    # The child sees the balance it spends: its parent's.
    shared = balance(admin_gateway.nginx, child["api_key"])
    assert shared["balance"] == 100_000 - 1_000 and shared["shared_with_parent"] is True and shared["total_spent"] == 1_000
    detail = admin.ok("GET", f"keys/{parent['id']}")
    assert detail["balance_msat"] == 100_000 - 1_000 and [c["id"] for c in detail["children"]] == [child["id"]]
    assert detail["children"][0]["total_spent_msat"] == 1_000
    status, body = chat(admin_gateway, child["api_key"])
    assert status == 403 and body["error"]["code"] == "spending_limit_reached"
    # The parent itself is not bound by its child's limit.
    assert chat(admin_gateway, parent["api_key"])[0] == 200
    assert balance(admin_gateway.nginx, parent["api_key"])["balance"] == 98_000
    nested = admin.call("POST", f"keys/{child['id']}/children", {})
    assert nested.status == 400
    withdraw = admin.call("POST", f"keys/{child['id']}/withdraw", {"all": True})
    assert withdraw.status in (400, 503)
    audit(admin_gateway.satmeter)


def test_pricing_settings_and_a_model_price_reach_the_running_gateway(admin_gateway: AdminGateway, admin: AdminClient) -> None:
    settings = admin.ok("GET", "pricing")
    assert settings["min_charge_msat"] == 1000 and settings["exchange_fee"] == "1"
    changed = admin.ok("PUT", "pricing", {"min_charge_msat": 1500, "upstream_fee": "1.2"})
    assert changed["min_charge_msat"] == 1500 and {c["name"] for c in changed["changed"]} == {"min_charge_msat", "upstream_fee"}
    refused = admin.call("PUT", "pricing", {"exchange_fee": "0.5"})
    assert refused.status == 400 and "exchange_fee" in refused.json["error"]["message"]

    key = admin.ok("POST", "keys", {"balance_msat": 100_000})["api_key"]
    deadline = time.monotonic() + 10
    while True:  # workers install the new settings at their next tick
        response, _ = raw_request(admin_gateway.nginx, "POST", "/v1/chat/completions", json.dumps(CHAT).encode(),
                                  {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        if response.getheader("X-Satmeter-Cost-Msat") == "1500" or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert response.getheader("X-Satmeter-Cost-Msat") == "1500"

    models = admin.ok("GET", "models")["models"]
    mini = next(m for m in models if m["id"] == "gpt-4o-mini")
    assert mini["pricing_source"] == "override"
    result = admin.ok("POST", "models/price", {"model": "gpt-4o-mini", "currency": "usd", "prompt": "1.1", "completion": "4"})
    assert result["applied"] == 2 and len(result["refused"]) == 1 and "+15%" in result["refused"][0]
    assert result["price"] == "$1.10/$2.30 per 1M"
    bad = admin.call("POST", "models/price", {"model": "gpt-4o-mini", "prompt": "cheap", "completion": "1"})
    assert bad.status == 400
    admin.ok("PUT", "pricing", {"min_charge_msat": 1000, "upstream_fee": "1"})


def test_reports_and_the_request_log(admin_gateway: AdminGateway, admin: AdminClient) -> None:
    key = admin.ok("POST", "keys", {"balance_msat": 100_000, "label": "reports"})
    assert chat(admin_gateway, key["api_key"])[0] == 200
    assert chat(admin_gateway, key["api_key"], {**CHAT, "model": "no-such-model"})[0] == 400
    deadline = time.monotonic() + 10  # the request log is written behind, about once a second
    while not {"gpt-4o-mini", "no-such-model"} <= {r["model"] for r in admin.ok("GET", "requests?limit=20")["requests"]
                                                     if r["key_id"] in (key["id"], None)}:
        assert time.monotonic() < deadline, "the request log did not get the records"
        time.sleep(0.2)
    margin = admin.ok("GET", "reports/margin?days=1")
    by_model = {row[0]: row for row in margin["tables"][0]["rows"]}
    assert by_model["gpt-4o-mini"][1] >= 1 and by_model["gpt-4o-mini"][2] >= 1000
    pricing = admin.ok("GET", "reports/pricing?days=1")["tables"][0]
    assert pricing["columns"][:3] == ["bucket", "requests", "unknown_model"] and sum(r[2] for r in pricing["rows"]) >= 1
    for name in ["summary", "conversion", "settlement", "revenue", "wallet"]:
        assert admin.ok("GET", f"reports/{name}?days=30")["tables"], name
    assert admin.call("GET", "reports/nonsense").status == 404
    records = admin.ok("GET", "requests?limit=5")["requests"]
    assert records[0]["request_id"] and all("api_key" not in r for r in records)
    assert any(r["key_id"] == key["id"] for r in records)
    # The JSON-lines copy has the same records, keys by id only.
    lines = [json.loads(line) for line in admin_gateway.jsonl.read_text().splitlines()]
    assert any(r["key_id"] == key["id"] and r["payment_settled"] for r in lines)
    assert key["api_key"] not in admin_gateway.jsonl.read_text()
    # The CLI prints the same reports.
    assert "gpt-4o-mini" in admin_gateway.cli("report", "margin", "--days", "1").stdout


def test_cli_parity_for_key_actions(admin_gateway: AdminGateway, admin: AdminClient) -> None:
    parent = admin.ok("POST", "keys", {"balance_msat": 10_000})
    cli = admin_gateway.cli
    cli("keys", "set-limit", str(parent["id"]), "--msat", "7000")
    cli("keys", "set-models", str(parent["id"]), "gpt-4o-mini")
    cli("keys", "set-expiry", str(parent["id"]), "--in-days", "3")
    cli("keys", "set-refund-address", str(parent["id"]), "bob@example.org")
    child = json.loads(cli("keys", "create-child", str(parent["id"]), "--limit-msat", "100", "--json").stdout)
    shown = admin.ok("GET", f"keys/{parent['id']}")
    assert shown["spend_limit_msat"] == 7000 and shown["allowed_models"] == ["gpt-4o-mini"]
    assert shown["refund_address"] == "bob@example.org" and shown["expires_at"] > time.time() + 2 * 86400
    assert shown["children"][0]["id"] == child["id"]
    assert cli("pricing", "settings").returncode == 0
    for command in [["keys", "withdraw"], ["keys", "set-expiry"], ["admin", "set-password"], ["report"], ["pricing", "set-model"]]:
        assert "USAGE" in cli(*command, "--help", check=False).stdout.upper()


def test_set_password_from_stdin_ends_sessions(admin_gateway: AdminGateway, admin: AdminClient) -> None:
    short = admin_gateway.cli("admin", "set-password", stdin="short\n", check=False)
    assert short.returncode != 0 and "at least 10" in short.stderr
    admin_gateway.cli("admin", "set-password", stdin="a brand new password\n")
    assert admin.call("GET", "keys").status == 401
    assert AdminClient(admin_gateway.nginx).login().status == 401
    assert AdminClient(admin_gateway.nginx).login("a brand new password").status == 200
    admin_gateway.cli("admin", "set-password", stdin=ADMIN_PASSWORD + "\n")


def test_failed_admin_logins_are_counted_in_metrics(admin_gateway: AdminGateway) -> None:
    AdminClient(admin_gateway.nginx).login("nope nope nope")
    response, body = raw_request(admin_gateway.nginx, "GET", "/metrics")
    assert response.status == 200
    assert 'satmeter_requests_total{route="admin",status="401",code="unauthorized"}' in body.decode()


@pytest.mark.mint
def test_withdraw_a_keys_balance_as_a_redeemable_token(satmeter_bin: Path, mock_upstream: MockUpstream, nginx_available: None,
                                                        mint: Any, make_token: Any, new_wallet: Any, tmp_path: Path) -> None:
    gateway = start_admin_gateway(satmeter_bin, mock_upstream, tmp_path / "withdraw", extra_env={"SATMETER_CASHU_MINTS": mint.url})
    try:
        # Ecash reaches the node wallet when a client pays with a token used as its key.
        status, _ = chat(gateway, make_token(200))
        assert status == 200
        admin = AdminClient(gateway.nginx)
        admin.login()
        tokens = admin.ok("GET", "keys?kind=token")["keys"]
        assert len(tokens) == 1 and tokens[0]["balance_msat"] == 199_000
        # Granted credit is withdrawable only where the operator allows it (issue 10.8).
        refused = admin.call("POST", f"keys/{admin.ok('POST', 'keys', {'balance_msat': 1_000})['id']}/withdraw", {"amount_sat": 1})
        assert refused.status in (402, 403), refused.body
        key = admin.ok("POST", "keys", {"balance_msat": 60_000, "label": "to withdraw", "withdrawable_grant": True})
        sent = admin.ok("POST", f"keys/{key['id']}/withdraw", {"amount_sat": 25})
        assert sent["token"].startswith("cashuB") and sent["amount_sat"] == 25 and sent["balance_msat"] == 35_000 - 1000 * sent["fee_sat"]
        wallet = new_wallet()
        wallet.receive(sent["token"])
        assert wallet.balance() == 25
        # The rest, by the CLI; a token account's balance comes back from its own mint.
        rest = json.loads(gateway.cli("keys", "withdraw", str(key["id"]), "--all", "--json").stdout)
        assert rest["amount_sat"] + rest["fee_sat"] == 35 - sent["fee_sat"]
        # Granted credit has no ecash behind it: the wallet now holds 60 sat less than is owed.
        wallet_report = admin.ok("GET", "reports/wallet?days=1")["tables"][0]["rows"]
        assert [r for r in wallet_report if r[0] == "surplus (wallet − owed)"][0][1] < 0
        part = admin.ok("POST", f"keys/{tokens[0]['id']}/withdraw", {"amount_sat": 100})
        assert part["mint"] == mint.url and part["balance_msat"] == 99_000 - 1000 * part["fee_sat"]
        empty = admin.call("POST", f"keys/{key['id']}/withdraw", {"all": True})
        assert empty.status == 400 and "Nothing to withdraw" in empty.json["error"]["message"]
        audit(gateway.satmeter)
        assert sent["token"] not in gateway.satmeter.stderr()
    finally:
        gateway.stop()


def test_rate_limits_are_set_and_changed_from_the_admin_api(admin_gateway: AdminGateway, admin: AdminClient) -> None:
    created = admin.ok("POST", "keys", {"balance_msat": 100_000, "requests_per_minute": 1, "concurrent_streams": 3})
    assert (created["requests_per_minute"], created["tokens_per_minute"], created["concurrent_streams"]) == (1, None, 3)
    assert chat(admin_gateway, created["api_key"])[0] == 200
    status, body = chat(admin_gateway, created["api_key"])
    assert status == 429 and body["error"]["code"] == "rate_limit_exceeded" and body["error"]["type"] == "requests"
    # Only the fields sent change; null clears one.
    updated = admin.ok("PATCH", f"keys/{created['id']}", {"requests_per_minute": None, "tokens_per_minute": 100_000})
    assert (updated["requests_per_minute"], updated["tokens_per_minute"], updated["concurrent_streams"]) == (None, 100_000, 3)
    assert chat(admin_gateway, created["api_key"])[0] == 200
    for bad in [{"requests_per_minute": 0}, {"tokens_per_minute": -1}, {"concurrent_streams": "many"}, {"concurrent_streams": 10**30}]:
        refused = admin.call("PATCH", f"keys/{created['id']}", bad)
        assert refused.status == 400, (bad, refused.body)
    assert admin.ok("GET", f"keys/{created['id']}")["tokens_per_minute"] == 100_000
    audit(admin_gateway.satmeter)
