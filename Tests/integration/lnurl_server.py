"""A local LNURL-pay server (LUD-06/16) for payout tests: each invoice it hands out is a real
BOLT11 from the test mint's FakeWallet backend (a mint quote), so the test can see it paid."""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LNURLServer:
    def __init__(self, mint_url: str, user: str = "operator") -> None:
        self.mint_url = mint_url.rstrip("/")
        self.user = user
        self.quotes: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, body: Any) -> None:
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                url = urllib.parse.urlparse(self.path)
                if url.path == f"/.well-known/lnurlp/{server.user}":
                    return self._json({"tag": "payRequest", "callback": f"{server.url}/lnurl/callback",
                                       "minSendable": 1000, "maxSendable": 100_000_000_000,
                                       "metadata": json.dumps([["text/plain", "satmeter payout test"]])})
                if url.path == "/lnurl/callback":
                    msat = int(urllib.parse.parse_qs(url.query)["amount"][0])
                    request = urllib.request.Request(f"{server.mint_url}/v1/mint/quote/bolt11", method="POST",
                                                     data=json.dumps({"amount": msat // 1000, "unit": "sat"}).encode(),
                                                     headers={"Content-Type": "application/json"})
                    with urllib.request.urlopen(request, timeout=10) as answer:
                        quote = json.loads(answer.read())
                    server.quotes.append({"msat": msat, **quote})
                    return self._json({"pr": quote["request"], "routes": []})
                self.send_response(404)
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def address(self) -> str:
        return f"{self.user}@127.0.0.1:{self.httpd.server_address[1]}"

    def quote_state(self, quote_id: str) -> str:
        with urllib.request.urlopen(f"{self.mint_url}/v1/mint/quote/bolt11/{quote_id}", timeout=10) as answer:
            return json.loads(answer.read())["state"]

    def __enter__(self) -> "LNURLServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
