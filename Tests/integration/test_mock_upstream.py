"""The mock upstream, driven by the official openai SDK exactly as clients drive Satmeter.

If the SDK accepts the mock's answers, Satmeter's relaying of them can be
judged against the same SDK later; and the token counts it reports must follow
the documented rules, since pricing tests will depend on them.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from conftest import UPSTREAM_KEY
from http_client import post_json, request, stream
from mock_upstream import DEFAULT_COMPLETION_TOKENS, MockUpstream, reply_words

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": [{"type": "text", "text": "count these five words"}]},
]
AUTHORIZED = {"Content-Type": "application/json", "Authorization": f"Bearer {UPSTREAM_KEY}"}
PROMPT_WORDS = 3 + 4  # per the documented rule: whitespace-separated words in all contents


@pytest.fixture
def client(mock: MockUpstream, openai_client: Any) -> Any:
    return openai_client(mock.base_url, UPSTREAM_KEY)


def test_chat_json_usage_follows_the_documented_rule(client: Any, mock: MockUpstream) -> None:
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert completion.choices[0].message.content == " ".join(reply_words(DEFAULT_COMPLETION_TOKENS))
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.prompt_tokens == PROMPT_WORDS
    assert completion.usage.completion_tokens == DEFAULT_COMPLETION_TOKENS
    assert completion.usage.total_tokens == PROMPT_WORDS + DEFAULT_COMPLETION_TOKENS


@pytest.mark.parametrize("limit_field", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_caps_the_reply(client: Any, limit_field: str) -> None:
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, **{limit_field: 5})
    assert completion.usage.completion_tokens == 5
    assert completion.choices[0].finish_reason == "length"
    assert len(completion.choices[0].message.content.split()) == 5


def test_header_overrides_completion_tokens(client: Any) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, max_tokens=5, extra_headers={"X-Mock-Completion-Tokens": "100"})
    assert completion.usage.completion_tokens == 100


def test_empty_prompt_counts_one_token(client: Any) -> None:
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": ""}])
    assert completion.usage.prompt_tokens == 1


def test_stream_with_usage_ends_like_openai(client: Any) -> None:
    chunks = list(client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, max_tokens=4, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "alpha bravo charlie delta"
    # role chunk, one per word, finish chunk, usage chunk
    assert len(chunks) == 1 + 4 + 1 + 1
    assert chunks[-2].choices[0].finish_reason == "length"
    assert chunks[-1].choices == []
    assert chunks[-1].usage.prompt_tokens == PROMPT_WORDS
    assert chunks[-1].usage.completion_tokens == 4
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_without_include_usage_has_no_usage(client: Any) -> None:
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=2, stream=True))
    assert all(c.choices for c in chunks)
    assert all(getattr(c, "usage", None) is None for c in chunks)


def test_stream_arrives_chunk_by_chunk(mock: MockUpstream) -> None:
    """Chunks are written with delays, so the first one arrives well before the end."""
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "max_tokens": 5, "stream": True}
    with stream(mock, "POST", "/v1/chat/completions", json.dumps(body), {**AUTHORIZED, "X-Mock-Chunk-Delay": "0.1"}) as response:
        started = time.monotonic()
        first = response.readline()
        first_at = time.monotonic() - started
        rest = response.read()
        total = time.monotonic() - started
    assert first.startswith(b"data: ")
    assert rest.rstrip().endswith(b"data: [DONE]")
    assert total - first_at >= 0.4, (first_at, total)


def test_legacy_completions_json_and_stream(client: Any) -> None:
    completion = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="one two three", max_tokens=3)
    assert completion.choices[0].text == "alpha bravo charlie"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (3, 3)
    chunks = list(client.completions.create(model="gpt-3.5-turbo-instruct", prompt=["a b", "c"], max_tokens=2,
                                            stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "alpha bravo"
    assert chunks[-1].usage.prompt_tokens == 3


@pytest.mark.parametrize("encoding", [None, "float"])  # the SDK asks for base64 unless told otherwise
def test_embeddings(client: Any, encoding: str | None) -> None:
    kwargs = {"encoding_format": encoding} if encoding else {}
    result = client.embeddings.create(model="text-embedding-3-small", input=["hello world", "three more words"], **kwargs)
    assert [d.index for d in result.data] == [0, 1]
    assert all(len(d.embedding) == 8 for d in result.data)
    assert result.usage.prompt_tokens == 5
    assert result.usage.total_tokens == 5


def test_token_id_input_counts_one_per_id(client: Any) -> None:
    result = client.embeddings.create(model="text-embedding-3-small", input=[1, 2, 3, 4], encoding_format="float")
    assert result.usage.prompt_tokens == 4


def test_models(client: Any) -> None:
    assert "gpt-4o-mini" in [m.id for m in client.models.list()]


def test_wrong_key_is_401(mock: MockUpstream, openai_client: Any, openai_module: Any) -> None:
    with pytest.raises(openai_module.AuthenticationError) as info:
        openai_client(mock.base_url, "sk-wrong").models.list()
    assert info.value.body["code"] == "invalid_api_key"


@pytest.mark.parametrize(("behavior", "error"), [
    ("fail-500", "InternalServerError"),
    ("fail-429", "RateLimitError"),
    ("drop-connection", "APIConnectionError"),
])
def test_failure_modes_by_model_name(client: Any, openai_module: Any, behavior: str, error: str) -> None:
    with pytest.raises(getattr(openai_module, error)):
        client.chat.completions.create(model=behavior, messages=MESSAGES)


def test_failure_mode_by_header(client: Any, openai_module: Any) -> None:
    with pytest.raises(openai_module.RateLimitError) as info:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                       extra_headers={"X-Mock-Behavior": "fail-429"})
    assert info.value.response.headers["retry-after"] == "1"


def test_garbage_is_200_but_not_json(mock: MockUpstream) -> None:
    response = post_json(mock, "/v1/chat/completions", {"model": "garbage", "messages": MESSAGES}, api_key=UPSTREAM_KEY)
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/json"
    with pytest.raises(ValueError):
        json.loads(response.body)


def test_no_usage(client: Any) -> None:
    assert client.chat.completions.create(model="no-usage", messages=MESSAGES).usage is None
    chunks = list(client.chat.completions.create(model="no-usage", messages=MESSAGES, stream=True,
                                                 stream_options={"include_usage": True}))
    assert chunks and all(c.choices for c in chunks)


def test_truncated_sse_stops_without_usage_or_done(mock: MockUpstream) -> None:
    body = {"model": "truncated-sse", "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}
    with stream(mock, "POST", "/v1/chat/completions", json.dumps(body), AUTHORIZED) as response:
        with pytest.raises(http.client.IncompleteRead) as info:
            response.read()
    received = info.value.partial.decode()
    assert received.count("data: ") >= 1
    assert "[DONE]" not in received and '"usage": {' not in received


def test_truncated_sse_breaks_the_sdk_stream(client: Any, openai_module: Any) -> None:
    stream = client.chat.completions.create(model="truncated-sse", messages=MESSAGES, stream=True)
    with pytest.raises(openai_module.APIConnectionError):
        list(stream)


def test_slow_sleeps_then_answers(client: Any, openai_module: Any) -> None:
    started = time.monotonic()
    client.chat.completions.create(model="slow", messages=MESSAGES, extra_headers={"X-Mock-Sleep": "0.5"})
    assert time.monotonic() - started >= 0.5
    with pytest.raises(openai_module.APITimeoutError):
        client.chat.completions.create(model="slow", messages=MESSAGES, timeout=0.2,
                                       extra_headers={"X-Mock-Sleep": "1"})


def test_records_requests_and_clears_them(client: Any, mock: MockUpstream) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers={"X-Custom": "yes"})
    log = request(mock, "GET", "/_mock/requests").json["requests"]
    assert [(r["method"], r["path"]) for r in log] == [("POST", "/v1/chat/completions")]
    assert log[0]["headers"]["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert log[0]["headers"]["x-custom"] == "yes"
    assert json.loads(log[0]["body"])["messages"] == MESSAGES
    assert request(mock, "DELETE", "/_mock/requests").status == 200
    assert mock.requests() == []


def test_200_concurrent_streams(mock: MockUpstream) -> None:
    """Satmeter holds one upstream connection per client stream; the mock must keep up."""
    results: list[bool] = []
    lock = threading.Lock()

    def one() -> None:
        body = {"model": "gpt-4o-mini", "messages": MESSAGES, "max_tokens": 10, "stream": True}
        with stream(mock, "POST", "/v1/chat/completions", json.dumps(body), {**AUTHORIZED, "X-Mock-Chunk-Delay": "0.02"},
                    timeout=30) as response:
            ok = response.status == 200 and response.read().rstrip().endswith(b"data: [DONE]")
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=one) for _ in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results.count(True) == 200


def test_runs_as_a_script(tmp_path: Path) -> None:
    script = Path(__file__).with_name("mock_upstream.py")
    proc = subprocess.Popen([sys.executable, str(script), "--port", "0", "--api-key", "k"],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("mock upstream listening on http://127.0.0.1:")
        base = line.rsplit(" ", 1)[1].strip()
        url = urllib.parse.urlsplit(f"{base}/models")
        assert request(url.port, "GET", url.path, headers={"Authorization": "Bearer k"}).json["object"] == "list"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        proc.stdout.close()
