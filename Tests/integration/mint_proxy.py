"""A fault-injecting HTTP proxy in front of a real mint, for the ecash crash tests.

Modes (set `proxy.mode`):
    pass          forward everything
    down          answer every request 503 at once, as a load balancer does for a dead mint
    lose-swap     forward the next POST /v1/swap to the mint, which performs it, then drop the
                  answer (the caller cannot know whether the swap happened); then back to pass,
                  so swaps the node makes afterwards (change) go through whatever its wallet holds
    lose-swap-then-down   as lose-swap, then switch to down (the mint "dies" mid-swap)

The switch after a lost swap happens when the mint answers, which under load may be after the
caller has given up on the swap (its timeout): `wait_for_lost_swaps()` waits for it, so a test
that sets the next mode does not race it.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class MintProxy:
    def __init__(self, mint_url: str) -> None:
        self.mint_url = mint_url.rstrip("/")
        self.mode = "pass"
        self.swaps_lost = 0
        self._lost = threading.Condition()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if proxy.mode == "down":
                    payload = b'{"detail":"mint is down"}'
                    self.send_response(503)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                request = urllib.request.Request(proxy.mint_url + self.path, data=body, method=method,
                                                 headers={"Content-Type": "application/json"})
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        status, payload = answer.status, answer.read()
                except urllib.error.HTTPError as error:
                    status, payload = error.code, error.read()
                if self.path.startswith("/v1/info") and status == 200:
                    # No websockets through this proxy: hide NUT-17 so wallets poll instead.
                    info = json.loads(payload)
                    info.get("nuts", {}).pop("17", None)
                    payload = json.dumps(info).encode()
                if proxy.mode.startswith("lose-swap") and self.path.startswith("/v1/swap"):
                    # The next mode is in place before the caller can see the answer is lost.
                    with proxy._lost:
                        proxy.mode = "down" if proxy.mode == "lose-swap-then-down" else "pass"
                        proxy.swaps_lost += 1
                        proxy._lost.notify_all()
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._forward("GET")

            def do_POST(self) -> None:
                self._forward("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for_lost_swaps(self, count: int, timeout: float = 60) -> None:
        """Until `count` swaps have been lost (and the mode switched after each)."""
        with self._lost:
            if not self._lost.wait_for(lambda: self.swaps_lost >= count, timeout):
                raise AssertionError(f"{self.swaps_lost} swaps lost after {timeout} s, expected {count}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "MintProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
