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

    @property
    def lnurl(self) -> str:
        """The same pay endpoint as a bech32 LNURL (LUD-01), the form wallets show."""
        return encode_lnurl(f"{self.url}/.well-known/lnurlp/{self.user}")

    def quote_state(self, quote_id: str) -> str:
        with urllib.request.urlopen(f"{self.mint_url}/v1/mint/quote/bolt11/{quote_id}", timeout=10) as answer:
            return json.loads(answer.read())["state"]

    def __enter__(self) -> "LNURLServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32_polymod(values: list[int]) -> int:
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i, generator in enumerate((0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)):
            check ^= generator if (top >> i) & 1 else 0
    return check


def encode_lnurl(url: str) -> str:
    """BIP-173 bech32 with the prefix "lnurl" and no length limit (LUD-01)."""
    hrp, data, bits, accumulator = "lnurl", [], 0, 0
    for byte in url.encode():
        accumulator, bits = accumulator << 8 | byte, bits + 8
        while bits >= 5:
            bits -= 5
            data.append(accumulator >> bits & 31)
    if bits:
        data.append(accumulator << (5 - bits) & 31)
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    polymod = _bech32_polymod(expanded + data + [0] * 6) ^ 1
    checksum = [polymod >> 5 * (5 - i) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32_CHARSET[v] for v in data + checksum)
