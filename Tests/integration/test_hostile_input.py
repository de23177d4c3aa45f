"""Hostile input through the real path: raw bytes → nginx (shipped snippets) → satmeter.

Every answer must be a 4xx, never a 5xx or a crash: satmeter's own answers carry OpenAI's error
shape (error.type/message/code); nginx answers only what it refuses itself (broken HTTP, paths
outside its locations) or its JSON 413. After every test satmeter is still alive and serving, and
`satmeter ledger audit` finds the books consistent with nothing left reserved.

Ecash is on (a mint that nobody listens on, 127.0.0.1:9), so the token parsers run; every token
here is refused before any mint call.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from conftest import UPSTREAM_KEY
from gateway_helpers import GATEWAY_CONFIG, audit, balance
from http_client import Reply, post_json, raw_http, send_raw
from servers import NginxServer, SatmeterServer

pytestmark = pytest.mark.satmeter

CHAT = "/v1/chat/completions"
GOOD_BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
NOBODY_MINT = "http://127.0.0.1:9"  # trusted, but nothing listens: any mint call would fail with a 503
FILE_MARKER = "satmeter-traversal-marker-5d1c"
RICH = 10**12


@pytest.fixture(scope="module")
def satmeter_config() -> str:
    return GATEWAY_CONFIG + f"cashu:\n  mints: [\"{NOBODY_MINT}\"]\n"


# --- answers --------------------------------------------------------------------------


def assert_client_error(reply: Reply, status: int | None = None, code: str | None = None) -> dict[str, Any]:
    """A satmeter (or nginx JSON) error: 4xx with OpenAI's error shape."""
    assert 400 <= reply.status < 500, (reply.status, reply.text()[:500])
    if status is not None:
        assert reply.status == status, reply.text()[:500]
    assert reply.headers.get("content-type") == "application/json", reply.headers
    error = json.loads(reply.body)["error"]
    assert all(isinstance(error.get(field), str) and error[field] for field in ("type", "message", "code")), error
    if code is not None:
        assert error["code"] == code, error
    return error


def assert_refused_by_nginx(reply: Reply) -> None:
    """nginx's own answer to broken HTTP: a 4xx, never forwarded to satmeter, in OpenAI's error
    shape (the shipped snippets' error_page; satmeter itself never answers `bad_request`)."""
    assert 400 <= reply.status < 500, (reply.status, reply.text()[:300])
    assert reply.headers.get("content-type") == "application/json", reply
    assert json.loads(reply.body)["error"]["code"] in ("bad_request", "method_not_allowed"), reply


def bearer(key: str) -> tuple[str, str]:
    return ("Authorization", f"Bearer {key}")


# --- fixtures -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def rich_key(satmeter: SatmeterServer) -> str:
    return satmeter.create_key(RICH)["api_key"]


@pytest.fixture(autouse=True)
def still_serving(gateway: NginxServer, satmeter: SatmeterServer) -> Iterator[None]:
    """After each test: satmeter alive, answering through nginx, and its books consistent."""
    yield
    assert satmeter.proc is not None and satmeter.proc.alive(), f"satmeter died\n{satmeter.stderr()[-3000:]}"
    models = send_raw(gateway, raw_http("GET", "/v1/models"))
    assert models.status == 200, models.text()[:500]
    audit(satmeter)


def unchanged(gateway: NginxServer, key: str, before: dict[str, Any]) -> None:
    after = balance(gateway, key)
    assert (after["balance"], after["reserved"], after["total_spent"]) == (before["balance"], 0, before["total_spent"])


# --- oversized ----------------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    [("X-Big", "a" * 16_000)],
    [("Authorization", "Bearer sk-" + "0" * 20_000)],
    [("X-Cashu", "cashuB" + "A" * 20_000)],
    [(f"X-Many-{i}", "b" * 200) for i in range(200)],
], ids=["one-16k-header", "20k-key", "20k-token", "200-headers"])
def test_oversized_headers_are_refused_by_nginx(gateway: NginxServer, headers: list[tuple[str, str]]) -> None:
    reply = send_raw(gateway, raw_http("POST", CHAT, headers, json.dumps(GOOD_BODY).encode()))
    assert_refused_by_nginx(reply)


def test_oversized_request_line_is_refused(gateway: NginxServer) -> None:
    assert_refused_by_nginx(send_raw(gateway, raw_http("GET", "/v1/models?" + "q" * 20_000)))


@pytest.mark.parametrize("declared", [None, 4 * 1024 * 1024 + 1, 10**12])
def test_oversized_body_gets_a_json_413(gateway: NginxServer, satmeter: SatmeterServer, declared: int | None) -> None:
    key = satmeter.create_key(50_000)["api_key"]
    if declared is None:  # the real body, one byte over the limit
        body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": ""}]}).encode()
        body = body.replace(b'""', b'"' + b"x" * (4 * 1024 * 1024 + 1 - len(body)) + b'"')
        assert len(body) == 4 * 1024 * 1024 + 1
        reply = post_json(gateway, CHAT, body, [bearer(key)])
    else:  # only the header says so
        reply = send_raw(gateway, b"POST " + CHAT.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     b"Authorization: Bearer " + key.encode() + b"\r\nContent-Length: " + str(declared).encode() + b"\r\n\r\n{}",
                     half_close=True)
    assert_client_error(reply, 413, "body_too_large")
    assert balance(gateway, key)["balance"] == 50_000


def test_chunked_body_over_the_limit_gets_a_json_413(gateway: NginxServer, rich_key: str) -> None:
    chunk = b"x" * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(70)) + b"0\r\n\r\n"  # 4.4 MiB
    request = (b"POST " + CHAT.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
               b"Authorization: Bearer " + rich_key.encode() + b"\r\n\r\n" + body)
    assert_client_error(send_raw(gateway, request), 413, "body_too_large")


# --- bodies -------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    b'{"model": "gpt-4o-mini\xff"}',
    b'{"model": "\xc0\xaf"}',                       # overlong '/'
    b'{"model": "\xed\xa0\x80"}',                   # a surrogate encoded as UTF-8
    b'{"model": "\xe2\x82"}',                       # truncated sequence
    b'{"mo\xffdel": "gpt-4o-mini"}',                # in a key
    b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "\xfe\xff"}]}',
    b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "\\ud800"}]}',  # lone surrogate escape
    b'\xef\xbb\xbf{"model": "gpt-4o-mini"}',        # byte order mark
    b'{"model": "gpt-4o-mini\x00"}',                # raw NUL inside a string
    b'{"model": "gpt-4o-mini"}\x00',                # NUL after the document
    b'\x00',
    b'',
    b'{"model": "gpt-4o-mini", "messages": ' + b'[' * 100_000 + b']' * 100_000 + b'}',
    b'{"a":' * 50_000 + b'1' + b'}' * 50_000,
    b'{"model": "gpt-4o-mini", "max_tokens": 01}',
    b'{"model": "gpt-4o-mini", "max_tokens": NaN}',
    b'{"model": "gpt-4o-mini", "max_tokens": Infinity}',
    b'{"model": "gpt-4o-mini",}',
    b'[' + b'1,' * 100_000 + b'1]',
], ids=lambda body: repr(body[:40]))
def test_malformed_json_gets_400_invalid_json_and_costs_nothing(gateway: NginxServer, rich_key: str, body: bytes) -> None:
    before = balance(gateway, rich_key)
    assert_client_error(post_json(gateway, CHAT, body, [bearer(rich_key)]), 400, "invalid_json")
    unchanged(gateway, rich_key, before)


@pytest.mark.parametrize("field, value", [
    (field, value)
    for field in ("max_tokens", "max_completion_tokens", "n")
    for value in (-1, 0, 0.5, 1.5, -0.0, 10**30, 2**63, 2**64, -(2**63) - 1, 1e30, 1e308, "100", True, [], {})
] + [("max_tokens", 10_000_001), ("max_completion_tokens", 10_000_001), ("n", 129)])
def test_out_of_range_counts_get_400_and_cost_nothing(gateway: NginxServer, rich_key: str, field: str, value: Any) -> None:
    before = balance(gateway, rich_key)
    assert_client_error(post_json(gateway, CHAT, {**GOOD_BODY, field: value}, [bearer(rich_key)]), 400, "invalid_request")
    unchanged(gateway, rich_key, before)


@pytest.mark.parametrize("number", [b"1e99999", b"-1e99999", b"1e-99999", b"123456789012345678901234567890", b"-0"])
def test_numbers_beyond_any_type_get_400(gateway: NginxServer, rich_key: str, number: bytes) -> None:
    for field in (b"max_tokens", b"n"):
        body = b'{"model": "gpt-4o-mini", "messages": [], "' + field + b'": ' + number + b"}"
        assert_client_error(post_json(gateway, CHAT, body, [bearer(rich_key)]), 400, "invalid_request")


@pytest.mark.parametrize("model", [
    "'; DROP TABLE accounts; --",
    "gpt-4o-mini'; DELETE FROM ledger WHERE '1'='1",
    "\" OR 1=1 --",
    "gpt-4o-mini\"); UPDATE accounts SET balance_msat = 9223372036854775807; --",
    "../../../etc/passwd",
    "%00gpt-4o-mini",
    "gpt-4o-mini\u202e",
    "x" * 256,
])
def test_sql_ish_model_ids_are_unsupported_and_leave_the_database_intact(
        gateway: NginxServer, satmeter: SatmeterServer, rich_key: str, model: str) -> None:
    before = balance(gateway, rich_key)
    error = assert_client_error(post_json(gateway, CHAT, {**GOOD_BODY, "model": model}, [bearer(rich_key)]), 400, "unsupported_model")
    assert error["type"] == "invalid_request_error"
    unchanged(gateway, rich_key, before)
    with sqlite3.connect(f"file:{satmeter.state_dir / 'satmeter.db'}?mode=ro", uri=True) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"accounts"} <= tables, tables
        assert db.execute("SELECT MAX(balance_msat) FROM accounts").fetchone()[0] <= RICH


def test_wrong_types_and_overlong_model_ids_get_400(gateway: NginxServer, rich_key: str) -> None:
    for model in (None, 5, ["gpt-4o-mini"] * 100_000, {"id": "gpt-4o-mini"}, "", "x" * 257, "gpt-4o-mini\n"):
        assert_client_error(post_json(gateway, CHAT, {**GOOD_BODY, "model": model}, [bearer(rich_key)]), 400, "invalid_request")


def test_a_100k_element_array_in_a_field_is_forwarded_and_charged(gateway: NginxServer, satmeter: SatmeterServer) -> None:
    key = satmeter.create_key(10**9)["api_key"]
    reply = post_json(gateway, CHAT, {**GOOD_BODY, "logit_bias_ids": [0] * 100_000}, [bearer(key)])
    assert reply.status == 200, reply.text()[:500]
    assert balance(gateway, key)["total_spent"] == int(reply.headers["x-satmeter-cost-msat"]) > 0


def test_100k_messages_are_priced_not_fatal(gateway: NginxServer, satmeter: SatmeterServer) -> None:
    key = satmeter.create_key(10**10)["api_key"]
    messages = [{"role": "user", "content": "x"}] * 100_000
    reply = post_json(gateway, CHAT, {**GOOD_BODY, "messages": messages}, [bearer(key)])
    assert reply.status == 200, reply.text()[:500]
    assert int(reply.headers["x-satmeter-prompt-tokens"]) == 100_000


# --- routes and paths ---------------------------------------------------------------


@pytest.mark.parametrize("method, path, status, code", [
    ("GET", "/v1/nope", 404, "not_found"),
    ("POST", "/v1/chat/completion", 404, "not_found"),
    ("POST", "/v1/", 404, "not_found"),
    ("GET", "/v1/chat/completions/extra", 404, "not_found"),
    ("GET", "/admin/api/anything", 401, "unauthorized"),
    ("GET", CHAT, 405, "method_not_allowed"),
    ("PUT", CHAT, 405, "method_not_allowed"),
    ("DELETE", CHAT, 405, "method_not_allowed"),
    ("PATCH", CHAT, 405, "method_not_allowed"),
    # OPTIONS under /v1/ is a CORS preflight nginx answers with 204 (test_nginx.py).
    ("POST", "/v1/models", 405, "method_not_allowed"),
    ("FROBNICATE", "/v1/models", 405, "method_not_allowed"),
])
def test_unknown_endpoints_and_methods_get_json_404_and_405(gateway: NginxServer, method: str, path: str,
                                                           status: int, code: str) -> None:
    assert_client_error(send_raw(gateway, raw_http(method, path, body=b"{}")), status, code)


def test_head_on_a_post_route_is_405_without_body(gateway: NginxServer) -> None:
    reply = send_raw(gateway, raw_http("HEAD", CHAT))
    assert reply.status == 405 and reply.body == b""


@pytest.mark.parametrize("request_line", [
    b"TRACE /v1/models HTTP/1.1",
    b"get /v1/models HTTP/1.1",
    b"GET /v1/models\x00 HTTP/1.1",
    b"GET /v1/models%00 HTTP/1.1",
    b"GET v1/models HTTP/1.1",
    b"\xff\xfe /v1/models HTTP/1.1",
])
def test_broken_request_lines_are_refused_by_nginx(gateway: NginxServer, request_line: bytes) -> None:
    assert_refused_by_nginx(send_raw(gateway, request_line + b"\r\nHost: x\r\nConnection: close\r\n\r\n"))


@pytest.fixture(scope="module")
def traversal_targets(gateway: NginxServer) -> NginxServer:
    """Files with a marker where a traversal out of the admin root or /v1/ would land."""
    assert gateway.config is not None
    for place in (gateway.admin_root, gateway.prefix):  # nginx's default root (prefix/html) gets none
        (place / "secret.txt").write_text(FILE_MARKER)
    return gateway


@pytest.mark.parametrize("target", [
    "/v1/../../etc/passwd",
    "/v1/%2e%2e/%2e%2e/etc/passwd",
    "/v1/..%2f..%2f..%2fetc%2fpasswd",
    "/v1/chat/completions/../../../etc/passwd",
    "/v1/.%2e/.%2e/secret.txt",
    "/v1/%252e%252e/%252e%252e/etc/passwd",
    "/v1/..;/..;/etc/passwd",
    "/v1/chat/completions/..%5c..%5c..%5cetc%5cpasswd",
    "/admin/../../etc/passwd",
    "/admin/../secret.txt",
    "/admin/%2e%2e/secret.txt",
    "/admin/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/admin/..%2fsecret.txt",
    "/admin/..%2f..%2f..%2fetc/passwd",
    "/admin/%252e%252e/secret.txt",
    "/admin//secret.txt",
    "/admin/./../secret.txt",
    "/admin/index.html/../../secret.txt",
    "/admin/api/../../secret.txt",
    "/admin/api/%2e%2e/%2e%2e/etc/passwd",
    "/admin/..\\..\\secret.txt",
    "/secret.txt",
    "/conf/nginx.conf",
    "http://127.0.0.1/admin/../../etc/passwd",
])
def test_path_traversal_never_reaches_a_file_or_a_5xx(traversal_targets: NginxServer, target: str) -> None:
    for method in ("GET", "POST"):
        reply = send_raw(traversal_targets, raw_http(method, target, body=b"{}" if method == "POST" else None))
        assert reply.status < 500, (method, target, reply.status, reply.text()[:300])
        assert FILE_MARKER not in reply.text() and "root:x:0:0" not in reply.text(), (method, target)
        assert "worker_processes" not in reply.text(), (method, target)
        if 200 <= reply.status < 300:  # only the admin UI itself may be served
            assert "Satmeter admin" in reply.text(), (method, target, reply.text()[:300])
        if reply.from_satmeter:
            assert_client_error(reply)


# --- credentials --------------------------------------------------------------------


@pytest.mark.parametrize("authorization, status, code", [
    (b"Bearer", 402, "payment_required"),
    (b"Bearer ", 402, "payment_required"),
    (b"Bearer \t ", 402, "payment_required"),
    (b"Basic dXNlcjpwYXNz", 402, "payment_required"),
    (b"Token sk-0123", 402, "payment_required"),
    (b"bearer sk-" + b"0" * 64, 401, "invalid_api_key"),
    (b"Bearer sk-" + b"0" * 5_000, 401, "invalid_api_key"),
    (b"Bearer sk-\xff\xfe\xfd", 401, "invalid_api_key"),
    (b"Bearer \xff", 401, "invalid_api_key"),
    (b"Bearer sk-' OR '1'='1", 401, "invalid_api_key"),
    (b"Bearer ../../etc/passwd", 401, "invalid_api_key"),
    (b"Bearer sk-0 sk-1", 401, "invalid_api_key"),
    (b"Bearer cashuBgarbage!", 400, "invalid_cashu_token"),
    (b"Bearer cashuA", 400, "invalid_cashu_token"),
    (b"Bearer cashu", 400, "invalid_cashu_token"),
])
def test_malformed_authorization_gets_a_json_4xx(gateway: NginxServer, authorization: bytes, status: int, code: str) -> None:
    assert_client_error(post_json(gateway, CHAT, GOOD_BODY, [("Authorization", authorization)]), status, code)


def test_header_values_with_invalid_utf8_are_harmless(gateway: NginxServer, rich_key: str) -> None:
    reply = post_json(gateway, CHAT, GOOD_BODY, [bearer(rich_key), ("X-Request-Id", b"\xff\xfe"), ("X-Anything", b"\xc0\xaf\xed\xa0\x80"),
                                      ("OpenAI-Beta", b"\xff")])
    assert reply.status == 200, reply.text()[:500]
    assert reply.headers["x-request-id"].isascii()


# --- X-Cashu ------------------------------------------------------------------------


def v3_token(amounts: list[int], mint: str = NOBODY_MINT, **extra: Any) -> str:
    proofs = [{"amount": amount, "id": "009a1f293253e41e", "secret": f"hostile-{i}", "C": "02" + "ab" * 32}
              for i, amount in enumerate(amounts)]
    document = {"token": [{"mint": mint, "proofs": proofs}], "unit": "sat", **extra}
    return "cashuA" + base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


NUT00_V4 = ("cashuBpGF0gaJhaUgArSaMTR9YJmFwgaNhYQFhc3hAOWE2ZGJiODQ3YmQyMzJiYTc2ZGIwZGYxOTcyMTZiMjlkM2I4Y2MxNDU1M2NkMjc4Mjdm"
            "YzFjYzk0MmZlZGI0ZWFjWCEDhhhUP_trhpXfStS6vN6So0qWvc2X3O4NfM-Y1HISZ5JhZGlUaGFuayB5b3VhbXVodHRwOi8vbG9jYWxob3N0OjMzMzhhdWNzYXQ=")


@pytest.mark.parametrize("token, code", [
    (NUT00_V4[: len(NUT00_V4) // 2], "invalid_cashu_token"),       # truncated
    (NUT00_V4[:-10], "invalid_cashu_token"),
    ("cashuB!!!!", "invalid_cashu_token"),
    ("cashuB" + "A" * 7_000, "invalid_cashu_token"),                # big, but under nginx's header limit
    ("cashuA" + base64.urlsafe_b64encode(b"not json").decode(), "invalid_cashu_token"),
    ("cashuC" + NUT00_V4[6:], "invalid_cashu_token"),
    ("cashu", "invalid_cashu_token"),
    ("garbage", "invalid_cashu_token"),
    ("\u00e9\u00e9", "invalid_cashu_token"),
    (v3_token([0]), "invalid_cashu_token"),
    (v3_token([-1]), "invalid_cashu_token"),
    (v3_token([1.5]), "invalid_cashu_token"),
    (v3_token([2**64]), "invalid_cashu_token"),
    (v3_token([2**63]), "invalid_cashu_token"),                     # fits the token, not an msat balance
    (v3_token([2**63, 2**63]), "invalid_cashu_token"),              # the sum overflows 64 bits
    (v3_token([2**53, 2**53]), "invalid_cashu_token"),
    (v3_token([1], mint=""), "invalid_cashu_token"),
    (NUT00_V4, "untrusted_mint"),                                   # valid, but from a mint not trusted here
], ids=lambda value: value[:24] if isinstance(value, str) else None)
def test_malformed_x_cashu_gets_400_before_any_mint_call(gateway: NginxServer, satmeter: SatmeterServer,
                                                         token: str, code: str) -> None:
    reply = post_json(gateway, CHAT, GOOD_BODY, [("X-Cashu", token.encode("utf-8"))])
    assert_client_error(reply, 400, code)
    assert "cashu_mint_unreachable" not in reply.text()


def test_malformed_token_as_bearer_key_gets_400(gateway: NginxServer) -> None:
    for token in (v3_token([2**63]), NUT00_V4[:-10], "cashuB" + "_" * 5_000):
        assert_client_error(post_json(gateway, CHAT, GOOD_BODY, [bearer(token)]), 400, "invalid_cashu_token")


def test_a_saturated_quote_gets_a_402_not_a_crash(satmeter_bin: Path, mock_upstream: Any, tmp_path: Path,
                                                  start_nginx: Callable[[Path], NginxServer]) -> None:
    """Pricing saturates at Int64.max msat (an absurd BTC price, e.g. a broken feed); the NUT-18
    request in the 402 must still be computed, not overflow."""
    config = tmp_path / "absurd.yaml"
    config.write_text(GATEWAY_CONFIG.replace("usd_per_btc: 100000", 'usd_per_btc: "0.01"')
                      + '    absurd: {usd_per_1m: "100000"}\n' + f"cashu:\n  mints: [\"{NOBODY_MINT}\"]\n")
    server = SatmeterServer(satmeter_bin, tmp_path / "satmeter", mock_upstream.base_url, UPSTREAM_KEY, config)
    del server.env["SATMETER_BTC_USD"]  # the file's price, not the fixtures' usual one
    try:
        server.start()
        gateway = start_nginx(server.socket_path)
        reply = post_json(gateway, CHAT, {**GOOD_BODY, "model": "absurd", "max_tokens": 10_000_000})
        assert_client_error(reply, 402, "payment_required")
        assert reply.headers["x-cashu"].startswith("creqA")
        assert server.proc is not None and server.proc.alive(), server.stderr()[-2000:]
    finally:
        server.stop()
