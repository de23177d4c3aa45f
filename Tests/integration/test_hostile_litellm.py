"""Issue 10 against an upstream not written here: LiteLLM's proxy (mock_response models) behind
satmeter and real nginx. The duplicate-key and crash tests of test_hostile_money.py run again with
it as the upstream (its Python JSON parser keeps the last copy of a key, so a duplicate that got
through would be read differently there than by satmeter), plus a plain and a streamed call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from gateway_helpers import GATEWAY_CONFIG, audit, balance, wallet_audit
from http_client import raw_request
from litellm_upstream import MOCK_REPLY, LiteLLMUpstream
from servers import MintServer, NginxServer, SatmeterServer
from test_hostile_money import (  # noqa: F401  (collected here again, with this module's fixtures)
    test_amounts_past_int64_are_a_400_not_a_dead_worker,
    test_duplicate_keys_at_any_depth_get_400_naming_the_key,
)

pytestmark = [pytest.mark.satmeter, pytest.mark.mint]


@pytest.fixture(scope="module")
def satmeter(satmeter_bin: Path, litellm_upstream: LiteLLMUpstream, mint: MintServer,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[SatmeterServer]:
    run_dir = tmp_path_factory.mktemp("satmeter-litellm")
    config = run_dir / "satmeter.yaml"
    config.write_text(GATEWAY_CONFIG + f'\ncashu:\n  mints: ["{mint.url}"]\n')
    server = SatmeterServer(satmeter_bin, run_dir, litellm_upstream.base_url, litellm_upstream.api_key, config).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def books_hold_after_each_test(satmeter: SatmeterServer, gateway: NginxServer) -> Iterator[None]:
    yield
    audit(satmeter)
    wallet_audit(satmeter)


def test_litellm_answers_through_satmeter_and_is_charged(gateway: NginxServer, create_key: Callable[[int], dict[str, Any]]) -> None:
    key = create_key(1_000_000)["api_key"]
    body = {"model": "gpt-4o-mini", "max_tokens": 20, "messages": [{"role": "user", "content": "hello there"}]}
    response, raw = raw_request(gateway, "POST", "/v1/chat/completions", json.dumps(body).encode(),
                                {"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    assert response.status == 200, raw
    answer = json.loads(raw)
    assert answer["choices"][0]["message"]["content"] == MOCK_REPLY
    cost = int(response.getheader("X-Satmeter-Cost-Msat"))
    assert cost > 0 and balance(gateway, key)["balance"] == 1_000_000 - cost


def test_litellm_stream_is_billed_from_its_usage(gateway: NginxServer, create_key: Callable[[int], dict[str, Any]]) -> None:
    key = create_key(1_000_000)["api_key"]
    body = {"model": "gpt-4o-mini", "max_tokens": 20, "stream": True, "stream_options": {"include_usage": False},
            "messages": [{"role": "user", "content": "hello there"}]}
    response, raw = raw_request(gateway, "POST", "/v1/chat/completions", json.dumps(body).encode(),
                                {"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    assert response.status == 200, raw
    text = raw.decode()
    assert "data: [DONE]" in text
    chunks = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]
    assert chunks and all(chunk.get("usage") is None for chunk in chunks)  # hidden from a client that did not ask
    summary = json.loads(next(line for line in text.splitlines() if line.startswith(": satmeter "))[len(": satmeter "):])
    assert summary["completion_tokens"] > 0, summary
    assert balance(gateway, key)["total_spent"] == summary["cost_msat"]
