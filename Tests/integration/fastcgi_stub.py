"""A tiny FastCGI responder standing in for the satmeter worker pool.

It lets the tests check the shipped nginx snippets end to end before the real
worker exists: which FastCGI params nginx sends, that the request body arrives
whole, and that a streamed answer reaches the client record by record
(fastcgi_buffering off) rather than all at the end.

Answers
    DOCUMENT_URI ending in /stream   SSE: STUB_EVENTS events, each written as
                                     its own FastCGI record STUB_GAP seconds apart
    anything else                    200 JSON {"params": {...}, "body": "..."}

Only what nginx uses is implemented: one request per connection (nginx
never multiplexes, and keep_conn is off), PARAMS/STDIN in, STDOUT and
END_REQUEST out.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
import time
from pathlib import Path

FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6
_HEADER = struct.Struct("!BBHHBx")
STUB_EVENTS = 5
STUB_GAP = 0.2


def _read_exact(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("peer closed mid-record")
        data += chunk
    return data


def _read_record(conn: socket.socket) -> tuple[int, int, bytes]:
    _version, rtype, request_id, length, padding = _HEADER.unpack(_read_exact(conn, _HEADER.size))
    content = _read_exact(conn, length)
    _read_exact(conn, padding)
    return rtype, request_id, content


def _record(rtype: int, request_id: int, content: bytes = b"") -> bytes:
    return _HEADER.pack(1, rtype, request_id, len(content), 0) + content


def _length(data: bytes, pos: int) -> tuple[int, int]:
    if data[pos] < 0x80:
        return data[pos], pos + 1
    return struct.unpack("!I", data[pos:pos + 4])[0] & 0x7FFFFFFF, pos + 4


def decode_params(data: bytes) -> dict[str, str]:
    """FastCGI name-value pairs (1- or 4-byte lengths)."""
    params, pos = {}, 0
    while pos < len(data):
        name_len, pos = _length(data, pos)
        value_len, pos = _length(data, pos)
        name = data[pos:pos + name_len].decode("latin-1")
        pos += name_len
        params[name] = data[pos:pos + value_len].decode("latin-1")
        pos += value_len
    return params


class FastCGIStub:
    """Serves FastCGI on a unix socket in background threads."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "FastCGIStub":
        if self.socket_path.exists():
            self.socket_path.unlink()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.socket_path))
        self._listener.listen(128)
        self._thread = threading.Thread(target=self._accept_loop, name="fastcgi-stub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.socket_path.exists():
            os.unlink(self.socket_path)

    def __enter__(self) -> "FastCGIStub":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # listener closed by stop()
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                request_id, params, body = self._read_request(conn)
                self._respond(conn, request_id, params, body)
            except (ConnectionError, BrokenPipeError, OSError):
                pass  # nginx went away; nothing to clean up

    @staticmethod
    def _read_request(conn: socket.socket) -> tuple[int, dict[str, str], bytes]:
        raw_params, body, request_id = b"", b"", 0
        while True:
            rtype, request_id, content = _read_record(conn)
            if rtype == FCGI_PARAMS:
                raw_params += content
            elif rtype == FCGI_STDIN:
                if not content:
                    return request_id, decode_params(raw_params), body
                body += content

    def _respond(self, conn: socket.socket, request_id: int, params: dict[str, str], body: bytes) -> None:
        def out(data: bytes) -> None:
            # A record holds at most 65535 bytes; b"" is the end-of-stream record.
            for start in range(0, max(len(data), 1), 0xFFFF):
                conn.sendall(_record(FCGI_STDOUT, request_id, data[start:start + 0xFFFF]))

        if params.get("DOCUMENT_URI", "").endswith("/stream"):
            out(b"Status: 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
            for index in range(STUB_EVENTS):
                out(f"data: {json.dumps({'n': index, 't': time.time()})}\n\n".encode())
                time.sleep(STUB_GAP)
            out(b"data: [DONE]\n\n")
        else:
            payload = json.dumps({"params": params, "body": body.decode("utf-8", "replace")}).encode()
            out(b"Status: 200 OK\r\nContent-Type: application/json\r\n\r\n" + payload)
        out(b"")
        conn.sendall(_record(FCGI_END_REQUEST, request_id, struct.pack("!IB3x", 0, 0)))
