"""The harness's own satmeter plumbing, run against fake_satmeter.py.

When the real binary appears, failures in test_gateway.py should be about
satmeter, not about fixtures that were never run; this keeps them honest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from http_client import request
from mock_upstream import MockUpstream
from servers import NginxServer, SatmeterServer

FAKE = Path(__file__).with_name("fake_satmeter.py")


@pytest.fixture
def fake_satmeter(mock: MockUpstream, tmp_path: Path) -> Iterator[SatmeterServer]:
    server = SatmeterServer(FAKE, tmp_path / "run", mock.base_url, "sk-upstream")
    yield server.start()
    server.stop()


def test_serve_gets_socket_state_dir_and_env(fake_satmeter: SatmeterServer) -> None:
    assert fake_satmeter.socket_path.exists()
    assert f"state {fake_satmeter.state_dir}" in fake_satmeter.stderr()


def test_create_key_parses_json(fake_satmeter: SatmeterServer) -> None:
    first, second = fake_satmeter.create_key(5000), fake_satmeter.create_key(0)
    assert first == {"api_key": "sk-fake-0001", "id": 1, "balance_msat": 5000}
    assert second["id"] == 2


def test_stop_sends_sigterm_and_returns_stderr(fake_satmeter: SatmeterServer) -> None:
    stderr = fake_satmeter.stop(timeout=5)
    assert fake_satmeter.returncode == 0
    assert stderr.rstrip().endswith("drained")


def test_nginx_reaches_the_worker_socket(fake_satmeter: SatmeterServer,
                                         start_nginx: Callable[[Path], NginxServer]) -> None:
    nginx = start_nginx(fake_satmeter.socket_path)
    params = request(nginx, "GET", "/v1/models", headers={"Authorization": "Bearer sk-x"}).json["params"]
    assert params["HTTP_AUTHORIZATION"] == "Bearer sk-x"
