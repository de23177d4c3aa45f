#!/usr/bin/env python3
"""A mock OpenAI-compatible upstream for Satmeter's integration tests and demos.

It is a real HTTP server, so Satmeter's libcurl client talks to it exactly as
it would talk to api.openai.com, including keep-alive, chunked SSE streams and
broken connections.

Endpoints
    POST /v1/chat/completions   JSON, or SSE when "stream": true
    POST /v1/completions        JSON, or SSE when "stream": true
    POST /v1/embeddings         JSON (float lists, or base64 as the SDK asks)
    GET  /v1/models
    Responses, images, audio, moderations: see mock_upstream_more.py
    GET  /_mock/requests        every recorded request, oldest first
    DELETE /_mock/requests      forget them

Token counts (so tests can predict what a request costs)
    prompt_tokens      number of whitespace-separated words in the prompt:
                       chat: all message contents (strings, and the "text" of
                       content parts); completions: "prompt"; embeddings:
                       "input". A list of integers counts one token per integer.
                       Never less than 1.
    completion_tokens  the X-Mock-Completion-Tokens header if present, else
                       min(max_completion_tokens or max_tokens, 27) if either
                       is given, else 27. The reply text has exactly that many
                       words, and a stream has exactly one content chunk per
                       word. finish_reason is "length" when the limit from
                       max_completion_tokens/max_tokens applied (limit <= 27),
                       else "stop".
    total_tokens       prompt_tokens + completion_tokens

Failure modes, chosen by the X-Mock-Behavior header, or else by a model name
equal to the mode's name:
    fail-500         500 with an OpenAI error body
    fail-429         429 with an OpenAI error body and Retry-After: 1
    slow             sleep X-Mock-Sleep seconds (default 2) first, then answer
    garbage          200, Content-Type application/json, body not JSON
    truncated-sse    a stream that stops half way: no usage, no [DONE], and no
                     end of the chunked body (the socket just closes); a
                     non-streaming answer closes after half its Content-Length
    no-usage         a normal answer without any usage object
    drop-connection  the socket closes without any response
    fail-429-leaky   429 whose message names the upstream account as OpenAI's do
                     (an organization org-…, a project proj_…, a key fragment sk-…)
    total-usage-only usage with prompt_tokens and total_tokens, no completion_tokens

Other request headers: X-Mock-Chunk-Delay (seconds between SSE chunks).

Recorded transcripts: X-Mock-Transcript: NAME replays transcripts/NAME.json
(see transcripts/README.md): a provider's answer byte for byte as its API
reference shows it, with pauses, keep-alive comments, errors under 200, a close
without [DONE] or a drop before the headers.

If an API key is configured, every /v1/ request must carry
"Authorization: Bearer <key>", else 401.

Use in-process (pytest):
    with MockUpstream(api_key="k") as mock:
        mock.base_url  # "http://127.0.0.1:<port>/v1"
Or as a script:
    python3 mock_upstream.py --port 8081 --api-key k
"""

from __future__ import annotations

import argparse
import base64
import collections
import hashlib
import json
import signal
import socket
import struct
import sys
import threading
import time

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

BEHAVIORS = frozenset(
    {"fail-500", "fail-429", "slow", "garbage", "truncated-sse", "no-usage", "drop-connection",
     "fail-429-leaky", "total-usage-only"}
)
DEFAULT_COMPLETION_TOKENS = 27
DEFAULT_SLEEP_SECONDS = 2.0
DEFAULT_CHUNK_DELAY = 0.01
DEFAULT_EMBEDDING_DIMENSIONS = 8
MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-3.5-turbo-instruct", "text-embedding-3-small")
# Bounded so a long benchmark or soak run cannot grow memory without limit.
MAX_RECORDED_REQUESTS = 10_000
_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india")

Json = dict[str, Any]


# --- deterministic accounting -------------------------------------------------


def count_words(value: Any) -> int:
    """Words in a prompt-like value: a string, a list of strings, or token ids.

    Token-id lists are what the API accepts instead of text; each id is one
    token, which is the only sensible word count for them.
    """
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, int):
        return 1
    if isinstance(value, list):
        return sum(count_words(item) for item in value)
    if isinstance(value, dict):  # a chat content part
        return count_words(value.get("text")) if value.get("type") in (None, "text") else 0
    return 0


def prompt_tokens(endpoint: str, body: Json) -> int:
    """The documented prompt token count for a request body; at least 1."""
    if endpoint == "chat":
        words = sum(count_words(m.get("content")) for m in body.get("messages") or [] if isinstance(m, dict))
    elif endpoint == "completions":
        words = count_words(body.get("prompt"))
    else:
        words = count_words(body.get("input"))
    return max(1, words)


def completion_plan(body: Json, headers: Any) -> tuple[int, str]:
    """(completion_tokens, finish_reason) for a request, as documented above."""
    override = headers.get("X-Mock-Completion-Tokens")
    if override is not None:
        return max(0, int(override)), "stop"
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if isinstance(limit, int) and limit <= DEFAULT_COMPLETION_TOKENS:
        return max(0, limit), "length"
    return DEFAULT_COMPLETION_TOKENS, "stop"


def reply_words(count: int) -> list[str]:
    """The reply's words: always the same for the same count."""
    return [_WORDS[i % len(_WORDS)] for i in range(count)]


def usage(prompt: int, completion: int | None) -> Json:
    """An OpenAI usage object; embeddings have no completion tokens."""
    if completion is None:
        return {"prompt_tokens": prompt, "total_tokens": prompt}
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def embedding_vector(text: str, dimensions: int) -> list[float]:
    """A stable pseudo-embedding derived from the text's SHA-256."""
    digest = hashlib.sha256(text.encode()).digest()
    return [round((digest[i % len(digest)] - 128) / 128.0, 6) for i in range(dimensions)]


def error_body(message: str, type_: str, code: str | None) -> Json:
    """OpenAI's error shape."""
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


TRANSCRIPTS = Path(__file__).resolve().parent / "transcripts"


def load_transcript(name: str) -> Json:
    """transcripts/NAME.json; NAME is a plain file name, never a path."""
    if not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError("a transcript name is letters, digits, - and _")
    return json.loads((TRANSCRIPTS / f"{name}.json").read_text())


# --- recording ----------------------------------------------------------------


class RequestLog:
    """Thread-safe record of the requests the mock received."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: collections.deque[Json] = collections.deque(maxlen=MAX_RECORDED_REQUESTS)

    def add(self, entry: Json) -> None:
        with self._lock:
            self._entries.append(entry)

    def all(self) -> list[Json]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# --- HTTP ---------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer with a deep backlog and tracked client sockets.

    The default backlog of 5 drops connections under a few hundred concurrent
    clients; tracking sockets lets stop() end idle keep-alive connections
    instead of leaving threads waiting on them.
    """

    request_queue_size = 1024
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api_key: str | None, chunk_delay: float, verbose: bool):
        super().__init__(address, _Handler)
        self.api_key = api_key
        self.chunk_delay = chunk_delay
        self.verbose = verbose
        self.log = RequestLog()
        # Every request gets this X-Mock-Behavior when set (a whole provider failing).
        self.forced_behavior: str | None = None
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self._counter = 0

    def next_id(self) -> int:
        with self._open_lock:
            self._counter += 1
            return self._counter

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_all_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _DropConnection(Exception):
    """Raised to end a request by closing the socket without a response."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, like the real API
    server: _Server
    timeout = 120  # an idle keep-alive connection ends after this

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    # -- plumbing --

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _send_bytes(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(obj).encode(), "application/json", headers)

    def _send_error(self, status: int, message: str, type_: str, code: str | None, headers: dict[str, str] | None = None) -> None:
        self._send_json(status, error_body(message, type_, code), headers)

    def _handle(self) -> None:
        path = self.path.split("?", 1)[0]
        raw = self._read_body()
        if not path.startswith("/_mock/"):
            self.server.log.add(
                {
                    "time": time.time(),
                    "method": self.command,
                    "path": self.path,
                    "headers": {name.lower(): value for name, value in self.headers.items()},
                    "body": raw.decode("utf-8", "replace"),
                }
            )
        try:
            self._route(self.command, path, raw)
        except _DropConnection:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away; nothing to answer

    def _route(self, method: str, path: str, raw: bytes) -> None:
        if path == "/_mock/requests" and method == "GET":
            return self._send_json(200, {"requests": self.server.log.all()})
        if path == "/_mock/requests" and method == "DELETE":
            self.server.log.clear()
            return self._send_json(200, {"cleared": True})
        if not path.startswith("/v1/"):
            return self._send_error(404, f"Unknown path {path}", "invalid_request_error", "not_found")
        if not self._authorized():
            return self._send_error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        if path == "/v1/models" and method == "GET":
            return self._send_json(200, {"object": "list", "data": [_model(m) for m in MODELS]})
        transcript = self.headers.get("X-Mock-Transcript")
        if transcript is not None and method == "POST":
            return self._replay(transcript, json.loads(raw or b"{}"))
        if mock_upstream_more.handles(path):
            return mock_upstream_more.route(self, method, path, raw)
        endpoint = {"/v1/chat/completions": "chat", "/v1/completions": "completions", "/v1/embeddings": "embeddings"}.get(path)
        if endpoint is None or method != "POST":
            return self._send_error(404, f"Unknown endpoint {method} {path}", "invalid_request_error", "not_found")
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
        except ValueError as exc:
            return self._send_error(400, f"Invalid JSON body: {exc}", "invalid_request_error", "invalid_json")
        behavior = self.headers.get("X-Mock-Behavior") or self.server.forced_behavior or (body.get("model") if body.get("model") in BEHAVIORS else None)
        if behavior is not None and behavior not in BEHAVIORS:
            return self._send_error(400, f"Unknown X-Mock-Behavior {behavior}", "invalid_request_error", "mock_behavior")
        if self._fail_early(behavior):
            return None
        if endpoint == "embeddings":
            return self._embeddings(body, behavior)
        return self._generate(endpoint, body, behavior)

    def _replay(self, name: str, body: Json) -> None:
        """Answers with a recorded transcript's response (transcripts/README.md)."""
        try:
            response = load_transcript(name)["response"]
        except (OSError, ValueError, KeyError) as exc:
            return self._send_error(400, f"Unknown transcript {name}: {exc}", "invalid_request_error", "mock_transcript")
        if response.get("reject_stream_options") and "stream_options" in body:
            return self._send_error(400, "Unrecognized request argument supplied: stream_options",
                                    "invalid_request_error", "unknown_parameter")
        if response.get("drop_before_headers"):
            raise _DropConnection()
        status = int(response.get("status", 200))
        headers = dict(response.get("headers") or {})
        if "json" in response:
            return self._send_json(status, response["json"], headers)
        if "raw" in response:
            return self._send_bytes(status, response["raw"].encode(), response.get("content_type", "text/html"), headers)
        self.send_response(status)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        for header, value in headers.items():
            self.send_header(header, value)
        self.end_headers()
        for event in response["events"]:
            if isinstance(event, dict):  # a pause, silent or with keep-alive comments
                self._pause(float(event["pause"]), event.get("keepalive_every"))
            else:
                self._write_chunk(event.encode() + b"\n\n")
        if response.get("end") == "drop":
            raise _DropConnection()  # no terminating chunk: the body is cut
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self.close_connection = response.get("end") == "close"

    def _pause(self, seconds: float, keepalive_every: float | None) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, keepalive_every or left))
            if keepalive_every and time.monotonic() < deadline:
                self._write_chunk(b": keep-alive\n\n")

    def _authorized(self) -> bool:
        expected = self.server.api_key
        # x-api-key: Anthropic's Messages API (mock_upstream_more.py).
        return expected is None or self.headers.get("Authorization") == f"Bearer {expected}" or self.headers.get("x-api-key") == expected

    def _fail_early(self, behavior: str | None) -> bool:
        """Apply the behaviors that replace or delay the answer; True if answered."""
        if behavior == "fail-500":
            self._send_error(500, "The mock upstream failed (fail-500).", "server_error", None)
        elif behavior == "fail-429":
            self._send_error(429, "Rate limit reached (fail-429).", "requests", "rate_limit_exceeded", {"Retry-After": "1"})
        elif behavior == "fail-429-leaky":
            self._send_error(429, LEAKY_429_MESSAGE, "requests", "rate_limit_exceeded", {"Retry-After": "1"})
        elif behavior == "garbage":
            self._send_bytes(200, b"<html>this is not JSON {{{", "application/json")
        elif behavior == "drop-connection":
            raise _DropConnection()
        elif behavior == "slow":
            time.sleep(float(self.headers.get("X-Mock-Sleep") or DEFAULT_SLEEP_SECONDS))
            return False
        else:
            return False
        return True

    # -- endpoints --

    def _embeddings(self, body: Json, behavior: str | None) -> None:
        inputs = body.get("input")
        items = inputs if isinstance(inputs, list) and inputs and not isinstance(inputs[0], int) else [inputs]
        dims = int(body.get("dimensions") or DEFAULT_EMBEDDING_DIMENSIONS)
        data = []
        for index, item in enumerate(items):
            vector = embedding_vector(json.dumps(item), dims)
            if body.get("encoding_format") == "base64":
                encoded: Any = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
            else:
                encoded = vector
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        answer: Json = {"object": "list", "data": data, "model": body.get("model")}
        if behavior != "no-usage":
            answer["usage"] = usage(prompt_tokens("embeddings", body), None)
        self._send_json_maybe_truncated(answer, behavior)

    def _generate(self, endpoint: str, body: Json, behavior: str | None) -> None:
        n_completion, finish = completion_plan(body, self.headers)
        words = reply_words(n_completion)
        meta = _Meta(
            id=f"{'chatcmpl' if endpoint == 'chat' else 'cmpl'}-mock-{self.server.next_id()}",
            model=str(body.get("model")),
            endpoint=endpoint,
        )
        the_usage = usage(prompt_tokens(endpoint, body), n_completion)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return self._stream(meta, words, finish, the_usage if include_usage else None, behavior)
        text = " ".join(words)
        if endpoint == "chat":
            choice: Json = {"index": 0, "message": {"role": "assistant", "content": text, "refusal": None}, "logprobs": None, "finish_reason": finish}
        else:
            choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}
        answer = meta.envelope(meta.object_name(stream=False), [choice])
        if behavior == "total-usage-only":
            the_usage = {"prompt_tokens": the_usage["prompt_tokens"], "total_tokens": the_usage["total_tokens"]}
        if behavior != "no-usage":
            answer["usage"] = the_usage
        self._send_json_maybe_truncated(answer, behavior)

    def _send_json_maybe_truncated(self, answer: Json, behavior: str | None) -> None:
        if behavior != "truncated-sse":
            return self._send_json(200, answer)
        whole = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(whole)))
        self.end_headers()
        self.wfile.write(whole[: len(whole) // 2])
        raise _DropConnection()  # fewer bytes than Content-Length promised

    def _stream(self, meta: "_Meta", words: list[str], finish: str, final_usage: Json | None, behavior: str | None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        delay = float(self.headers.get("X-Mock-Chunk-Delay") or self.server.chunk_delay)
        events = list(meta.stream_events(words, finish, final_usage if behavior != "no-usage" else None))
        if behavior == "truncated-sse":
            events = events[: max(1, len(events) // 2)]
        for index, event in enumerate(events):
            if index and delay:
                time.sleep(delay)
            self._write_chunk(f"data: {event}\n\n".encode())
        if behavior == "truncated-sse":
            raise _DropConnection()  # no [DONE], no terminating chunk
        self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


class _Meta:
    """Fields shared by every object of one completion, and its SSE events."""

    def __init__(self, id: str, model: str, endpoint: str) -> None:  # noqa: A002
        self.id = id
        self.model = model
        self.endpoint = endpoint
        self.created = int(time.time())

    def object_name(self, stream: bool) -> str:
        if self.endpoint == "chat":
            return "chat.completion.chunk" if stream else "chat.completion"
        return "text_completion"

    def envelope(self, object_name: str, choices: list[Json]) -> Json:
        return {"id": self.id, "object": object_name, "created": self.created, "model": self.model,
                "system_fingerprint": "fp_mock", "choices": choices}

    def _chunk(self, delta_or_text: Any, finish: str | None) -> Json:
        if self.endpoint == "chat":
            choice = {"index": 0, "delta": delta_or_text, "logprobs": None, "finish_reason": finish}
        else:
            choice = {"index": 0, "text": delta_or_text, "logprobs": None, "finish_reason": finish}
        return self.envelope(self.object_name(stream=True), [choice])

    def stream_events(self, words: list[str], finish: str, final_usage: Json | None) -> Iterator[str]:
        """The JSON of each SSE event, in OpenAI's order.

        With include_usage every chunk carries "usage": null and one last
        chunk has empty choices and the usage, as OpenAI sends it.
        """
        chunks: list[Json] = []
        if self.endpoint == "chat":
            chunks.append(self._chunk({"role": "assistant", "content": "", "refusal": None}, None))
            chunks += [self._chunk({"content": w if i == 0 else f" {w}"}, None) for i, w in enumerate(words)]
            chunks.append(self._chunk({}, finish))
        else:
            chunks += [self._chunk(w if i == 0 else f" {w}", None) for i, w in enumerate(words)]
            chunks.append(self._chunk("", finish))
        if final_usage is not None:
            for chunk in chunks:
                chunk["usage"] = None
            chunks.append({**self.envelope(self.object_name(stream=True), []), "usage": final_usage})
        return (json.dumps(chunk) for chunk in chunks)


# What OpenAI answers at a rate limit, with the operator's identifiers in it.
LEAKY_429_MESSAGE = ("Rate limit reached for gpt-4o-mini in organization org-Q7mX2bN9pL4kT1vR (project proj_8hJk3LmN0pQr, "
                     "key sk-proj-Ab12****wxYZ) on requests per min (RPM): Limit 3, Used 3, Requested 1.")


def _model(name: str) -> Json:
    return {"id": name, "object": "model", "created": 1700000000, "owned_by": "mock"}


# --- public API ---------------------------------------------------------------


class MockUpstream:
    """The mock server run in a background thread; a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None,
                 chunk_delay: float = DEFAULT_CHUNK_DELAY, verbose: bool = False) -> None:
        self._address = (host, port)
        self._api_key = api_key
        self._chunk_delay = chunk_delay
        self._verbose = verbose
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        """Bind and serve; returns the port (useful when 0 was asked for)."""
        self._server = _Server(self._address, self._api_key, self._chunk_delay, self._verbose)
        self._thread = threading.Thread(target=self._server.serve_forever, name="mock-upstream", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_all_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> "MockUpstream":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """What an OpenAI client (or SATMETER_UPSTREAM_URL) wants: .../v1"""
        return f"http://127.0.0.1:{self.port}/v1"

    def force_behavior(self, behavior: str | None) -> None:
        """Makes every request behave so (e.g. "fail-500"), or normal again with None."""
        assert self._server is not None, "not started"
        self._server.forced_behavior = behavior

    def requests(self) -> list[Json]:
        """Recorded requests: method, path, headers (lower-cased names), body, time."""
        assert self._server is not None, "not started"
        return self._server.log.all()

    def clear_requests(self) -> None:
        assert self._server is not None, "not started"
        self._server.log.clear()


import mock_upstream_more  # noqa: E402 (it imports helpers from this module)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Mock OpenAI-compatible upstream (see the module docstring).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    parser.add_argument("--api-key", help="require Authorization: Bearer <key>")
    parser.add_argument("--chunk-delay", type=float, default=DEFAULT_CHUNK_DELAY, help="seconds between SSE chunks")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    mock = MockUpstream(args.host, args.port, args.api_key, args.chunk_delay, args.verbose)
    mock.start()
    print(f"mock upstream listening on http://{args.host}:{mock.port}/v1", flush=True)
    stop.wait()
    mock.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
