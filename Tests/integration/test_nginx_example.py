"""nginx/satmeter-example.conf, the complete TLS site, run for real.

Only what cannot work on a test machine is swapped: listen addresses become
127.0.0.1 and free ports, the Let's Encrypt paths become a fresh self-signed
certificate, and log and webroot paths move into the temp dir.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Callable, Iterator

import pytest

from http_client import request
from nginx_conf import NginxConfig, install_snippets, main_conf, prepare_dirs, shipped, substitute_once
from procs import ManagedProcess, free_port, port_accepts
from servers import NGINX_BIN

LIVE = "/etc/letsencrypt/live/api.example.com"


class ExampleSite:
    def __init__(self, prefix: Path, http_port: int, https_port: int) -> None:
        self.prefix = prefix
        self.http_port = http_port
        self.https_port = https_port
        self.config = NginxConfig(prefix, https_port, prefix / "fcgi.sock", prefix / "admin-root")

    def render(self, cert: Path, key: Path) -> None:
        """Write the example with the swaps described in the module docstring."""
        prepare_dirs(self.config)
        install_snippets(self.config.conf_dir, self.config.socket_path, self.config.admin_root)
        text = shipped("satmeter-example.conf")
        for old, new in [
            ("listen 80;", f"listen 127.0.0.1:{self.http_port};"),
            ("listen [::]:80;", ""),
            ("listen 443 ssl http2;", f"listen 127.0.0.1:{self.https_port} ssl http2;"),
            ("listen [::]:443 ssl http2;", ""),
            (f"{LIVE}/fullchain.pem", str(cert)),
            (f"{LIVE}/privkey.pem", str(key)),
            ("/var/log/nginx/satmeter.access.log", f"{self.prefix}/logs/satmeter.access.log"),
            ("/var/log/nginx/satmeter.error.log", f"{self.prefix}/logs/satmeter.error.log"),
            ("/var/www/letsencrypt", f"{self.prefix}/acme"),
        ]:
            text = substitute_once(text, old, new, "satmeter-example.conf")
        site = self.config.conf_dir / "sites-enabled" / "satmeter"
        site.parent.mkdir(parents=True, exist_ok=True)
        site.write_text(text)
        self.config.conf_path.write_text(main_conf(self.config, f"    include {site};\n"))


def make_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "fullchain.pem", directory / "privkey.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=api.example.com",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.fixture(scope="module")
def site(nginx_available: None, tool: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExampleSite]:
    tool("openssl")
    prefix = tmp_path_factory.mktemp("example")
    example = ExampleSite(prefix, free_port(), free_port())
    example.render(*make_certificate(prefix))
    check = subprocess.run(example.config.argv(NGINX_BIN) + ["-t"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = ManagedProcess("nginx-example", example.config.argv(NGINX_BIN), prefix / "logs").start()
    try:
        proc.wait_until(lambda: port_accepts(example.https_port), "HTTPS listening")
        yield example
    finally:
        proc.stop()


def tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # self-signed test certificate
    return context


def https_get(site: ExampleSite, path: str) -> tuple[http.client.HTTPResponse, bytes]:
    conn = http.client.HTTPSConnection("127.0.0.1", site.https_port, timeout=10, context=tls_context())
    try:
        conn.request("GET", path, headers={"Host": "api.example.com"})
        response = conn.getresponse()
        return response, response.read()
    finally:
        conn.close()


def test_http_redirects_to_https(site: ExampleSite) -> None:
    response = request(site.http_port, "GET", "/v1/models?x=1", headers={"Host": "api.example.com"})
    assert response.status == 301
    assert response.getheader("Location") == "https://api.example.com/v1/models?x=1"


def test_acme_challenge_stays_on_http(site: ExampleSite) -> None:
    challenge = site.prefix / "acme" / ".well-known" / "acme-challenge" / "token123"
    challenge.parent.mkdir(parents=True)
    challenge.write_text("proof")
    response = request(site.http_port, "GET", "/.well-known/acme-challenge/token123", headers={"Host": "api.example.com"})
    assert (response.status, response.body) == (200, b"proof")


def test_https_offers_http2(site: ExampleSite) -> None:
    context = tls_context()
    context.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", site.https_port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="api.example.com") as tls:
            assert tls.selected_alpn_protocol() == "h2"
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_https_serves_the_api_locations(site: ExampleSite) -> None:
    response, body = https_get(site, "/v1/models")
    assert response.status == 502  # no worker behind this site
    assert json.loads(body)["error"]["code"] == "worker_unavailable"
    response, _ = https_get(site, "/")
    assert response.status == 200
    assert response.getheader("Strict-Transport-Security") == "max-age=63072000"
