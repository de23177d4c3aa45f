"""Hostile clients of the Responses API's stored objects, through real nginx with a real Nutshell
mint and the official OpenAI SDK: the gateway calls the upstream with the operator's key, so only
the gateway can keep key B out of key A's `resp_…`. Someone else's id and an unknown id get the
same 404 ("No response found with id …"), are not forwarded and cost nothing; odd ids (path
traversal, encoded slashes, 10 kB) never reach another upstream path. `ledger audit` and
`wallet audit` hold after each scenario; every token handed out is redeemed with Nutshell."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any, Callable, Iterator

import pytest

from cashu_wallet import TokenFactory, Wallet
from gateway_helpers import GATEWAY_CONFIG, audit, wallet_audit
from gateway_helpers import json_request as call
from http_client import raw_request
from mock_upstream import MockUpstream
from servers import MintServer, NginxServer, SatmeterServer

pytestmark = [pytest.mark.satmeter, pytest.mark.mint]


@pytest.fixture(scope="module")
def satmeter_config(mint: MintServer) -> str:
    return GATEWAY_CONFIG + f'cashu:\n  mints: ["{mint.url}"]\n'


@pytest.fixture(autouse=True)
def books_hold(satmeter: SatmeterServer) -> Iterator[None]:
    yield
    audit(satmeter)
    wallet_audit(satmeter)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def spent(gateway: NginxServer, key: str) -> int:
    _, info = call(gateway, "GET", "/v1/balance/info", headers=bearer(key))
    assert info["reserved"] == 0, info
    return info["total_spent"]


def not_found(response: Any, raw: bytes, rid: str) -> None:
    """The one answer for an id that is not the requester's: OpenAI's shape, 404, nothing more."""
    assert response.status == 404, (response.status, raw[:300])
    error = json.loads(raw)["error"]
    assert error == {"type": "invalid_request_error", "message": f"No response found with id '{rid[:64]}'.",
                     "param": None, "code": "not_found"}, error


def forwarded(mock: MockUpstream) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in mock.requests()]


def test_only_the_creator_reads_deletes_and_continues_a_response(gateway: NginxServer, satmeter: SatmeterServer, mock: MockUpstream,
                                                                  gateway_client: Callable[..., Any], openai_module: Any) -> None:
    key_a, key_b = satmeter.create_key(2_000_000)["api_key"], satmeter.create_key(2_000_000)["api_key"]
    a, b = gateway_client(key_a), gateway_client(key_b)
    plain = a.responses.create(model="gpt-4o-mini", input="one two three", max_output_tokens=5)
    streamed = [e for e in a.responses.create(model="gpt-4o-mini", input="four five", max_output_tokens=3, stream=True)]
    streamed_id = streamed[0].response.id
    assert streamed[0].type == "response.created" and streamed_id.startswith("resp_")
    spent_a, spent_b = spent(gateway, key_a), spent(gateway, key_b)
    mock.clear_requests()

    for rid in (plain.id, streamed_id, "resp_never_made"):
        with pytest.raises(openai_module.NotFoundError) as caught:
            b.responses.retrieve(rid)
        assert caught.value.body["message"] == f"No response found with id '{rid}'."
        with pytest.raises(openai_module.NotFoundError):
            b.responses.delete(rid)
        with pytest.raises(openai_module.NotFoundError):
            b.responses.input_items.list(rid)
        with pytest.raises(openai_module.NotFoundError):
            b.responses.cancel(rid)
        with pytest.raises(openai_module.NotFoundError) as caught:
            b.responses.create(model="gpt-4o-mini", input="and then?", previous_response_id=rid)
        assert caught.value.body["param"] is None
    # Raw, the foreign and the unknown answers are byte for byte the same apart from the id.
    for rid in (plain.id, "resp_never_made"):
        not_found(*raw_request(gateway, "GET", f"/v1/responses/{rid}", headers=bearer(key_b)), rid)
    assert forwarded(mock) == [], "a foreign or unknown id reached the upstream"
    assert (spent(gateway, key_a), spent(gateway, key_b)) == (spent_a, spent_b)

    # The creator still can: read, list its input, continue (paid), cancel, delete.
    assert a.responses.retrieve(plain.id).output_text == "alpha bravo charlie delta echo"
    assert a.responses.retrieve(streamed_id).id == streamed_id
    assert a.responses.input_items.list(plain.id).data[0].content[0].text == "one two three"
    follow = a.responses.create(model="gpt-4o-mini", input="and then?", previous_response_id=plain.id, max_output_tokens=2)
    assert json.loads(mock.requests()[-1]["body"])["previous_response_id"] == plain.id
    assert spent(gateway, key_a) > spent_a
    assert a.responses.cancel(follow.id).status == "cancelled"
    a.responses.delete(plain.id)
    with pytest.raises(openai_module.NotFoundError):
        a.responses.retrieve(plain.id)  # the upstream's own 404 now: it is gone
    # The follow-up is A's too, not B's.
    with pytest.raises(openai_module.NotFoundError):
        b.responses.retrieve(follow.id)
    assert spent(gateway, key_b) == spent_b


def test_a_parent_key_reads_its_childs_responses_not_the_reverse(gateway: NginxServer, satmeter: SatmeterServer,
                                                                  gateway_client: Callable[..., Any], openai_module: Any) -> None:
    parent = satmeter.create_key(2_000_000)
    child = satmeter.cli.json("keys", "create-child", str(parent["id"]), "--json")
    mine = gateway_client(child["api_key"]).responses.create(model="gpt-4o-mini", input="hi", max_output_tokens=2)
    theirs = gateway_client(parent["api_key"]).responses.create(model="gpt-4o-mini", input="hi", max_output_tokens=2)
    assert gateway_client(parent["api_key"]).responses.retrieve(mine.id).id == mine.id
    with pytest.raises(openai_module.NotFoundError):
        gateway_client(child["api_key"]).responses.retrieve(theirs.id)


def test_an_xcashu_payment_reads_back_with_its_token_and_continues_nothing(gateway: NginxServer, satmeter: SatmeterServer, mock: MockUpstream,
                                                                          make_token: TokenFactory, new_wallet: Callable[[], Wallet]) -> None:
    token = make_token(20)
    body = {"model": "gpt-4o-mini", "input": "hello", "max_output_tokens": 2}
    response, raw = raw_request(gateway, "POST", "/v1/responses", json.dumps(body).encode(),
                                {"Content-Type": "application/json", "X-Cashu": token})
    assert response.status == 200, raw[:300]
    rid = json.loads(raw)["id"]
    new_wallet().receive(response.getheader("X-Cashu"))
    # The payer holds the token: as a bearer key it reads its response back (free)…
    response, raw = raw_request(gateway, "GET", f"/v1/responses/{rid}", headers=bearer(token))
    assert response.status == 200 and json.loads(raw)["id"] == rid, raw[:300]
    # …a key does not, and a new X-Cashu payment cannot continue it: refused before the token is taken.
    other = satmeter.create_key(100_000)["api_key"]
    not_found(*raw_request(gateway, "GET", f"/v1/responses/{rid}", headers=bearer(other)), rid)
    fresh = make_token(20)
    mock.clear_requests()
    response, raw = raw_request(gateway, "POST", "/v1/responses", json.dumps({**body, "previous_response_id": rid}).encode(),
                                {"Content-Type": "application/json", "X-Cashu": fresh})
    not_found(response, raw, rid)
    assert response.getheader("X-Cashu") is None and forwarded(mock) == []
    new_wallet().receive(fresh)  # still the client's
    # A token never redeemed here names no one.
    response, raw = raw_request(gateway, "GET", f"/v1/responses/{rid}", headers=bearer(make_token(5)))
    assert response.status == 401, raw[:300]


ODD_PATHS = {
    "dot-dot to models": "/v1/responses/../models",
    "dot-dot past v1": "/v1/responses/resp_x/../../chat/completions",
    "encoded slashes": "/v1/responses/..%2F..%2Fmodels",
    "encoded slash in id": "/v1/responses/resp_x%2Finput_items",
    "encoded dot-dot": "/v1/responses/%2E%2E",
    "percent in id": "/v1/responses/resp%25x",
    "nested sub-path": "/v1/responses/resp_x/input_items/extra",
    "unknown sub-path": "/v1/responses/resp_x/admin",
    "empty id": "/v1/responses//input_items",
    "dots in id": "/v1/responses/resp.x",
    "unicode id": "/v1/responses/" + urllib.parse.quote("résp_x"),
    "1 kB id": "/v1/responses/resp_" + "a" * 1000,
    "10 kB id": "/v1/responses/resp_" + "a" * 10_000,
}


@pytest.mark.parametrize("case", ODD_PATHS, ids=list(ODD_PATHS))
@pytest.mark.parametrize("method", ["GET", "DELETE", "POST"])
def test_odd_ids_are_answered_here_and_never_forwarded(case: str, method: str, gateway: NginxServer, satmeter: SatmeterServer,
                                                       mock: MockUpstream) -> None:
    key = satmeter.create_key(100_000)["api_key"]
    response, raw = raw_request(gateway, method, ODD_PATHS[case], b"{}" if method == "POST" else None,
                                {**bearer(key), "Content-Type": "application/json"})
    # nginx may resolve a traversal to another gateway route (the free model list) or refuse a long
    # line (414); the gateway answers 4xx; nothing but a model list is ever a 200.
    assert response.status in (400, 404, 405, 414) or (response.status == 200 and json.loads(raw)["object"] == "list"), (response.status, raw[:300])
    if response.status != 414:
        assert "error" in json.loads(raw) or response.status == 200
    assert forwarded(mock) == [], f"{case}: reached the upstream"
    assert spent(gateway, key) == 0


def test_odd_previous_response_ids_cost_nothing(gateway: NginxServer, satmeter: SatmeterServer, mock: MockUpstream) -> None:
    key = satmeter.create_key(100_000)["api_key"]
    for value in ["../models", "resp_x/../../x", "a" * 10_000, "", 12, ["resp_x"], {"id": "resp_x"}]:
        body = json.dumps({"model": "gpt-4o-mini", "input": "hi", "previous_response_id": value}).encode()
        response, raw = raw_request(gateway, "POST", "/v1/responses", body, {**bearer(key), "Content-Type": "application/json"})
        if isinstance(value, str):
            not_found(response, raw, value)
        else:
            assert response.status == 400 and json.loads(raw)["error"]["code"] == "invalid_request", raw[:300]
    assert forwarded(mock) == [] and spent(gateway, key) == 0


@pytest.mark.parametrize("value", ["conv_abc123", {"id": "conv_abc123"}, "", 12, ["conv_x"]])
def test_a_conversation_is_never_continued_through_the_gateway(value: Any, gateway: NginxServer, satmeter: SatmeterServer,
                                                               mock: MockUpstream) -> None:
    """Conversations are made through /v1/conversations, which the gateway does not serve: any
    `conversation` a client names is not its own (the operator's, or made elsewhere with the
    operator's key), so it is refused before anything is paid or forwarded."""
    key = satmeter.create_key(100_000)["api_key"]
    body = json.dumps({"model": "gpt-4o-mini", "input": "hi", "conversation": value}).encode()
    response, raw = raw_request(gateway, "POST", "/v1/responses", body, {**bearer(key), "Content-Type": "application/json"})
    assert response.status == 400, (response.status, raw[:300])
    error = json.loads(raw)["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_request", error
    assert "conversation" in error["message"]
    assert forwarded(mock) == [] and spent(gateway, key) == 0


def test_the_sdk_sees_a_conversation_refused_as_a_bad_request(gateway: NginxServer, satmeter: SatmeterServer, mock: MockUpstream,
                                                              gateway_client: Callable[..., Any], openai_module: Any) -> None:
    key = satmeter.create_key(100_000)["api_key"]
    with pytest.raises(openai_module.BadRequestError) as caught:
        gateway_client(key).responses.create(model="gpt-4o-mini", input="hi", conversation="conv_abc123")
    assert caught.value.code == "invalid_request" and "conversation" in caught.value.message
    assert forwarded(mock) == [] and spent(gateway, key) == 0
