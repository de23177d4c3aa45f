"""Faults and load against the real stack, with the books checked after each scenario:
nginx reloaded under a stream, a full disk, a read-only database, and a load of 200 concurrent
clients on a few keys with streams, top-ups and withdrawals mixed in.

SATMETER_SLOW_TESTS=1 runs the long variants (the load for 60 s instead of 8 s)."""

from __future__ import annotations

import json
import os
import random
import signal
import shutil
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from cashu_wallet import Wallet
from conftest import UPSTREAM_KEY
from gateway_helpers import GATEWAY_CONFIG, audit, balance, wallet_audit
from http_client import raw_request
from mock_upstream import MockUpstream
from servers import MintServer, NginxServer, SatmeterServer
from test_lifecycle import Stream

pytestmark = pytest.mark.satmeter

SLOW = os.environ.get("SATMETER_SLOW_TESTS") == "1"
CHAT = {"model": "gpt-4o-mini", "max_tokens": 40, "messages": [{"role": "user", "content": "hello there"}]}


@pytest.fixture(scope="module")
def satmeter_config(mint: MintServer) -> str:
    return GATEWAY_CONFIG + f"""
cashu:
  mints: ["{mint.url}"]
"""


def test_nginx_reload_does_not_cut_a_stream(gateway: NginxServer, satmeter: SatmeterServer,
                                           create_key: Callable[[int], dict[str, Any]]) -> None:
    key = create_key(1_000_000)["api_key"]
    stream = Stream(gateway, key, words=12, delay=0.2)
    stream.read_until(b'"content": "alpha"')
    os.kill(gateway.proc.pid, signal.SIGHUP)  # reload: old workers finish what they serve
    data = stream.read_all()
    assert data.count(b'"delta": {"content"') == 12 and b"data: [DONE]" in data
    assert balance(gateway, key)["reserved"] == 0
    audit(satmeter)


@pytest.fixture
def tiny_state(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs for the state directory, so the disk can be filled (needs mount rights)."""
    mountpoint = tmp_path / "tiny"
    mountpoint.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mountpoint)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)


def test_full_disk_refuses_cleanly_and_loses_nothing(satmeter_bin: Path, mock_upstream: MockUpstream, tiny_state: Path,
                                                     start_nginx: Callable[[Path], NginxServer], tmp_path: Path) -> None:
    config = tmp_path / "satmeter.yaml"
    config.write_text(GATEWAY_CONFIG)
    server = SatmeterServer(satmeter_bin, tmp_path / "run", mock_upstream.base_url, UPSTREAM_KEY, config)
    server.state_dir = tiny_state / "state"
    server.start()
    try:
        nginx = start_nginx(server.socket_path)
        key = server.create_key(500_000)["api_key"]
        body = json.dumps(CHAT).encode()
        ok, _ = raw_request(nginx, "POST", "/v1/chat/completions", body, {"Authorization": f"Bearer {key}"})
        assert ok.status == 200
        before = balance(nginx, key)
        filler = tiny_state / "filler"
        filled = subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k"], capture_output=True, text=True)  # until full
        # The disk really is full: dd stopped on ENOSPC, and not a page is left.
        assert filled.returncode != 0 and "No space left" in filled.stderr, filled.stderr
        assert shutil.disk_usage(tiny_state).free < 4096
        statuses = Counter()
        for _ in range(30):  # enough writes to need new pages
            response, answer = raw_request(nginx, "POST", "/v1/chat/completions", body, {"Authorization": f"Bearer {key}"})
            statuses[response.status] += 1
            assert response.status in (200, 503), answer
            if response.status == 503:
                assert json.loads(answer)["error"]["type"] == "service_unavailable"
        filler.unlink()
        assert statuses[503] > 0, statuses  # the full disk was noticed, not written around
        after = balance(nginx, key)
        assert after["reserved"] == 0
        # Every request that got a 200 was charged exactly once; the refused ones nothing.
        assert after["total_spent"] - before["total_spent"] == statuses[200] * 1000, statuses
        audit(server)
    finally:
        server.stop()


def test_read_only_database_stops_the_start_cleanly(satmeter_bin: Path, mock_upstream: MockUpstream, tiny_state: Path,
                                                    start_nginx: Callable[[Path], NginxServer], tmp_path: Path) -> None:
    """A database that turned read-only (a disk remounted after an error): the worker refuses to
    start, saying why, and once the disk is writable again every balance is as it was."""
    config = tmp_path / "satmeter.yaml"
    config.write_text(GATEWAY_CONFIG)
    server = SatmeterServer(satmeter_bin, tmp_path / "run", mock_upstream.base_url, UPSTREAM_KEY, config)
    server.state_dir = tiny_state / "state"
    server.start()
    nginx = start_nginx(server.socket_path)
    key = server.create_key(500_000)["api_key"]
    response, _ = raw_request(nginx, "POST", "/v1/chat/completions", json.dumps(CHAT).encode(), {"Authorization": f"Bearer {key}"})
    assert response.status == 200
    server.stop()
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_state)], check=True)
    try:
        refused = server.cli.run("serve", "--listen", f"unix:{server.socket_path}", check=False, timeout=20)
        assert refused.returncode != 0
        assert "cannot start" in refused.stderr and "not writable" in refused.stderr or "readonly" in refused.stderr.lower(), refused.stderr
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(tiny_state)], check=True)
    server.socket_path.unlink(missing_ok=True)
    server.start()
    try:
        after = balance(nginx, key)
        assert (after["balance"], after["reserved"], after["total_spent"]) == (499_000, 0, 1000)
        audit(server)
    finally:
        server.stop()


@pytest.mark.mint
def test_two_hundred_clients_on_five_keys(gateway: NginxServer, satmeter: SatmeterServer, make_token: Callable[[int], str],
                                          create_key: Callable[[int], dict[str, Any]], new_wallet: Callable[[], Wallet]) -> None:
    duration = 60 if SLOW else 8
    tokens = [make_token(200) for _ in range(4)]  # minted before the clock starts
    ecash_keys = []
    for token in tokens[:2]:
        response, body = raw_request(gateway, "POST", "/v1/wallet/create", json.dumps({"cashu_token": token}).encode())
        assert response.status == 200, body
        ecash_keys.append(json.loads(body)["api_key"])
    # Three keys with operator credit carry most of the traffic; only ecash keys withdraw, since
    # credit without ecash behind it is not the node's to hand out as ecash.
    keys = ecash_keys + [create_key(10**9)["api_key"] for _ in range(3)]
    topups = tokens[2:]
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def client(index: int) -> None:
        rng = random.Random(index)
        while time.monotonic() < stop_at:
            key = rng.choice(keys)
            roll = rng.random()
            try:
                if roll < 0.01 and topups:
                    with lock:
                        token = topups.pop() if topups else None
                    if token is None:
                        continue
                    response, _ = raw_request(gateway, "POST", "/v1/wallet/topup", json.dumps({"cashu_token": token}).encode(),
                                              {"Authorization": f"Bearer {key}"}, timeout=30)
                    kind = "topup"
                elif roll < 0.02:
                    response, body = raw_request(gateway, "POST", "/v1/wallet/withdraw", json.dumps({"amount": 2}).encode(),
                                                 {"Authorization": f"Bearer {rng.choice(ecash_keys)}"}, timeout=30)
                    kind = "withdraw"
                    if response.status == 200:
                        with lock:
                            withdrawn.append(json.loads(body)["token"])
                else:
                    stream = roll < 0.3
                    body = json.dumps({**CHAT, "stream": stream}).encode()
                    response, _ = raw_request(gateway, "POST", "/v1/chat/completions", body,
                                              {"Authorization": f"Bearer {key}", "X-Mock-Chunk-Delay": "0.005"}, timeout=30)
                    kind = "stream" if stream else "chat"
                status = response.status
            except OSError as error:
                kind, status = "socket", type(error).__name__
            with lock:
                outcomes[f"{kind} {status}"] += 1

    withdrawn: list[str] = []
    threads = [threading.Thread(target=client, args=(i,)) for i in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = sum(outcomes.values())
    errors = sum(n for k, n in outcomes.items() if not k.endswith((" 200", " 402")))
    print(f"\nload: {total} requests in {duration} s by 200 clients, {errors} errors ({100 * errors / max(total, 1):.2f}%): "
          f"{dict(sorted(outcomes.items()))}")
    assert errors == 0, outcomes
    for key in keys:
        assert balance(gateway, key)["balance"] >= 0
    audit(satmeter)
    wallet_audit(satmeter)
    receiver = new_wallet()
    for token in withdrawn[:3]:
        receiver.receive(token)
