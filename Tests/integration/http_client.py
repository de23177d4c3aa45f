"""The one HTTP client of the integration tests (the OpenAI SDK aside).

Every call opens a fresh connection to 127.0.0.1 (so no test depends on keep-alive), reads the
answer whole and returns a Reply. A target is anything with a `.port` (NginxServer, MockUpstream)
or a port number.

- request(): any method, body and headers, as http.client sends them (bytes header values pass
  through unchanged: invalid UTF-8 is fine).
- post_json(): a JSON body, optionally with `Authorization: Bearer <api_key>`.
- raw_request(): request() as a (reply, body) pair, for the `response, body = …` idiom.
- stream(): the open response of one request, to read a stream as it arrives.
- send_raw(): bytes exactly as given on a socket (broken HTTP that http.client refuses to write).
"""

from __future__ import annotations

import http.client
import json
import socket
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping, Sequence, Union

Target = Any  # an object with .port, or an int
Headers = Union[Mapping[str, Union[str, bytes]], Sequence[tuple[Union[str, bytes], Union[str, bytes]]], None]
HOST = "127.0.0.1"


def port_of(target: Target) -> int:
    return target if isinstance(target, int) else target.port


@dataclass
class Reply:
    status: int
    header_list: list[tuple[str, str]]
    body: bytes

    @property
    def headers(self) -> dict[str, str]:
        """Lower-case names; for a repeated header, the last value (see all())."""
        return {name.lower(): value for name, value in self.header_list}

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    getheader = header  # http.client's name: code written for an HTTPResponse reads the same

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.header_list if key.lower() == name.lower()]

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def from_satmeter(self) -> bool:
        """satmeter answers with X-Request-Id and JSON; nginx's own error pages are HTML."""
        return "x-request-id" in self.headers and self.header("content-type") == "application/json"


def _pairs(headers: Headers) -> list[tuple[str | bytes, str | bytes]]:
    if headers is None:
        return []
    return list(headers.items()) if isinstance(headers, Mapping) else list(headers)


def _send(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | str | Iterable[bytes] | None,
          headers: Headers) -> http.client.HTTPResponse:
    pairs = _pairs(headers)
    named = {(name.decode("latin-1") if isinstance(name, bytes) else name).lower() for name, _ in pairs}
    chunked = body is not None and not isinstance(body, (bytes, str))
    conn.putrequest(method, path, skip_host="host" in named)
    for name, value in pairs:
        conn.putheader(name, value)
    if chunked:
        conn.putheader("Transfer-Encoding", "chunked")
    elif "content-length" not in named and (body is not None or method in ("POST", "PUT", "PATCH")):
        conn.putheader("Content-Length", str(len(body.encode() if isinstance(body, str) else body or b"")))
    conn.endheaders()
    try:
        if chunked:
            for chunk in body:  # type: ignore[union-attr]
                conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            conn.send(b"0\r\n\r\n")
        elif body is not None:
            conn.send(body.encode() if isinstance(body, str) else body)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered (a 413) before it read everything; the answer is still there
    return conn.getresponse()


def request(target: Target, method: str, path: str, body: bytes | str | Iterable[bytes] | None = None,
            headers: Headers = None, *, timeout: float = 15, source: str = HOST) -> Reply:
    """One request on a fresh connection, the answer read whole. An iterable body goes chunked;
    source picks the client address (any of 127/8)."""
    conn = http.client.HTTPConnection(HOST, port_of(target), timeout=timeout, source_address=(source, 0))
    try:
        response = _send(conn, method, path, body, headers)
        return Reply(response.status, response.getheaders(), response.read())
    finally:
        conn.close()


def raw_request(target: Target, method: str, path: str, body: bytes | str | None = None, headers: Headers = None,
                timeout: float = 15, source: str = HOST) -> tuple[Reply, bytes]:
    reply = request(target, method, path, body, headers, timeout=timeout, source=source)
    return reply, reply.body


def post_json(target: Target, path: str, payload: Any, headers: Headers = None, *, api_key: str | None = None,
              timeout: float = 15) -> Reply:
    """POST a JSON body (bytes are sent as they are, for bodies that are not JSON on purpose)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    auth = [("Authorization", f"Bearer {api_key}")] if api_key else []
    return request(target, "POST", path, body, [("Content-Type", "application/json"), *auth, *_pairs(headers)],
                   timeout=timeout)


@contextmanager
def stream(target: Target, method: str, path: str, body: bytes | str | None = None, headers: Headers = None,
           timeout: float = 15) -> Iterator[http.client.HTTPResponse]:
    """The response unread, to iterate its lines as they arrive; the connection closes on exit."""
    conn = http.client.HTTPConnection(HOST, port_of(target), timeout=timeout)
    try:
        yield _send(conn, method, path, body, headers)
    finally:
        conn.close()


def raw_http(method: bytes | str, path: bytes | str, headers: Sequence[tuple[bytes | str, bytes | str]] = (),
             body: bytes | None = None) -> bytes:
    """An HTTP/1.1 request exactly as given, for send_raw(): no escaping, no validation."""
    def raw(value: bytes | str) -> bytes:
        return value if isinstance(value, bytes) else value.encode("utf-8")

    lines = [raw(method) + b" " + raw(path) + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    lines += [raw(name) + b": " + raw(value) for name, value in headers]
    if body is not None:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def send_raw(target: Target, data: bytes, timeout: float = 30, half_close: bool = False) -> Reply:
    """Sends raw bytes, reads until the server closes, parses the answer (plain or chunked).

    half_close: end our side after sending, for requests nginx refuses before reading the body it
    was promised (else it lingers, waiting for that body, before it closes).
    """
    received = b""
    with socket.create_connection((HOST, port_of(target)), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (413, 400) before it read everything; the answer is still there
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = [(name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in header_lines)]
    reply = Reply(int(status_line.split(" ")[1]), headers, body)
    if reply.header("transfer-encoding") == "chunked":
        reply.body = _dechunk(body)
    return reply


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2:]
    return out
