"""Hostile clients of the Routstr-compatible endpoints (`/v1/balance/*`, `/v1/wallet/*`, `/v1/info`)
and of the provider endpoints (Responses, images, audio, moderations, Anthropic messages), through
real nginx with a real Nutshell mint: huge numbers, duplicate keys, missing fields, wrong types,
someone else's key or token, replayed tokens, refunds twice and at once, clients that never read
their answer or trickle their body. Every answer is an OpenAI-shaped error with the right status
(never a 5xx), the worker that answers is the one that answered before (nothing crashed), and
`ledger audit` + `wallet audit` hold after each scenario. Every token handed out is redeemed with
Nutshell's wallet; every token refused is redeemed too (it stayed the client's)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator

import pytest

import cashu_token
from cashu_wallet import TokenFactory, Wallet
from gateway_helpers import GATEWAY_CONFIG, audit, wallet_audit
from gateway_helpers import json_request as call
from http_client import Reply, raw_request
from mock_upstream import MockUpstream
from servers import MintServer, NginxServer, SatmeterServer

pytestmark = [pytest.mark.satmeter, pytest.mark.mint]

CHAT = {"model": "gpt-4o-mini", "max_tokens": 20, "messages": [{"role": "user", "content": "hello there"}]}


@pytest.fixture(scope="module")
def satmeter_config(mint: MintServer, mock_upstream: MockUpstream) -> str:
    # One provider (the session mock) that also speaks Anthropic's messages, and a price for every
    # provider endpoint, so each is reached and priced rather than refused as unknown.
    config = GATEWAY_CONFIG.replace("pricing:", f"""providers:
  - name: main
    base_url: {mock_upstream.base_url}
    api_key_env: SATMETER_UPSTREAM_API_KEY
    messages_api: true
cashu:
  mints: ["{mint.url}"]
pricing:""", 1)
    return config + """routes:
  "POST /v1/images/generations":
    models:
      dall-e-3: {usd_per_image: "0.04"}
  "POST /v1/audio/speech":
    models:
      tts-1: {prompt_usd_per_1m: "1000"}
  "POST /v1/audio/transcriptions":
    models:
      whisper-1: {usd_per_second: "0.006"}
  "POST /v1/moderations":
    type: flat
    price: {sats_per_request: 2}
"""


@pytest.fixture(scope="module")
def worker(satmeter: SatmeterServer, gateway: NginxServer) -> list[int]:
    """The worker process of the module's satmeter, as it was at the start."""
    assert raw_request(gateway, "GET", "/v1/models")[0].status == 200
    return workers_of(satmeter.proc.pid)


@pytest.fixture(autouse=True)
def same_worker_and_books_hold(satmeter: SatmeterServer, gateway: NginxServer, worker: list[int]) -> Iterator[None]:
    yield
    assert raw_request(gateway, "GET", "/v1/models")[0].status == 200
    assert workers_of(satmeter.proc.pid) == worker, "a worker died and was replaced"
    audit(satmeter)
    wallet_audit(satmeter)


def workers_of(pid: int) -> list[int]:
    return [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]


def q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def send(gateway: NginxServer, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[Any, bytes]:
    all_headers = {"Content-Type": "application/json", **headers} if body is not None else headers
    return raw_request(gateway, method, path, body, all_headers)


def openai_error(response: Reply, raw: bytes) -> dict[str, Any]:
    """The error of an answer that must be one: a 4xx, JSON, in OpenAI's shape."""
    assert 400 <= response.status < 500, (response.status, raw[:300])
    assert response.getheader("Content-Type") == "application/json", response.header_list
    error = json.loads(raw)["error"]
    assert {"type", "message", "param", "code"} <= set(error), error
    return error


def refused(gateway: NginxServer, method: str, path: str, body: bytes | None, headers: dict[str, str],
            status: int, code: str | None = None) -> dict[str, Any]:
    response, raw = send(gateway, method, path, body, headers)
    assert response.status == status, (method, path, body[:200] if body else None, response.status, raw[:300])
    error = openai_error(response, raw)
    assert code is None or error["code"] == code, error
    return error


# --- bad bodies on the Routstr endpoints ------------------------------------------------------

TOKEN = "@TOKEN@"  # replaced by a real, unspent token: each case must leave it unspent


def create_with(field: str) -> bytes:
    """A create body with the token and one more field, as JSON text."""
    return b'{"initial_balance_token":"@TOKEN@",' + field.encode() + b"}"


BAD_ROUTSTR = {
    # create
    "create: the token twice": ("POST", "/v1/balance/create", create_with('"initial_balance_token":"@TOKEN@"'), None, 400, "duplicate_key"),
    "create: no token": ("POST", "/v1/balance/create", b'{"balance_limit":5}', None, 400, "invalid_request"),
    "create: the token a number": ("POST", "/v1/balance/create", b'{"initial_balance_token":18446744073709551617}', None, 400, None),
    "create: the token a list": ("POST", "/v1/balance/create", b'{"initial_balance_token":["@TOKEN@"]}', None, 400, "invalid_request"),
    "create: the token null": ("POST", "/v1/balance/create", b'{"initial_balance_token":null}', None, 400, "invalid_request"),
    "create: a limit of 2^63": ("POST", "/v1/balance/create", create_with('"balance_limit":9223372036854775808'), None, 400, "invalid_request"),
    "create: a limit of 1e400": ("POST", "/v1/balance/create", create_with('"balance_limit":1e400'), None, 400, "invalid_request"),
    "create: a negative limit": ("POST", "/v1/balance/create", create_with('"balance_limit":-1'), None, 400, "invalid_request"),
    "create: a limit true": ("POST", "/v1/balance/create", create_with('"balance_limit":true'), None, 400, "invalid_request"),
    "create: a limit as an object": ("POST", "/v1/balance/create", create_with('"balance_limit":{"a":1}'), None, 400, "invalid_request"),
    "create: validity 1e30": ("POST", "/v1/balance/create", create_with('"validity_date":1e30'), None, 400, "invalid_request"),
    "create: validity in the query past int64": ("GET", "/v1/balance/create?initial_balance_token=@QTOKEN@&validity_date=99999999999999999999999",
                                                 None, None, 400, "invalid_request"),
    "create: expiry header past int64": ("GET", "/v1/balance/create?initial_balance_token=@QTOKEN@", None,
                                         {"Refund-LNURL": "a@example.com", "Key-Expiry-Time": "9" * 40}, 400, "invalid_request"),
    "create: a JSON list": ("POST", "/v1/balance/create", b'["@TOKEN@"]', None, 400, "invalid_json"),
    "create: not JSON": ("POST", "/v1/balance/create", b'{"initial_balance_token": "@TOKEN@"', None, 400, "invalid_json"),
    # topup (with a key)
    "topup: the token twice": ("POST", "/v1/balance/topup", b'{"cashu_token":"@TOKEN@","cashu_token":"x"}', "key", 400, "duplicate_key"),
    "topup: no token": ("POST", "/v1/balance/topup", b'{}', "key", 400, "invalid_request"),
    "topup: the token an object": ("POST", "/v1/balance/topup", b'{"cashu_token":{"token":"@TOKEN@"}}', "key", 400, "invalid_request"),
    "topup: no key": ("POST", "/v1/balance/topup", b'{"cashu_token":"@TOKEN@"}', None, 401, "missing_api_key"),
    "topup: someone's made-up key": ("POST", "/v1/balance/topup", b'{"cashu_token":"@TOKEN@"}', "made-up", 401, "invalid_api_key"),
    # child keys (with a key)
    "child-key: count 2^63": ("POST", "/v1/balance/child-key", b'{"count":9223372036854775808}', "key", 400, "invalid_request"),
    "child-key: count 1e308": ("POST", "/v1/balance/child-key", b'{"count":1e308}', "key", 400, "invalid_request"),
    "child-key: count as text": ("POST", "/v1/balance/child-key", b'{"count":"5"}', "key", 400, "invalid_request"),
    "child-key: count 0": ("POST", "/v1/balance/child-key", b'{"count":0}', "key", 400, "invalid_request"),
    "child-key: count missing": ("POST", "/v1/balance/child-key", b'{}', "key", 400, "invalid_request"),
    "child-key: count twice": ("POST", "/v1/balance/child-key", b'{"count":1,"count":50}', "key", 400, "duplicate_key"),
    "child-key: a limit of 2^64": ("POST", "/v1/balance/child-key", b'{"count":1,"balance_limit":18446744073709551616}', "key",
                                   400, "invalid_request"),
    "child-key: a limit as a list": ("POST", "/v1/balance/child-key", b'{"count":1,"balance_limit":[1]}', "key", 400, "invalid_request"),
    # refund and info
    "refund: the token twice in the body": ("POST", "/v1/wallet/refund", b'{"cashu_token":"@TOKEN@","cashu_token":"@TOKEN@"}', None,
                                            400, "duplicate_key"),
    "refund: a token never used here": ("POST", "/v1/balance/refund", None, "x-cashu", 404, "not_found"),
    "info: a token never used here": ("GET", "/v1/balance/info", None, "x-cashu", 404, "not_found"),
    "refund: someone's made-up key": ("POST", "/v1/balance/refund", None, "made-up", 401, "invalid_api_key"),
    "info: a mangled token as the key": ("GET", "/v1/balance/info", None, "mangled-bearer", 400, "invalid_cashu_token"),
    "refund: wrong method": ("GET", "/v1/balance/refund", None, "key", 405, "method_not_allowed"),
}


def test_bad_requests_to_the_routstr_endpoints_take_nothing(gateway: NginxServer, satmeter: SatmeterServer, make_token: TokenFactory,
                                                            new_wallet: Callable[[], Wallet]) -> None:
    token = make_token(21)
    key = satmeter.create_key(50_000)["api_key"]
    auth = {
        None: {}, "key": bearer(key), "made-up": bearer("sk-" + "0" * 64), "x-cashu": {"X-Cashu": token},
        "mangled-bearer": bearer(token[:-12]),
    }
    for case, (method, path, body, who, status, code) in BAD_ROUTSTR.items():
        path = path.replace("@QTOKEN@", q(token))
        data = body.replace(b"@TOKEN@", token.encode()) if body is not None else None
        headers = who if isinstance(who, dict) else auth[who]
        try:
            refused(gateway, method, path, data, headers, status, code)
        except AssertionError as failure:
            raise AssertionError(f"{case}: {failure}") from None
    # Nothing was credited, and the token is still the client's.
    _, info = call(gateway, "GET", "/v1/balance/info", headers=bearer(key))
    assert info["balance"] == 50_000 and info["total_deposited"] == 50_000 and "child_keys" not in info, info
    new_wallet().receive(token)


# --- someone else's key or token ------------------------------------------------------------


def test_a_token_is_credited_once_whatever_door_it_comes_through(gateway: NginxServer, satmeter: SatmeterServer,
                                                                make_token: TokenFactory) -> None:
    token = make_token(30)
    response, created = call(gateway, "GET", f"/v1/balance/create?initial_balance_token={q(token)}")
    assert response.status == 200 and created["balance"] == 30_000, created
    other = satmeter.create_key(0)["api_key"]
    spent = "cashu_token_already_spent"
    refused(gateway, "GET", f"/v1/balance/create?initial_balance_token={q(token)}", None, {}, 400, spent)
    refused(gateway, "POST", "/v1/balance/create", json.dumps({"initial_balance_token": token}).encode(), {}, 400, spent)
    refused(gateway, "POST", f"/v1/balance/topup?cashu_token={q(token)}", None, bearer(other), 400, spent)
    refused(gateway, "POST", "/v1/wallet/topup", json.dumps({"cashu_token": token}).encode(), bearer(other), 400, spent)
    refused(gateway, "POST", "/v1/chat/completions", json.dumps(CHAT).encode(), {"X-Cashu": token}, 400, spent)
    refused(gateway, "POST", "/v1/chat/completions", json.dumps(CHAT).encode(), bearer(token), 400, spent)
    refused(gateway, "GET", "/v1/balance/info", None, bearer(token), 400, spent)
    # Another holder's key reads nothing of it, and cannot refund it.
    _, theirs = call(gateway, "GET", "/v1/balance/info", headers=bearer(other))
    assert theirs["balance"] == 0 and theirs["total_deposited"] == 0
    refused(gateway, "POST", "/v1/balance/refund", None, bearer(other), 404, "not_found")
    _, mine = call(gateway, "GET", "/v1/balance/info", headers=bearer(created["api_key"]))
    assert mine["balance"] == 30_000 and mine["total_deposited"] == 30_000


def test_a_child_key_cannot_take_its_parents_balance(gateway: NginxServer, make_token: TokenFactory,
                                                    new_wallet: Callable[[], Wallet]) -> None:
    _, created = call(gateway, "GET", f"/v1/balance/create?initial_balance_token={q(make_token(40))}")
    parent = created["api_key"]
    response, children = call(gateway, "POST", "/v1/balance/child-key", {"count": 1}, headers=bearer(parent))
    assert response.status == 200, children
    child = children["api_keys"][0]
    for path, body in (("/v1/balance/refund", None), ("/v1/wallet/refund", None), ("/v1/wallet/withdraw", {"amount": 10})):
        response, raw = send(gateway, "POST", path, json.dumps(body).encode() if body else None, bearer(child))
        openai_error(response, raw)
    _, info = call(gateway, "GET", "/v1/balance/info", headers=bearer(parent))
    assert info["balance"] == 40_000 and info["total_withdrawn"] == 0, info
    response, refund = call(gateway, "POST", "/v1/balance/refund", headers=bearer(parent))
    assert response.status == 200 and cashu_token.value(refund["token"]) == 40, refund
    new_wallet().receive(refund["token"])


# --- refunds: twice, at once, and answers nobody read -------------------------------------------


def test_concurrent_refunds_of_one_key_pay_once(gateway: NginxServer, make_token: TokenFactory,
                                               new_wallet: Callable[[], Wallet]) -> None:
    _, created = call(gateway, "GET", f"/v1/balance/create?initial_balance_token={q(make_token(64))}")
    key = created["api_key"]
    paths = ["/v1/balance/refund", "/v1/wallet/refund"] * 6
    with ThreadPoolExecutor(len(paths)) as pool:
        replies = list(pool.map(lambda path: send(gateway, "POST", path, None, bearer(key)), paths))
    tokens: set[str] = set()
    for response, raw in replies:
        assert response.status < 500, (response.status, raw)
        if response.status == 200:
            tokens.add(json.loads(raw)["token"])
        else:
            openai_error(response, raw)
    # One token went out, for the whole balance; whoever asked got that one or an error.
    assert len(tokens) == 1, tokens
    (token,) = tokens
    assert cashu_token.value(token) == 64
    _, info = call(gateway, "GET", "/v1/balance/info", headers=bearer(key))
    assert info["balance"] == 0 and info["total_withdrawn"] == 64_000, info
    # Twice more in a row: the same token again, nothing more paid.
    for path in ("/v1/balance/refund", "/v1/wallet/refund"):
        response, again = call(gateway, "POST", path, headers=bearer(key))
        assert response.status == 200 and again["token"] == token, again
    new_wallet().receive(token)


def test_concurrent_refunds_of_an_x_cashu_payment_pay_its_change_once(gateway: NginxServer, make_token: TokenFactory,
                                                                     new_wallet: Callable[[], Wallet]) -> None:
    token = make_token(40)
    response, raw = send(gateway, "POST", "/v1/chat/completions", json.dumps(CHAT).encode(), {"X-Cashu": token})
    assert response.status == 200, raw
    change = response.getheader("X-Cashu")
    assert change and change.startswith("cashuB")
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: send(gateway, "POST", "/v1/balance/refund", None, {"X-Cashu": token}), range(8)))
    # The change went out with the answer: a refund replays that same token, never a second one.
    for response, raw in replies:
        assert response.status == 200 and json.loads(raw)["token"] == change, (response.status, raw)
    new_wallet().receive(change)


def test_a_refund_answer_nobody_read_is_given_again(gateway: NginxServer, make_token: TokenFactory,
                                                   new_wallet: Callable[[], Wallet]) -> None:
    _, created = call(gateway, "GET", f"/v1/balance/create?initial_balance_token={q(make_token(33))}")
    key = created["api_key"]
    request = (f"POST /v1/balance/refund HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
               "Content-Length: 0\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(request)
        # Hang up without reading, once the node has paid out (the balance is gone).
        deadline = time.monotonic() + 10
        while call(gateway, "GET", "/v1/balance/info", headers=bearer(key))[1]["balance"] != 0:
            assert time.monotonic() < deadline, "the refund never happened"
            time.sleep(0.1)
    response, again = call(gateway, "POST", "/v1/balance/refund", headers=bearer(key))
    assert response.status == 200 and again["replayed"] is True and cashu_token.value(again["token"]) == 33, again
    new_wallet().receive(again["token"])


def test_clients_that_trickle_their_body_hold_no_worker(gateway: NginxServer, satmeter: SatmeterServer) -> None:
    key = satmeter.create_key(10_000)["api_key"]
    slow: list[socket.socket] = []
    try:
        for _ in range(8):
            sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=10)
            sock.sendall(f"POST /v1/balance/topup HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
                         "Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n{\"cashu_token\": \"".encode())
            slow.append(sock)
        started = time.monotonic()
        for _ in range(5):
            response, info = call(gateway, "GET", "/v1/balance/info", headers=bearer(key))
            assert response.status == 200 and info["balance"] == 10_000
        assert time.monotonic() - started < 5
    finally:
        for sock in slow:
            sock.close()


# --- the provider endpoints ----------------------------------------------------------------

BAD_PROVIDER = {
    "responses: model twice": ("/v1/responses", b'{"model":"gpt-4o-mini","model":"dall-e-3","input":"hi"}', 400, "duplicate_key"),
    "responses: max_output_tokens 2^64": ("/v1/responses", b'{"model":"gpt-4o-mini","input":"hi","max_output_tokens":18446744073709551616}',
                                          400, None),
    "responses: max_output_tokens 1e400": ("/v1/responses", b'{"model":"gpt-4o-mini","input":"hi","max_output_tokens":1e400}', 400, None),
    "responses: max_output_tokens as text": ("/v1/responses", b'{"model":"gpt-4o-mini","input":"hi","max_output_tokens":"lots"}', 400, None),
    "responses: no model": ("/v1/responses", b'{"input":"hi"}', 400, None),
    "responses: model a number": ("/v1/responses", b'{"model":4,"input":"hi"}', 400, None),
    "images: n 2^63": ("/v1/images/generations", b'{"model":"dall-e-3","prompt":"a cat","n":9223372036854775808}', 400, None),
    "images: n 1e400": ("/v1/images/generations", b'{"model":"dall-e-3","prompt":"a cat","n":1e400}', 400, None),
    "images: n negative": ("/v1/images/generations", b'{"model":"dall-e-3","prompt":"a cat","n":-3}', 400, None),
    "images: n as text": ("/v1/images/generations", b'{"model":"dall-e-3","prompt":"a cat","n":"2"}', 400, None),
    "images: n twice": ("/v1/images/generations", b'{"model":"dall-e-3","prompt":"a cat","n":1,"n":10}', 400, "duplicate_key"),
    "speech: input a number": ("/v1/audio/speech", b'{"model":"tts-1","voice":"alloy","input":1e400}', 400, None),
    "speech: input missing": ("/v1/audio/speech", b'{"model":"tts-1","voice":"alloy"}', 400, None),
    "speech: input twice": ("/v1/audio/speech", b'{"model":"tts-1","voice":"alloy","input":"a","input":"' + b"b" * 5000 + b'"}',
                            400, "duplicate_key"),
    "moderations: input twice": ("/v1/moderations", b'{"model":"omni-moderation-latest","input":"a","input":"b"}', 400, "duplicate_key"),
    "messages: max_tokens 2^63": ("/v1/messages", b'{"model":"gpt-4o-mini","max_tokens":9223372036854775808,'
                                  b'"messages":[{"role":"user","content":"hi"}]}', 400, None),
    "messages: max_tokens as text": ("/v1/messages", b'{"model":"gpt-4o-mini","max_tokens":"x","messages":[{"role":"user","content":"hi"}]}',
                                     400, None),
    "messages: messages an object": ("/v1/messages", b'{"model":"gpt-4o-mini","max_tokens":5,"messages":{"role":"user"}}', 400, None),
    "transcriptions: not multipart": ("/v1/audio/transcriptions", b'{"model":"whisper-1","file":"x"}', 400, None),
}


@pytest.mark.parametrize("case", BAD_PROVIDER, ids=list(BAD_PROVIDER))
def test_bad_bodies_to_provider_endpoints_are_4xx_and_free(case: str, gateway: NginxServer, satmeter: SatmeterServer) -> None:
    path, body, status, code = BAD_PROVIDER[case]
    key = satmeter.create_key(1_000_000)["api_key"]
    error = refused(gateway, "POST", path, body, bearer(key), status, code)
    assert error["type"] == "invalid_request_error", error
    _, info = call(gateway, "GET", "/v1/balance/info", headers=bearer(key))
    assert info["balance"] == 1_000_000 and info["total_spent"] == 0 and info["reserved"] == 0, info


def test_provider_endpoints_refuse_someone_elses_token_and_replays(gateway: NginxServer, make_token: TokenFactory,
                                                                  new_wallet: Callable[[], Wallet]) -> None:
    token = make_token(30)
    body = json.dumps({"model": "omni-moderation-latest", "input": "hello"}).encode()
    response, raw = send(gateway, "POST", "/v1/moderations", body, {"X-Cashu": token})
    assert response.status == 200, raw
    change = response.getheader("X-Cashu")
    assert change and cashu_token.value(change) == 28  # 2 sats, the change in whole sats
    for path, data in (("/v1/moderations", body), ("/v1/responses", json.dumps({"model": "gpt-4o-mini", "input": "hi"}).encode())):
        refused(gateway, "POST", path, data, {"X-Cashu": token}, 400, "cashu_token_already_spent")
    # A response object is fetched with a key; without one, or with a made-up one, nothing is asked upstream.
    refused(gateway, "GET", "/v1/responses/resp_123", None, {}, 401, "missing_api_key")
    refused(gateway, "GET", "/v1/responses/resp_123", None, bearer("sk-" + "1" * 64), 401, "invalid_api_key")
    refused(gateway, "DELETE", "/v1/responses/resp_123", None, {"X-Cashu": change}, 401, "missing_api_key")
    new_wallet().receive(change)
