"""Issue 10, point 10: admin lockout cannot be turned against the operator, and /metrics and
/admin/api stay closed when nginx sits behind another local proxy.

Without real_ip, a request forwarded by a local proxy (it carries X-Forwarded-For) arrives from
127.0.0.1 and must not be taken as loopback. With real_ip trusting the local proxy, each client
has its own address, and failures from many addresses never lock out one that has not failed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from admin_client import AdminClient, start_admin_gateway
from http_client import raw_request
from mock_upstream import MockUpstream
from servers import NginxServer

pytestmark = pytest.mark.satmeter


def test_forwarded_requests_reach_neither_metrics_nor_the_admin_api(satmeter_bin: Path, mock_upstream: MockUpstream,
                                                                    nginx_available: None, tmp_path: Path) -> None:
    gateway = start_admin_gateway(satmeter_bin, mock_upstream, tmp_path / "plain")
    try:
        direct, _ = raw_request(gateway.nginx, "GET", "/metrics")
        assert direct.status == 200
        for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
            value = "for=198.51.100.7" if header == "Forwarded" else "198.51.100.7"
            response, body = raw_request(gateway.nginx, "GET", "/metrics", headers={header: value})
            assert response.status == 403, (header, body)
            assert json.loads(body)["error"]["code"] == "forwarded_request"
            response, body = raw_request(gateway.nginx, "POST", "/admin/api/login", b'{"password":"x"}',
                                         {header: value, "Content-Type": "application/json"})
            assert response.status == 403, (header, body)
        # A forwarded address claiming loopback is not loopback either.
        response, _ = raw_request(gateway.nginx, "GET", "/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
        assert response.status == 403
    finally:
        gateway.stop()


def test_failures_from_other_addresses_do_not_lock_out_the_operator(satmeter_bin: Path, mock_upstream: MockUpstream,
                                                                   nginx_available: None, tmp_path: Path) -> None:
    gateway = start_admin_gateway(satmeter_bin, mock_upstream, tmp_path / "proxied",
                                  extra_admin_config="  max_login_failures: 3\n  max_account_login_failures: 2\n")
    realip = tmp_path / "realip.conf"
    realip.write_text("set_real_ip_from 127.0.0.1;\nreal_ip_header X-Forwarded-For;\n")
    # nginx as it is set up behind a local proxy: the proxy's X-Forwarded-For names the client.
    # The snippets admit loopback clients only, so the two clients are ::1 and 127.0.0.1.
    behind_proxy = NginxServer(tmp_path / "nginx-behind-proxy", gateway.satmeter.socket_path, extra_includes=[realip])
    try:
        behind_proxy.start()
        attacker = AdminClient(behind_proxy, headers={"X-Forwarded-For": "::1"})
        for _ in range(2):
            assert attacker.login("wrong password!").status == 401
        # The account backs off for the address that failed (before its own limit of 3)…
        assert attacker.login().status == 429
        # …but the operator, from an address that never failed (on the machine itself), gets in:
        # no global lock.
        assert AdminClient(behind_proxy).login().status == 200
        # A forwarded address that claims loopback is not taken as the machine itself.
        assert AdminClient(behind_proxy, headers={"X-Forwarded-For": "127.0.0.1"}).login().status == 403
        # Outside addresses stay outside, real_ip or not.
        response, _ = raw_request(behind_proxy, "GET", "/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
        assert response.status == 403
    finally:
        behind_proxy.stop()
        gateway.stop()
