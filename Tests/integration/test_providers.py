"""Several providers behind one gateway (issue 12): failover, the circuit breaker, route pins,
per-provider fees, and every OpenAI endpoint through the official SDK.

Real processes: two mock upstreams ("alpha", "beta", mock_upstream.py) and LiteLLM's proxy
("lite", litellm_upstream.py), satmeter and nginx with the shipped snippets. At 100,000 USD/BTC,
$1 per 1M is 1 msat per unit, so every cost below is predictable to the msat.
"""

from __future__ import annotations

import concurrent.futures
import io
import json
import math
import sqlite3
import struct
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import litellm_upstream
from gateway_helpers import audit, balance, expected_cost
from http_client import raw_request
from mock_upstream import MockUpstream
from servers import NginxServer, SatmeterServer

KEY_ALPHA = "sk-alpha-0a1"
KEY_BETA = "sk-beta-0b2"
BETA_FEE = 1.5
IMAGE_MSAT = 40_000          # $0.04 per image
HD_IMAGE_MSAT = 80_000       # $0.08 per hd image (a match rule on body.quality)
SPEECH_MSAT_PER_CHAR = 1_000  # $1000 per 1M characters
WHISPER_MSAT_PER_SECOND = 6_000  # $0.006 per second
MODERATION_MSAT = 2_000      # flat 2 sats

CONFIG = """
upstream:
  forward_headers: ["x-mock-*"]
providers:
  - name: alpha
    base_url: {alpha}
    api_key_env: PROVIDER_ALPHA_KEY
    models: [gpt-4o-mini, "tts-*", whisper-1, dall-e-3, omni-moderation-latest]
    priority: 1
    timeout_seconds: 10
  - name: beta
    base_url: {beta}
    api_key_file: {beta_key_file}
    models: [gpt-4o-mini, "tts-*", whisper-1, dall-e-3, omni-moderation-latest]
    priority: 2
    fee: 1.5
    messages_api: true
    headers: {{X-Provider-Tag: beta}}
  - name: lite
    base_url: {lite}
    api_key_env: PROVIDER_LITE_KEY
    models: [gpt-4o-mini]
    priority: 3
model_aliases: {{mini: gpt-4o-mini}}
circuit_breaker: {{failures: 1, cooldown_seconds: 2}}
pricing:
  btc_price: {{usd_per_btc: 100000}}
  exchange_fee: 1
  upstream_fee: 1
  min_charge_msat: 1000
  overrides:
    gpt-4o-mini: {{prompt_usd_per_1m: "1", completion_usd_per_1m: "2"}}
routes:
  "POST /v1/chat/completions":
    match:
      - where: {{headers.x-cohort: canary}}
        upstream: beta
  "POST /v1/images/generations":
    models:
      dall-e-3: {{usd_per_image: "0.04"}}
    match:
      - where: {{body.quality: hd}}
        models:
          dall-e-3: {{usd_per_image: "0.08"}}
  "POST /v1/audio/speech":
    models:
      tts-1: {{prompt_usd_per_1m: "1000"}}
  "POST /v1/audio/transcriptions":
    models:
      whisper-1: {{usd_per_second: "0.006"}}
  "POST /v1/audio/translations":
    models:
      whisper-1: {{usd_per_second: "0.006"}}
  "POST /v1/moderations":
    type: flat
    price: {{sats_per_request: 2}}
"""


# --- the processes ------------------------------------------------------------------


@pytest.fixture(scope="module")
def alpha() -> Iterator[MockUpstream]:
    with MockUpstream(api_key=KEY_ALPHA) as mock:
        yield mock


@pytest.fixture(scope="module")
def beta() -> Iterator[MockUpstream]:
    with MockUpstream(api_key=KEY_BETA) as mock:
        yield mock


@pytest.fixture(scope="module")
def lite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[litellm_upstream.LiteLLMUpstream]:
    # Never a silent skip: CI installs it (script/bootstrap).
    assert litellm_upstream.available(), f"LiteLLM missing in {litellm_upstream.LITELLM_VENV}: run script/bootstrap"
    with litellm_upstream.LiteLLMUpstream(tmp_path_factory.mktemp("litellm")) as server:
        yield server


@pytest.fixture(scope="module")
def stack(satmeter_bin: Path, alpha: MockUpstream, beta: MockUpstream, lite: litellm_upstream.LiteLLMUpstream,
          start_nginx: Callable[[Path], NginxServer], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    run_dir = tmp_path_factory.mktemp("providers")
    key_file = run_dir / "beta.key"
    key_file.write_text(KEY_BETA + "\n")
    config = run_dir / "satmeter.yaml"
    config.write_text(CONFIG.format(alpha=alpha.base_url, beta=beta.base_url, beta_key_file=key_file, lite=lite.base_url))
    env = {"PROVIDER_ALPHA_KEY": KEY_ALPHA, "PROVIDER_LITE_KEY": lite.api_key}
    server = SatmeterServer(satmeter_bin, run_dir, "http://127.0.0.1:9/v1", "unused", config, extra_env=env)
    try:
        server.start()
        yield {"satmeter": server, "nginx": start_nginx(server.socket_path)}
    finally:
        server.stop()


@pytest.fixture
def mocks(alpha: MockUpstream, beta: MockUpstream) -> Iterator[tuple[MockUpstream, MockUpstream]]:
    """Both mocks healthy, their logs empty; and healthy again after the test."""
    for mock in (alpha, beta):
        mock.force_behavior(None)
        mock.clear_requests()
    time.sleep(2.1)  # any open circuit from an earlier test has cooled down
    yield alpha, beta
    for mock in (alpha, beta):
        mock.force_behavior(None)


ACCOUNT_IDS: dict[str, int] = {}


def client(stack: dict[str, Any], openai_client: Callable[..., Any], balance_msat: int = 5_000_000) -> tuple[Any, str]:
    created = stack["satmeter"].create_key(balance_msat)
    ACCOUNT_IDS[created["api_key"]] = created["id"]
    return openai_client(f"{stack['nginx'].url}/v1", created["api_key"]), created["api_key"]


def cost_of(raw: Any) -> int:
    return int(raw.headers["x-satmeter-cost-msat"])


def paths(mock: MockUpstream) -> list[str]:
    return [r["path"] for r in mock.requests()]


def wav(seconds: float, rate: int = 8000) -> bytes:
    """A silent mono 16-bit WAV of `seconds`."""
    data = b"\x00\x00" * int(seconds * rate)
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
            + b"data" + struct.pack("<I", len(data)) + data)


def sqlite_rows(server: SatmeterServer, sql: str) -> list[tuple]:
    time.sleep(1.5)  # the request log is written by the housekeeping, about every second
    with sqlite3.connect(server.state_dir / "satmeter.db", timeout=10) as db:
        return db.execute(sql).fetchall()


# --- configuration --------------------------------------------------------------------


def check_config(satmeter_bin: Path, tmp_path: Path, text: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    path = tmp_path / "check.yaml"
    path.write_text(text)
    return subprocess.run([str(satmeter_bin), "config", "check", "--config", str(path), "--state-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin", **(env or {})})


def test_config_check_validates_providers(satmeter_bin: Path, tmp_path: Path) -> None:
    good = "providers:\n  - {name: a, base_url: 'http://127.0.0.1:1/v1', api_key_env: K_A, models: [gpt-4o]}\n"
    assert check_config(satmeter_bin, tmp_path, good, {"K_A": "x"}).returncode == 0
    missing_env = check_config(satmeter_bin, tmp_path, good)
    assert missing_env.returncode != 0 and "K_A" in missing_env.stderr + missing_env.stdout
    key_in_yaml = check_config(satmeter_bin, tmp_path, "providers:\n  - {name: a, base_url: 'http://x/v1', api_key: sk-secret}\n")
    assert key_in_yaml.returncode != 0 and "api_key_env" in key_in_yaml.stderr + key_in_yaml.stdout
    unknown_pin = good + "routes:\n  'POST /v1/chat/completions':\n    upstream: nowhere\n"
    result = check_config(satmeter_bin, tmp_path, unknown_pin, {"K_A": "x"})
    assert result.returncode != 0 and "nowhere" in result.stderr + result.stdout


def test_the_operator_guides_yaml_passes_config_check(satmeter_bin: Path, tmp_path: Path) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs"
    guide = (docs / "pricing.md").read_text() + (docs / "providers.md").read_text()
    blocks = [b.split("```", 1)[0] for b in guide.split("```yaml\n")[1:]]
    # Config files, not price-table files (those start with `version:`/`reason:`).
    blocks = [b for b in blocks if b.split(":", 1)[0] in ("pricing", "routes", "providers", "upstream", "server")]
    assert len(blocks) >= 3
    for block in blocks:
        result = check_config(satmeter_bin, tmp_path, block, {"OPENAI_API_KEY": "k", "OPENROUTER_API_KEY": "k"})
        assert result.returncode == 0, (block, result.stderr)


# --- models, routing, failover --------------------------------------------------------


def test_models_lists_what_the_providers_serve_with_prices(stack: dict[str, Any]) -> None:
    response, body = raw_request(stack["nginx"], "GET", "/models")  # the unprefixed alias too
    assert response.status == 200, body
    listed = {m["id"]: m for m in json.loads(body)["data"]}
    assert listed["gpt-4o-mini"]["providers"] == ["alpha", "beta", "lite"]
    assert listed["gpt-4o-mini"]["sats_pricing"]["prompt_per_1m"] == "1000"
    assert listed["mini"]["alias_of"] == "gpt-4o-mini"
    assert listed["dall-e-3"]["providers"] == ["alpha", "beta"]


def test_first_provider_serves_and_alias_resolves(stack: dict[str, Any], mocks: Any, openai_client: Any) -> None:
    alpha, beta = mocks
    sdk, _ = client(stack, openai_client)
    raw = sdk.chat.completions.with_raw_response.create(model="mini", messages=[{"role": "user", "content": "one two three"}])
    reply = raw.parse()
    assert cost_of(raw) == expected_cost(reply.usage.prompt_tokens, reply.usage.completion_tokens)
    assert paths(alpha) == ["/v1/chat/completions"] and paths(beta) == []
    sent = json.loads(alpha.requests()[0]["body"])
    assert sent["model"] == "gpt-4o-mini" and alpha.requests()[0]["headers"]["authorization"] == f"Bearer {KEY_ALPHA}"


@pytest.mark.parametrize("failure", ["fail-500", "fail-429", "drop-connection"])
def test_failover_before_the_first_byte_charges_the_serving_provider_only(
        stack: dict[str, Any], mocks: Any, openai_client: Any, failure: str) -> None:
    alpha, beta = mocks
    alpha.force_behavior(failure)
    sdk, key = client(stack, openai_client)
    before = balance(stack["nginx"], key)["balance"]
    raw = sdk.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    usage = raw.parse().usage
    # Beta's fee: ×1.5 on the quoted price, rounded up to the msat.
    assert cost_of(raw) == math.ceil(expected_cost(usage.prompt_tokens, usage.completion_tokens) * BETA_FEE)
    assert paths(alpha) == ["/v1/chat/completions"] and paths(beta) == ["/v1/chat/completions"]
    assert beta.requests()[0]["headers"]["x-provider-tag"] == "beta"
    assert beta.requests()[0]["headers"]["authorization"] == f"Bearer {KEY_BETA}"
    assert before - balance(stack["nginx"], key)["balance"] == cost_of(raw)
    # The breaker now skips alpha: the next request goes straight to beta.
    alpha.clear_requests()
    sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert paths(alpha) == []
    rid = raw.headers["x-request-id"]
    attempts = sqlite_rows(stack["satmeter"], f"SELECT provider, status FROM request_attempts WHERE request_id = '{rid}' ORDER BY attempt")
    assert [a[0] for a in attempts] == ["alpha", "beta"] and attempts[1][1] == 200
    logged = sqlite_rows(stack["satmeter"], f"SELECT provider, cost_msat FROM request_log WHERE request_id = '{rid}'")
    assert logged == [("beta", cost_of(raw))]
    audit(stack["satmeter"])


def test_streams_fail_over_before_the_first_byte(stack: dict[str, Any], mocks: Any, openai_client: Any) -> None:
    alpha, beta = mocks
    alpha.force_behavior("fail-500")
    sdk, key = client(stack, openai_client)
    before = balance(stack["nginx"], key)["balance"]
    chunks = list(sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "a b"}], stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert paths(beta) == ["/v1/chat/completions"]
    charged = before - balance(stack["nginx"], key)["balance"]
    assert charged == math.ceil(expected_cost(2, 27) * BETA_FEE)


def test_a_stream_cut_after_its_first_byte_is_not_retried_and_not_charged(stack: dict[str, Any], mocks: Any,
                                                                         openai_client: Any) -> None:
    alpha, beta = mocks
    alpha.force_behavior("truncated-sse")
    sdk, key = client(stack, openai_client)
    before = balance(stack["nginx"], key)["balance"]
    with pytest.raises(Exception):
        list(sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "a"}], stream=True))
    assert paths(beta) == []
    assert balance(stack["nginx"], key)["balance"] == before


def test_every_provider_failing_charges_nothing(stack: dict[str, Any], mocks: Any, openai_client: Any) -> None:
    alpha, beta = mocks
    alpha.force_behavior("fail-500")
    beta.force_behavior("fail-500")
    sdk, key = client(stack, openai_client)
    before = balance(stack["nginx"], key)["balance"]
    # Only alpha and beta serve dall-e-3 (lite does not).
    response, body = raw_request(stack["nginx"], "POST", "/v1/images/generations",
                                 json.dumps({"model": "dall-e-3", "prompt": "x"}).encode(),
                                 {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    assert response.status == 502, body
    assert balance(stack["nginx"], key)["balance"] == before
    audit(stack["satmeter"])


def test_a_match_rule_pins_the_canary_cohort_to_its_provider(stack: dict[str, Any], mocks: Any, openai_client: Any) -> None:
    alpha, beta = mocks
    sdk, _ = client(stack, openai_client)
    sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], extra_headers={"X-Cohort": "canary"})
    assert paths(alpha) == [] and paths(beta) == ["/v1/chat/completions"]


def test_litellm_serves_chat_and_responses_when_both_mocks_fail(stack: dict[str, Any], mocks: Any, openai_client: Any) -> None:
    alpha, beta = mocks
    alpha.force_behavior("fail-500")
    beta.force_behavior("fail-500")
    sdk, key = client(stack, openai_client)
    before = balance(stack["nginx"], key)["balance"]
    raw = sdk.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    reply = raw.parse()
    assert reply.choices[0].message.content == litellm_upstream.MOCK_REPLY
    assert cost_of(raw) == expected_cost(reply.usage.prompt_tokens, reply.usage.completion_tokens)
    raw = sdk.responses.with_raw_response.create(model="gpt-4o-mini", input="hello there")
    response = raw.parse()
    assert response.output_text == litellm_upstream.MOCK_REPLY
    assert cost_of(raw) == expected_cost(response.usage.input_tokens, response.usage.output_tokens)
    assert before - balance(stack["nginx"], key)["balance"] == sum([cost_of(raw), expected_cost(reply.usage.prompt_tokens, reply.usage.completion_tokens)])
    audit(stack["satmeter"])


# --- the endpoints, through the official SDK ---------------------------------------------


def test_responses_plain_streamed_retrieved_and_deleted(stack: dict[str, Any], mocks: Any, openai_client: Any) -> None:
    alpha, _ = mocks
    sdk, key = client(stack, openai_client)
    before = balance(stack["nginx"], key)["balance"]
    raw = sdk.responses.with_raw_response.create(model="gpt-4o-mini", input="one two three", max_output_tokens=5)
    plain = raw.parse()
    assert plain.output_text == "alpha bravo charlie delta echo"
    assert cost_of(raw) == expected_cost(3, 5)
    assert json.loads(alpha.requests()[0]["body"])["max_output_tokens"] == 5

    events = list(sdk.responses.create(model="gpt-4o-mini", input="four five", stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == " ".join(
        ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"] * 3)
    streamed_cost = expected_cost(2, 27)
    assert before - balance(stack["nginx"], key)["balance"] == cost_of(raw) + streamed_cost

    assert sdk.responses.retrieve(plain.id).id == plain.id
    sdk.responses.delete(plain.id)
    response, _ = raw_request(stack["nginx"], "GET", f"/v1/responses/{plain.id}", headers={"Authorization": f"Bearer {key}"})
    assert response.status == 404
    assert before - balance(stack["nginx"], key)["balance"] == cost_of(raw) + streamed_cost  # passthrough is free
    audit(stack["satmeter"])


def test_images_are_priced_per_image_by_quality(stack: dict[str, Any], mocks: Any, openai_client: Any) -> None:
    sdk, _ = client(stack, openai_client)
    raw = sdk.images.with_raw_response.generate(model="dall-e-3", prompt="a cat", n=2)
    assert len(raw.parse().data) == 2 and cost_of(raw) == 2 * IMAGE_MSAT
    raw = sdk.images.with_raw_response.generate(model="dall-e-3", prompt="a cat", quality="hd")
    assert cost_of(raw) == HD_IMAGE_MSAT


def test_speech_is_priced_per_character(stack: dict[str, Any], mocks: Any, openai_client: Any) -> None:
    sdk, _ = client(stack, openai_client)
    text = "Hello, wörld"
    raw = sdk.audio.speech.with_raw_response.create(model="tts-1", voice="alloy", input=text)
    assert raw.headers["content-type"] == "audio/mpeg"
    assert raw.content == b"ID3" + b"\x00" * len(text)
    assert cost_of(raw) == len(text) * SPEECH_MSAT_PER_CHAR


def test_transcriptions_and_translations_are_priced_per_second_of_audio(stack: dict[str, Any], mocks: Any,
                                                                          openai_client: Any) -> None:
    sdk, key = client(stack, openai_client)
    before = balance(stack["nginx"], key)["balance"]
    upload = ("speech.wav", io.BytesIO(wav(2.5)), "audio/wav")
    raw = sdk.audio.transcriptions.with_raw_response.create(model="whisper-1", file=upload, response_format="verbose_json")
    assert raw.parse().text == "alpha bravo charlie"
    assert cost_of(raw) == 3 * WHISPER_MSAT_PER_SECOND  # 2.5 s, rounded up
    raw = sdk.audio.translations.with_raw_response.create(model="whisper-1", file=("s.wav", io.BytesIO(wav(1.0)), "audio/wav"))
    assert cost_of(raw) == 1 * WHISPER_MSAT_PER_SECOND  # plain json: the duration from the upload's header
    assert before - balance(stack["nginx"], key)["balance"] == 4 * WHISPER_MSAT_PER_SECOND
    # A large upload goes through nginx's /v1/audio/ location (4 MB is the limit elsewhere).
    raw = sdk.audio.transcriptions.with_raw_response.create(model="whisper-1", file=("long.wav", io.BytesIO(wav(400.0)), "audio/wav"))
    assert cost_of(raw) == 400 * WHISPER_MSAT_PER_SECOND
    audit(stack["satmeter"])


def test_moderations_flat_price_and_unprefixed_chat(stack: dict[str, Any], mocks: Any, openai_client: Any) -> None:
    sdk, key = client(stack, openai_client)
    raw = sdk.moderations.with_raw_response.create(input=["fine", "also fine"])
    assert len(raw.parse().results) == 2 and cost_of(raw) == MODERATION_MSAT
    response, body = raw_request(stack["nginx"], "POST", "/chat/completions",
                                 json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}).encode(),
                                 {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    assert response.status == 200, body
    assert int(response.getheader("X-Satmeter-Cost-Msat")) == expected_cost(1, 27)


def test_anthropic_messages_go_to_the_provider_that_speaks_them(stack: dict[str, Any], mocks: Any,
                                                                openai_client: Any) -> None:
    alpha, beta = mocks
    _, key = client(stack, openai_client)
    before = balance(stack["nginx"], key)["balance"]
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01", "Content-Type": "application/json"}
    body = {"model": "gpt-4o-mini", "max_tokens": 4, "system": "be brief", "messages": [{"role": "user", "content": "one two"}]}
    response, raw = raw_request(stack["nginx"], "POST", "/v1/messages", json.dumps(body).encode(), headers)
    assert response.status == 200, raw
    assert json.loads(raw)["usage"] == {"input_tokens": 4, "output_tokens": 4}
    plain_cost = int(response.getheader("X-Satmeter-Cost-Msat"))
    assert plain_cost == math.ceil(expected_cost(4, 4) * BETA_FEE)  # beta: the provider with messages_api
    sent = beta.requests()[0]
    assert sent["headers"]["x-api-key"] == KEY_BETA and "authorization" not in sent["headers"] and paths(alpha) == []

    response, raw = raw_request(stack["nginx"], "POST", "/v1/messages", json.dumps({**body, "stream": True}).encode(), headers)
    assert response.status == 200 and b"event: message_stop" in raw and b"[DONE]" not in raw, raw
    streamed_cost = math.ceil(expected_cost(4, 4) * BETA_FEE)
    assert before - balance(stack["nginx"], key)["balance"] == plain_cost + streamed_cost
    # Cut before message_stop: nothing charged, although usage was on its way.
    response, raw = raw_request(stack["nginx"], "POST", "/v1/messages", json.dumps({**body, "stream": True}).encode(),
                                {**headers, "X-Mock-Behavior": "truncated-sse"})
    assert before - balance(stack["nginx"], key)["balance"] == plain_cost + streamed_cost
    audit(stack["satmeter"])


# --- losing a provider under load ---------------------------------------------------------


def test_killing_a_provider_under_load_loses_no_request(stack: dict[str, Any], mocks: Any, openai_client: Any) -> None:
    alpha, beta = mocks
    sdk, key = client(stack, openai_client, balance_msat=50_000_000)
    before = balance(stack["nginx"], key)["balance"]
    port = alpha.port

    def one(i: int) -> int:
        if i % 4 == 3:
            raw = sdk.responses.with_raw_response.create(model="gpt-4o-mini", input="load test")
        else:
            raw = sdk.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "load"}])
        return cost_of(raw)

    costs: list[int] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(one, i) for i in range(40)]
        time.sleep(0.3)
        alpha.stop()  # mid-load: connections refused and reset from here on
        futures += [pool.submit(one, i) for i in range(40, 80)]
        for future in futures:
            costs.append(future.result())  # raises if any request failed
    try:
        served_by_beta = len(beta.requests())
        assert served_by_beta > 0
        assert before - balance(stack["nginx"], key)["balance"] == sum(costs)
        logged = sqlite_rows(stack["satmeter"], "SELECT provider, COUNT(*), SUM(cost_msat) FROM request_log "
                                                f"WHERE account_id = {ACCOUNT_IDS[key]} "
                                                "GROUP BY provider")
        assert sum(row[1] for row in logged) == 80 and sum(row[2] for row in logged) == sum(costs)
        assert {row[0] for row in logged} <= {"alpha", "beta"}
        audit(stack["satmeter"])
    finally:
        restarted = MockUpstream(port=port, api_key=KEY_ALPHA)
        restarted.start()
        alpha._server = restarted._server  # the module fixture stops it at the end
        alpha._thread = restarted._thread
