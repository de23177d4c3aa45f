"""The mock upstream's other OpenAI endpoints (see mock_upstream.py for the shared rules).

    POST /v1/responses             JSON, or typed SSE events when "stream": true; usage
                                   (input_tokens, output_tokens) in the object and in
                                   response.completed. input_tokens: words of "input"
                                   and "instructions"; output_tokens as completion_tokens
                                   (max_output_tokens instead of max_tokens).
    GET/DELETE /v1/responses/{id}  the stored object / {"deleted": true}; 404 if unknown
    GET /v1/responses/{id}/input_items  the request's "input" as one user message item (a list)
    POST /v1/responses/{id}/cancel the stored object with "status": "cancelled"
    POST /v1/images/generations    "n" images (default 1) as URLs, or b64_json
    POST /v1/audio/speech          audio/mpeg bytes: b"ID3" + one byte per input character
    POST /v1/audio/transcriptions  multipart: file + model (+ response_format). duration:
    POST /v1/audio/translations    a WAV header's, else 1 s per 16,000 bytes; "json" →
                                   {"text"}, "verbose_json" → with duration, "text" → plain
    POST /v1/moderations           one result per input, never flagged
    POST /v1/messages              Anthropic's Messages API, JSON or its SSE events; input_tokens:
                                   words of the messages and "system"; output as completion_tokens
"""

from __future__ import annotations

import json
import struct
import threading
import time
from typing import Any

from mock_upstream import completion_plan, count_words, reply_words

Json = dict[str, Any]
_stored_lock = threading.Lock()


def _stored(handler: Any) -> dict[str, Json]:
    """This mock's Responses objects (each mock instance has its own)."""
    if not hasattr(handler.server, "stored_responses"):
        handler.server.stored_responses = {}
    return handler.server.stored_responses


def handles(path: str) -> bool:
    return path in ("/v1/responses", "/v1/images/generations", "/v1/audio/speech", "/v1/audio/transcriptions",
                    "/v1/audio/translations", "/v1/moderations", "/v1/messages") or path.startswith("/v1/responses/")


def route(handler: Any, method: str, path: str, raw: bytes) -> None:
    """Answers one request on these endpoints (the caller checked auth and `handles`)."""
    if path.startswith("/v1/responses/"):
        return _response_object(handler, method, path[len("/v1/responses/"):])
    if path.startswith("/v1/audio/transcriptions") or path.startswith("/v1/audio/translations"):
        if handler._fail_early(handler.headers.get("X-Mock-Behavior") or handler.server.forced_behavior):
            return None
        return _transcription(handler, raw)
    body = json.loads(raw or b"{}")
    if handler._fail_early(handler.headers.get("X-Mock-Behavior") or handler.server.forced_behavior):
        return None
    if path == "/v1/responses":
        return _responses(handler, body)
    if path == "/v1/messages":
        return _messages(handler, body)
    if path == "/v1/images/generations":
        n = int(body.get("n") or 1)
        item = (lambda i: {"b64_json": "aW1hZ2U="}) if body.get("response_format") == "b64_json" else (
            lambda i: {"url": f"https://images.invalid/{handler.server.next_id()}-{i}.png", "revised_prompt": body.get("prompt")})
        return handler._send_json(200, {"created": int(time.time()), "data": [item(i) for i in range(n)]})
    if path == "/v1/audio/speech":
        audio = b"ID3" + b"\x00" * len(str(body.get("input", "")))
        return handler._send_bytes(200, audio, "audio/mpeg")
    inputs = body.get("input")
    items = inputs if isinstance(inputs, list) else [inputs]
    results = [{"flagged": False, "categories": {"violence": False}, "category_scores": {"violence": 0.0}} for _ in items]
    return handler._send_json(200, {"id": f"modr-mock-{handler.server.next_id()}", "model": body.get("model") or "omni-moderation-latest",
                                    "results": results})


def _response_object(handler: Any, method: str, rest: str) -> None:
    rid, _, sub = rest.partition("/")
    with _stored_lock:
        found = _stored(handler).get(rid)
        if found is not None and method == "DELETE" and not sub:
            del _stored(handler)[rid]
        if found is not None and sub == "cancel":
            found["status"] = "cancelled"
    if found is None or sub not in ("", "input_items", "cancel"):
        return handler._send_error(404, f"No response found with id '{rid}'.", "invalid_request_error", None)
    if sub == "input_items":
        item = {"id": f"msg_in_{rid}", "type": "message", "role": "user", "status": "completed",
                "content": [{"type": "input_text", "text": found.get("_input", "")}]}
        return handler._send_json(200, {"object": "list", "data": [item], "first_id": item["id"], "last_id": item["id"], "has_more": False})
    if method == "DELETE":
        return handler._send_json(200, {"id": rid, "object": "response.deleted", "deleted": True})
    return handler._send_json(200, {k: v for k, v in found.items() if not k.startswith("_")})


def _input_words(body: Json) -> int:
    value = body.get("input")
    if isinstance(value, list):  # messages: {"role", "content": str | parts}
        words = sum(count_words(m.get("content")) if isinstance(m.get("content"), str) else
                    sum(count_words(p.get("text")) for p in m.get("content") or [] if isinstance(p, dict))
                    for m in value if isinstance(m, dict))
    else:
        words = count_words(value)
    return max(1, words + count_words(body.get("instructions")))


def _responses(handler: Any, body: Json) -> None:
    limit_body = {"max_tokens": body.get("max_output_tokens")} if body.get("max_output_tokens") is not None else {}
    n_out, _ = completion_plan(limit_body, handler.headers)
    words = reply_words(n_out)
    text = " ".join(words)
    rid = f"resp_mock{handler.server.next_id()}"
    msg_id = f"msg_{rid}"
    usage = {"input_tokens": _input_words(body), "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": n_out, "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": _input_words(body) + n_out}
    message = {"type": "message", "id": msg_id, "status": "completed", "role": "assistant",
               "content": [{"type": "output_text", "text": text, "annotations": []}]}
    done = {"id": rid, "object": "response", "created_at": int(time.time()), "status": "completed", "model": body.get("model"),
            "output": [message], "parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "usage": usage}
    if body.get("previous_response_id"):
        done["previous_response_id"] = body["previous_response_id"]
    with _stored_lock:
        _stored(handler)[rid] = {**done, "_input": body.get("input") if isinstance(body.get("input"), str) else ""}
    if not body.get("stream"):
        return handler._send_json(200, done)
    started = {**done, "status": "in_progress", "output": [], "usage": None}
    events: list[Json] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
        {"type": "response.output_item.added", "output_index": 0, "item": {**message, "status": "in_progress", "content": []}},
        {"type": "response.content_part.added", "output_index": 0, "content_index": 0, "item_id": msg_id,
         "part": {"type": "output_text", "text": "", "annotations": []}},
    ]
    events += [{"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "item_id": msg_id,
                "delta": w if i == 0 else f" {w}"} for i, w in enumerate(words)]
    events += [
        {"type": "response.output_text.done", "output_index": 0, "content_index": 0, "item_id": msg_id, "text": text},
        {"type": "response.content_part.done", "output_index": 0, "content_index": 0, "item_id": msg_id,
         "part": {"type": "output_text", "text": text, "annotations": []}},
        {"type": "response.output_item.done", "output_index": 0, "item": message},
        {"type": "response.completed", "response": done},
    ]
    behavior = handler.headers.get("X-Mock-Behavior")
    if behavior == "truncated-sse":
        events = events[: len(events) // 2]
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    for number, event in enumerate(events):
        event["sequence_number"] = number
        handler._write_chunk(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
    if behavior == "truncated-sse":
        from mock_upstream import _DropConnection
        raise _DropConnection()
    handler.wfile.write(b"0\r\n\r\n")
    handler.wfile.flush()


def parse_multipart(raw: bytes, content_type: str) -> tuple[dict[str, str], bytes]:
    """(text fields, the file's bytes) of a multipart/form-data body."""
    boundary = content_type.split("boundary=", 1)[1].split(";")[0].strip('"').encode()
    fields: dict[str, str] = {}
    file = b""
    for part in raw.split(b"--" + boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
        content = content[:-2] if content.endswith(b"\r\n") else content
        disposition = head.decode(errors="replace")
        name = disposition.split('name="', 1)[1].split('"', 1)[0] if 'name="' in disposition else ""
        if "filename=" in disposition:
            file = content
        else:
            fields[name] = content.decode(errors="replace")
    return fields, file


def wav_seconds(data: bytes) -> float | None:
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    byte_rate = struct.unpack_from("<I", data, 28)[0]
    return (len(data) - 44) / byte_rate if byte_rate else None


def _transcription(handler: Any, raw: bytes) -> None:
    fields, file = parse_multipart(raw, handler.headers.get("Content-Type", ""))
    if not file or not fields.get("model"):
        return handler._send_error(400, "file and model are required", "invalid_request_error", None)
    seconds = wav_seconds(file)
    duration = seconds if seconds is not None else len(file) / 16000
    text = "alpha bravo charlie"
    fmt = fields.get("response_format", "json")
    if fmt == "text":
        return handler._send_bytes(200, (text + "\n").encode(), "text/plain; charset=utf-8")
    if fmt == "verbose_json":
        return handler._send_json(200, {"task": "transcribe", "language": "english", "duration": round(duration, 2),
                                        "text": text, "segments": []})
    return handler._send_json(200, {"text": text})


def _messages(handler: Any, body: Json) -> None:
    n_out, _ = completion_plan({"max_tokens": body.get("max_tokens")}, handler.headers)
    words = reply_words(n_out)
    n_in = max(1, count_words(body.get("system")) + sum(count_words(m.get("content")) for m in body.get("messages") or []
                                                        if isinstance(m, dict)))
    mid = f"msg_mock{handler.server.next_id()}"
    done = {"id": mid, "type": "message", "role": "assistant", "model": body.get("model"),
            "content": [{"type": "text", "text": " ".join(words)}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": n_in, "output_tokens": n_out}}
    if not body.get("stream"):
        return handler._send_json(200, done)
    events = [("message_start", {"type": "message_start", "message": {**done, "content": [], "usage": {"input_tokens": n_in, "output_tokens": 1}}}),
              ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})]
    events += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "text_delta", "text": w if i == 0 else f" {w}"}}) for i, w in enumerate(words)]
    events += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
               ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": n_out}}),
               ("message_stop", {"type": "message_stop"})]
    if handler.headers.get("X-Mock-Behavior") == "truncated-sse":
        events = events[: len(events) - 2]
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    for name, event in events:
        handler._write_chunk(f"event: {name}\ndata: {json.dumps(event)}\n\n".encode())
    handler.wfile.write(b"0\r\n\r\n")
    handler.wfile.flush()
