"""Issue 10, as a hostile client would try it, through real nginx and a real Nutshell mint:
numbers that would trap a worker (1), duplicate JSON keys (4), change paid straight back in (7),
forged tokens that must leave nothing behind and rate-limited wallet endpoints (9), and the
smaller holes of 11 (nginx's own refusals, a disabled token account, total-only usage, upstream
error bodies naming the operator's account). `ledger audit` and `wallet audit` hold after each."""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import cashu_token
from gateway_helpers import GATEWAY_CONFIG, assert_openai_error, audit, balance, wallet_audit
from http_client import raw_request
from servers import MintServer, NginxServer, SatmeterServer

pytestmark = [pytest.mark.satmeter, pytest.mark.mint]

CHAT = {"model": "gpt-4o-mini", "max_tokens": 20, "messages": [{"role": "user", "content": "hello there"}]}
# A valid compressed point (the secp256k1 generator): well-formed, but no mint signed it.
SOME_POINT = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"


@pytest.fixture(scope="module")
def satmeter_config(mint: MintServer) -> str:
    return GATEWAY_CONFIG + f"""
cashu:
  mints: ["{mint.url}"]
  mint_timeout_seconds: 5
"""


@pytest.fixture(autouse=True)
def books_hold_after_each_test(satmeter: SatmeterServer, gateway: NginxServer) -> Iterator[None]:
    yield
    audit(satmeter)
    wallet_audit(satmeter)


def keyset_id(mint: MintServer) -> str:
    with urllib.request.urlopen(f"{mint.url}/v1/keysets", timeout=10) as reply:
        keysets = json.loads(reply.read())["keysets"]
    return next(k["id"] for k in keysets if k["active"] and k["unit"] == "sat")


def forged_token(mint_url: str, amounts: list[int], keyset: str, dleq: dict[str, str] | None = None) -> str:
    """A well-formed cashuA token on a trusted mint's real keyset that no mint ever signed."""
    proofs = [{"amount": a, "id": keyset, "secret": secrets.token_hex(32), "C": SOME_POINT, **({"dleq": dleq} if dleq else {})}
              for a in amounts]
    body = {"token": [{"mint": mint_url, "proofs": proofs}], "unit": "sat"}
    return "cashuA" + base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


def post(gateway: NginxServer, path: str, body: Any, headers: dict[str, str] | None = None) -> tuple[Any, bytes]:
    return raw_request(gateway, "POST", path, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})})


def rows(satmeter: SatmeterServer, table: str) -> int:
    with sqlite3.connect(f"file:{satmeter.state_dir / 'satmeter.db'}?mode=ro", uri=True) as db:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def workers_of(pid: int) -> list[int]:
    return [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]


def send_raw(gateway: NginxServer, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


# --- 1. No request crashes a worker ---------------------------------------------------------

HUGE_CASES = {
    "one proof of 2^63 as bearer on balance": ("GET", "/v1/wallet/balance", [2**63], "bearer"),
    "one proof of 2^63 to create": ("POST", "/v1/wallet/create", [2**63], "body"),
    "one proof of 2^63 to topup": ("POST", "/v1/wallet/topup", [2**63], "body+key"),
    "2^62 + 2^62 + 2 to create": ("POST", "/v1/wallet/create", [2**62, 2**62, 2], "body"),
    "2^62 + 2^62 + 2 to topup": ("POST", "/v1/wallet/topup", [2**62, 2**62, 2], "body+key"),
    "2^62 + 2^62 + 2 as X-Cashu": ("POST", "/v1/chat/completions", [2**62, 2**62, 2], "x-cashu"),
    "2^62 + 2^62 + 2 as refund body": ("POST", "/v1/wallet/refund", [2**62, 2**62, 2], "body"),
}


@pytest.mark.parametrize("case", HUGE_CASES, ids=list(HUGE_CASES))
def test_amounts_past_int64_are_a_400_not_a_dead_worker(case: str, gateway: NginxServer, satmeter: SatmeterServer,
                                                        mint: MintServer, create_key: Callable[[int], dict[str, Any]]) -> None:
    method, path, amounts, where = HUGE_CASES[case]
    token = forged_token(mint.url, amounts, keyset_id(mint))
    workers_before = workers_of(satmeter.proc.pid)
    accounts_before = rows(satmeter, "accounts")
    headers: dict[str, str] = {}
    body: Any = None
    if where == "bearer":
        headers["Authorization"] = f"Bearer {token}"
    elif where == "x-cashu":
        headers["X-Cashu"] = token
        body = CHAT
    else:
        body = {"cashu_token": token}
        if where == "body+key":
            headers["Authorization"] = f"Bearer {create_key(1000)['api_key']}"
            accounts_before += 1
    if method == "GET":
        response, raw = raw_request(gateway, method, path, headers=headers)
    else:
        response, raw = post(gateway, path, body, headers)
    error = assert_openai_error(response, raw, 400, "invalid_cashu_token")
    assert "sats" in error["message"], error
    # The same worker answers the next request: nothing died and nothing was restarted.
    assert raw_request(gateway, "GET", "/v1/models")[0].status == 200
    assert workers_of(satmeter.proc.pid) == workers_before
    assert rows(satmeter, "accounts") == accounts_before


def test_a_killed_worker_is_replaced_at_once(start_satmeter: Callable[[], SatmeterServer],
                                            start_nginx: Callable[[Path], NginxServer]) -> None:
    server = start_satmeter()
    nginx = start_nginx(server.socket_path)
    assert raw_request(nginx, "GET", "/v1/models")[0].status == 200
    (worker,) = workers_of(server.proc.pid)  # one worker, supervised by default
    supervisor_kb = private_kb(server.proc.pid)
    worker_kb = private_kb(worker)
    os.kill(worker, signal.SIGKILL)
    started = time.monotonic()
    while True:
        response, _ = raw_request(nginx, "GET", "/v1/models")
        if response.status == 200:
            break
        assert time.monotonic() - started < 3, "no worker answered within 3 s of the kill"
        time.sleep(0.05)
    took = time.monotonic() - started
    (replacement,) = workers_of(server.proc.pid)
    assert replacement != worker
    print(f"replacement answered after {took:.2f} s; private memory: supervisor {supervisor_kb} kB, idle worker {worker_kb} kB")
    assert supervisor_kb < 8 * 1024, (supervisor_kb, worker_kb)  # the second process costs a few MB, not a worker
    audit(server)


def private_kb(pid: int) -> int:
    """Memory only this process uses (its shared library pages are the worker's too)."""
    fields = {line.split(":")[0]: int(line.split()[1]) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]}
    return fields["Private_Clean"] + fields["Private_Dirty"]


# --- 4. Duplicate JSON keys -----------------------------------------------------------------

DUPLICATES = {
    "stream_options twice": (b'{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},'
                             b'"stream_options":{"include_usage":false},"messages":[{"role":"user","content":"hi"}]}', "stream_options"),
    "max_tokens twice": (b'{"model":"gpt-4o-mini","max_tokens":1,"max_tokens":100000,"messages":[{"role":"user","content":"hi"}]}',
                         "max_tokens"),
    "content twice in a message": (b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi","content":"' + b"long " * 50
                                   + b'"}]}', "content"),
    "deep inside a tool schema": (b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function",'
                                  b'"function":{"name":"f","parameters":{"type":"object","type":"string"}}}]}', "type"),
}


@pytest.mark.parametrize("case", DUPLICATES, ids=list(DUPLICATES))
def test_duplicate_keys_at_any_depth_get_400_naming_the_key(case: str, gateway: NginxServer, mock: Any,
                                                           create_key: Callable[[int], dict[str, Any]]) -> None:
    body, key_name = DUPLICATES[case]
    key = create_key(1_000_000)["api_key"]
    response, raw = raw_request(gateway, "POST", "/v1/chat/completions", body,
                                {"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    error = assert_openai_error(response, raw, 400, "duplicate_key")
    assert error["param"] == key_name and error["type"] == "invalid_request_error", error
    assert balance(gateway, key)["balance"] == 1_000_000
    assert mock.requests() == []


# --- 7. Change is money ---------------------------------------------------------------------

def test_x_cashu_change_pays_again_ten_times_then_the_wallet_takes_it(gateway: NginxServer, make_token: Callable[[int], str],
                                                                      new_wallet: Callable[[], Any]) -> None:
    token = make_token(100)
    values = [cashu_token.value(token)]
    for round_ in range(10):
        response, raw = post(gateway, "/v1/chat/completions", CHAT, {"X-Cashu": token})
        assert response.status == 200, (round_, raw)
        token = response.getheader("X-Cashu")
        assert token and token.startswith("cashuB"), (round_, response.header_list)
        values.append(cashu_token.value(token))
    assert all(later < earlier for earlier, later in zip(values, values[1:])), values
    new_wallet().receive(token)


def test_withdrawn_and_refunded_tokens_pay_back_in(gateway: NginxServer, make_token: Callable[[int], str],
                                                  new_wallet: Callable[[], Any]) -> None:
    response, raw = post(gateway, "/v1/wallet/create", {"cashu_token": make_token(64)})
    assert response.status == 200, raw
    key = json.loads(raw)["api_key"]
    auth = {"Authorization": f"Bearer {key}"}
    response, raw = post(gateway, "/v1/wallet/withdraw", {"amount": 16}, auth)
    assert response.status == 200, raw
    withdrawn = json.loads(raw)["token"]
    response, raw = post(gateway, "/v1/wallet/topup", {"cashu_token": withdrawn}, auth)
    assert response.status == 200, raw
    assert json.loads(raw)["msats"] == 16_000
    response, raw = post(gateway, "/v1/wallet/refund", {}, auth)
    assert response.status == 200, raw
    refunded = json.loads(raw)["token"]
    response, raw = post(gateway, "/v1/wallet/create", {"cashu_token": refunded})
    assert response.status == 200, raw
    second = json.loads(raw)["api_key"]
    response, raw = post(gateway, "/v1/wallet/refund", {}, {"Authorization": f"Bearer {second}"})
    assert response.status == 200, raw
    new_wallet().receive(json.loads(raw)["token"])


# --- 9. Unauthenticated requests write nothing ----------------------------------------------

def test_a_forged_token_leaves_no_account_key_or_operation(gateway: NginxServer, satmeter: SatmeterServer, mint: MintServer) -> None:
    keyset = keyset_id(mint)
    before = {table: rows(satmeter, table) for table in ("accounts", "mint_operations", "ledger")}
    forged = forged_token(mint.url, [8, 2], keyset)
    response, raw = post(gateway, "/v1/chat/completions", CHAT, {"Authorization": f"Bearer {forged}"})
    assert response.status in (400, 422), raw
    response, raw = post(gateway, "/v1/chat/completions", CHAT, {"X-Cashu": forged_token(mint.url, [16], keyset)})
    assert response.status in (400, 422), raw
    response, raw = post(gateway, "/v1/wallet/create", {"cashu_token": forged_token(mint.url, [4], keyset)})
    assert response.status in (400, 422), raw
    assert "api_key" not in json.loads(raw)
    # Plainly not money: refused before anything is written or the mint is asked to swap.
    for amounts, dleq in (([3], None), ([8], {"e": "00" * 32, "s": "11" * 32, "r": "22" * 32})):
        response, raw = post(gateway, "/v1/wallet/create", {"cashu_token": forged_token(mint.url, amounts, keyset, dleq)})
        assert_openai_error(response, raw, 400, "invalid_cashu_token")
    assert {table: rows(satmeter, table) for table in before} == before
    # Nothing answers for the forged bearer token afterwards.
    response, raw = raw_request(gateway, "GET", "/v1/wallet/balance", headers={"Authorization": f"Bearer {forged}"})
    assert response.status == 404, raw


def test_wallet_endpoints_are_rate_limited_per_address(satmeter: SatmeterServer, start_nginx: Callable[[Path], NginxServer]) -> None:
    nginx = start_nginx(satmeter.socket_path)  # its own limit zone: the module's gateway stays unthrottled
    with ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(lambda _: raw_request(nginx, "GET", "/v1/wallet/balance"), range(250)))
    limited = [(r, b) for r, b in replies if r.status == 429]
    assert limited and len(limited) < 250, [r.status for r, _ in replies]
    assert_openai_error(*limited[0], 429, "rate_limited")
    assert raw_request(nginx, "GET", "/v1/models")[0].status == 200  # the API itself is not limited


# --- 11. Smaller holes ----------------------------------------------------------------------

NGINX_REFUSALS = {
    "duplicate Authorization": (b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n", 400),
    "header too large": (b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n", 400),
    "odd Transfer-Encoding": (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    "body too large": (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", 413),
    "request line too long": (b"GET /v1/models?" + b"q" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "TRACE": (b"TRACE /v1/models HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    "a URI above the root": (b"GET /v1/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 400),
}


@pytest.mark.parametrize("case", NGINX_REFUSALS, ids=list(NGINX_REFUSALS))
def test_nginx_refusals_are_openai_shaped_json(case: str, gateway: NginxServer) -> None:
    request, status = NGINX_REFUSALS[case]
    reply = send_raw(gateway, request)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status}".encode()), head
    assert b"Content-Type: application/json" in head, head
    error = json.loads(body)["error"]
    assert {"type", "message", "param", "code"} <= set(error), error


def test_a_disabled_token_account_cannot_cash_out(gateway: NginxServer, satmeter: SatmeterServer,
                                                 make_token: Callable[[int], str]) -> None:
    token = make_token(40)
    response, raw = post(gateway, "/v1/chat/completions", CHAT, {"Authorization": f"Bearer {token}"})
    assert response.status == 200, raw
    with sqlite3.connect(f"file:{satmeter.state_dir / 'satmeter.db'}?mode=ro", uri=True) as db:
        (account_id,) = db.execute("SELECT id FROM accounts WHERE kind = 'token' ORDER BY id DESC LIMIT 1").fetchone()
    satmeter.cli.run("keys", "disable", str(account_id))
    for path, body in (("/v1/wallet/refund", {}), ("/v1/wallet/withdraw", {"amount": 5})):
        response, raw = post(gateway, path, body, {"Authorization": f"Bearer {token}"})
        assert_openai_error(response, raw, 401, "key_disabled")
    response, raw = post(gateway, "/v1/wallet/refund", {}, {"X-Cashu": token})
    assert_openai_error(response, raw, 401, "key_disabled")


def test_usage_with_only_a_total_is_charged_for_the_completion(gateway: NginxServer, create_key: Callable[[int], dict[str, Any]]) -> None:
    key = create_key(1_000_000)["api_key"]
    # Prompt 2 words, 20 completion tokens: 2 × 1 + 20 × 2 msat, under the 1000 msat minimum; ask for more.
    headers = {"Authorization": f"Bearer {key}", "X-Mock-Behavior": "total-usage-only", "X-Mock-Completion-Tokens": "900"}
    response, raw = post(gateway, "/v1/chat/completions", {**CHAT, "max_tokens": 1000}, headers)
    assert response.status == 200, raw
    assert json.loads(raw)["usage"] == {"prompt_tokens": 2, "total_tokens": 902}
    assert response.getheader("X-Satmeter-Completion-Tokens") == "900"
    assert response.getheader("X-Satmeter-Cost-Msat") == str(2 * 1 + 900 * 2)


def test_upstream_error_bodies_do_not_name_the_operators_account(gateway: NginxServer,
                                                                create_key: Callable[[int], dict[str, Any]]) -> None:
    key = create_key(1_000_000)["api_key"]
    for stream in (False, True):
        response, raw = post(gateway, "/v1/chat/completions", {**CHAT, "stream": stream},
                             {"Authorization": f"Bearer {key}", "X-Mock-Behavior": "fail-429-leaky"})
        error = assert_openai_error(response, raw, 429, "rate_limit_exceeded")
        text = json.dumps(error)
        for secret in ("sk-proj", "Ab12", "wxYZ", "org-", "Q7mX2bN9pL4kT1vR", "proj_", "8hJk3LmN0pQr"):
            assert secret not in text, (secret, text)
        assert error["message"].startswith("Rate limit reached for gpt-4o-mini in organization "), error
    assert balance(gateway, key)["balance"] == 1_000_000
