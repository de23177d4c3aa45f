"""The worker pool's life: SIGTERM while a stream is in flight, kill -9 mid-stream, a client
that hangs up, an upstream that is too slow, and several processes under a supervisor."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import UPSTREAM_KEY
from gateway_helpers import GATEWAY_CONFIG, assert_openai_error, audit, balance, expected_cost
from http_client import raw_http, raw_request
from mock_upstream import MockUpstream
from servers import NginxServer, SatmeterServer

pytestmark = pytest.mark.satmeter

LIFECYCLE_CONFIG = GATEWAY_CONFIG.replace("upstream:\n", "upstream:\n  timeout_seconds: 2\n  stream_idle_timeout_seconds: 2\n", 1)


@pytest.fixture(scope="module")
def satmeter_config() -> str:
    return LIFECYCLE_CONFIG


class Stream:
    """A raw streaming request, read as it arrives."""

    def __init__(self, nginx: NginxServer, api_key: str, words: int, delay: float) -> None:
        body = json.dumps({"model": "gpt-4o-mini", "stream": True, "max_tokens": words,
                           "messages": [{"role": "user", "content": "count slowly"}]}).encode()
        headers = [("Content-Type", "application/json"), ("Authorization", f"Bearer {api_key}"), ("X-Mock-Chunk-Delay", str(delay))]
        self.sock = socket.create_connection(("127.0.0.1", nginx.port), timeout=30)  # ours to hang up mid-stream
        self.sock.sendall(raw_http("POST", "/v1/chat/completions", headers, body))
        self.data = b""

    def read_until(self, marker: bytes) -> None:
        while marker not in self.data:
            chunk = self.sock.recv(65536)
            if not chunk:
                return
            self.data += chunk

    def read_all(self) -> bytes:
        while chunk := self.sock.recv(65536):
            self.data += chunk
        self.sock.close()
        return self.data


@pytest.fixture
def own_gateway(start_satmeter: Callable[[], SatmeterServer], start_nginx: Callable[[Path], NginxServer]) -> tuple[SatmeterServer, NginxServer]:
    satmeter = start_satmeter()
    return satmeter, start_nginx(satmeter.socket_path)


def test_sigterm_lets_the_stream_in_flight_finish(own_gateway: tuple[SatmeterServer, NginxServer]) -> None:
    satmeter, nginx = own_gateway
    key = satmeter.create_key(1_000_000)["api_key"]
    stream = Stream(nginx, key, words=15, delay=0.2)
    stream.read_until(b'"content": "alpha"')
    os.kill(satmeter.proc.pid, signal.SIGTERM)
    data = stream.read_all()
    assert data.count(b'"delta": {"content"') == 15 and b"data: [DONE]" in data
    satmeter.proc.popen.wait(timeout=15)
    assert satmeter.proc.popen.returncode == 0
    response, body = raw_request(nginx, "GET", "/v1/wallet/balance", headers={"Authorization": f"Bearer {key}"})
    assert response.status == 502  # nobody listens any more; nginx answers in OpenAI's shape
    assert json.loads(body)["error"]["code"] == "worker_unavailable"


def test_kill_9_mid_stream_releases_the_reservation_on_restart(own_gateway: tuple[SatmeterServer, NginxServer],
                                                              mock_upstream: MockUpstream) -> None:
    satmeter, nginx = own_gateway
    key = satmeter.create_key(1_000_000)["api_key"]
    stream = Stream(nginx, key, words=30, delay=0.2)
    stream.read_until(b'"content": "alpha"')
    os.killpg(satmeter.proc.pid, signal.SIGKILL)
    satmeter.proc.popen.wait(timeout=5)
    stream.read_all()
    satmeter.socket_path.unlink()  # left behind by the killed process; start() waits for the new one
    restarted = SatmeterServer(satmeter.binary, satmeter.run_dir, mock_upstream.base_url, UPSTREAM_KEY, satmeter.config)
    restarted.start()
    try:
        after = balance(nginx, key)
        assert (after["balance"], after["reserved"], after["total_spent"]) == (1_000_000, 0, 0)
        audit(restarted)
    finally:
        restarted.stop()


def test_client_hanging_up_stops_the_stream_and_pays_for_what_it_got(gateway: NginxServer, satmeter: SatmeterServer,
                                                                     create_key: Callable[[int], dict[str, Any]]) -> None:
    key = create_key(1_000_000)["api_key"]
    stream = Stream(gateway, key, words=2000, delay=0.01)
    stream.read_until(b'"content": " echo"')
    stream.sock.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and balance(gateway, key)["reserved"] != 0:
        time.sleep(0.2)
    after = balance(gateway, key)
    assert after["reserved"] == 0
    # Charged for the words relayed before the hang-up (here the minimum), not for the 2000 reserved.
    assert 1000 <= after["total_spent"] < expected_cost(0, 2000)
    audit(satmeter)


def test_upstream_too_slow_is_504_and_free(gateway: NginxServer, create_key: Callable[[int], dict[str, Any]]) -> None:
    key = create_key(100_000)["api_key"]
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}).encode()
    response, answer = raw_request(gateway, "POST", "/v1/chat/completions", body,
                                   {"Authorization": f"Bearer {key}", "X-Mock-Behavior": "slow", "X-Mock-Sleep": "4"})
    assert_openai_error(response, answer, 504, "upstream_timeout")
    assert balance(gateway, key)["total_spent"] == 0


def test_a_stream_that_goes_silent_is_cut_and_free(gateway: NginxServer, create_key: Callable[[int], dict[str, Any]]) -> None:
    key = create_key(100_000)["api_key"]
    stream = Stream(gateway, key, words=3, delay=5)  # 5 s between words; the idle limit is 2 s
    data = stream.read_all()
    assert b"upstream_failed" in data and b"[DONE]" not in data
    assert balance(gateway, key)["total_spent"] == 0


def test_supervised_workers_are_replaced_and_their_reservations_released(
        satmeter_bin: Path, mock_upstream: MockUpstream, start_nginx: Callable[[Path], NginxServer], tmp_path: Path) -> None:
    config = tmp_path / "satmeter.yaml"
    config.write_text(LIFECYCLE_CONFIG)
    server = SatmeterServer(satmeter_bin, tmp_path / "run", mock_upstream.base_url, UPSTREAM_KEY, config,
                            extra_env={"SATMETER_PROCESSES": "2", "SATMETER_THREADS": "4"})
    server.start()
    try:
        nginx = start_nginx(server.socket_path)
        key = server.create_key(1_000_000)["api_key"]
        stream = Stream(nginx, key, words=40, delay=0.2)
        stream.read_until(b'"content": "alpha"')
        # The worker serving the stream holds its reservation; kill it (not the supervisor).
        workers = [int(p) for p in os.popen(f"pgrep -P {server.proc.pid}").read().split()]
        assert len(workers) == 2
        busy = [w for w in workers if _holds_connection(w)]
        victim = busy[0] if busy else workers[0]
        os.kill(victim, signal.SIGKILL)
        stream.read_all()
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if balance(nginx, key)["reserved"] == 0:
                break
            time.sleep(0.5)
        after = balance(nginx, key)
        assert (after["reserved"], after["balance"]) == (0, 1_000_000)
        replacements = [int(p) for p in os.popen(f"pgrep -P {server.proc.pid}").read().split()]
        assert len(replacements) == 2 and victim not in replacements
        audit(server)
    finally:
        server.stop()
        assert server.returncode == 0


def _holds_connection(pid: int) -> bool:
    """True when the process has more than the listening socket open (it is serving a request)."""
    try:
        return sum(1 for fd in os.listdir(f"/proc/{pid}/fd") if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")) > 2
    except OSError:
        return False
