"""Helpers for the admin tests: a gateway whose nginx serves the real dashboard (admin/ from
the repo), a satmeter with an admin password, and a small cookie-keeping admin API client."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway_helpers import GATEWAY_CONFIG
from http_client import Reply, request
from mock_upstream import MockUpstream
from procs import REPO_ROOT
from servers import NginxServer, SatmeterServer

ADMIN_PASSWORD = "correct horse battery staple"
UPSTREAM_KEY = "sk-upstream-test-7f3c"  # conftest.UPSTREAM_KEY


def admin_root(base: Path) -> Path:
    """A copy of the shipped dashboard laid out as /usr/share/satmeter/admin/."""
    root = base / "admin-root"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(REPO_ROOT / "admin", root / "admin")
    return root


@dataclass
class AdminGateway:
    satmeter: SatmeterServer
    nginx: NginxServer
    jsonl: Path

    @property
    def url(self) -> str:
        return self.nginx.url

    def stop(self) -> None:
        self.nginx.stop()
        self.satmeter.stop()

    def cli(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.satmeter.cli.run(*args, stdin=stdin, check=check)


def start_admin_gateway(binary: Path, mock: MockUpstream, run_dir: Path, extra_admin_config: str = "",
                        extra_env: dict[str, str] | None = None) -> AdminGateway:
    """satmeter (password from SATMETER_ADMIN_PASSWORD) behind nginx serving the real dashboard.
    The caller stops it (AdminGateway.stop), also when starting fails half way."""
    run_dir.mkdir(parents=True, exist_ok=True)
    jsonl = run_dir / "requests.jsonl"
    config = run_dir / "satmeter.yaml"
    config.write_text(GATEWAY_CONFIG + f"admin:\n  request_log_jsonl: {jsonl}\n" + extra_admin_config)
    env = {"SATMETER_ADMIN_PASSWORD": ADMIN_PASSWORD, **(extra_env or {})}
    satmeter = SatmeterServer(binary, run_dir, mock.base_url, UPSTREAM_KEY, config, env)
    gateway = AdminGateway(satmeter, NginxServer(run_dir / "nginx", satmeter.socket_path, admin_root(run_dir)), jsonl)
    try:
        satmeter.start()
        gateway.nginx.prefix.mkdir(parents=True, exist_ok=True)
        gateway.nginx.start()
    except BaseException:
        gateway.stop()
        raise
    return gateway


@dataclass
class AdminClient:
    """Talks to /admin/api/ like the dashboard: keeps its cookies and sends the CSRF token."""

    gateway: NginxServer
    cookies: dict[str, str] = field(default_factory=dict)

    def raw(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Reply:
        all_headers = dict(headers or {})
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        result = request(self.gateway, method, path, body, all_headers, timeout=30)
        for cookie in result.all("Set-Cookie"):
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in cookie:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return result

    def call(self, method: str, path: str, payload: Any = None, csrf: bool = True) -> Reply:
        headers = {}
        body = None
        if payload is not None or method not in ("GET", "HEAD"):
            body = json.dumps(payload if payload is not None else {}).encode()
            headers["Content-Type"] = "application/json"
        if csrf and "satmeter_csrf" in self.cookies:
            headers["X-CSRF-Token"] = self.cookies["satmeter_csrf"]
        return self.raw(method, "/admin/api/" + path, body, headers)

    def login(self, password: str = ADMIN_PASSWORD) -> Reply:
        return self.call("POST", "login", {"password": password}, csrf=False)

    def ok(self, method: str, path: str, payload: Any = None) -> Any:
        response = self.call(method, path, payload)
        assert response.status in (200, 201), (method, path, response.status, response.body)
        return response.json
