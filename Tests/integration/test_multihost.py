"""Two gateway hosts on one PostgreSQL ledger (docs/postgres.md): two `satmeter serve` with their
own state dirs behind one nginx `upstream` block, a real PostgreSQL server (Debian's package,
initdb'd into a temp dir by the module and stopped at its end).

Money invariants as on one host: a key that affords ten requests gets exactly ten over both
hosts; a host killed mid-stream has its reservation released by the other, which keeps serving;
PostgreSQL crashing under load gives 503s (nothing charged), then recovery, books balanced."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from conftest import UPSTREAM_KEY
from gateway_helpers import GATEWAY_CONFIG, audit, balance, wallet_audit
from http_client import raw_request, raw_http
from mock_upstream import MockUpstream
from postgres_server import PostgresServer
from servers import MintServer, NginxServer, SatmeterServer
from http_client import post_json

pytestmark = pytest.mark.satmeter

CHEAP = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}).encode()


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    yield server
    server.cleanup()


class TwoHostNginx(NginxServer):
    """The shipped snippets, with a second `server` line in the one `upstream satmeter_fcgi` block."""

    def __init__(self, prefix: Path, sockets: list[Path]) -> None:
        super().__init__(prefix, sockets[0])
        self.sockets = sockets

    def _proc_for_port(self, port: int) -> Any:
        proc = super()._proc_for_port(port)
        assert self.config is not None
        snippet = self.config.conf_dir / "snippets" / "satmeter-upstream.conf"
        text = snippet.read_text()
        first = f"server unix:{self.sockets[0]};"
        assert text.count(first) == 1, text
        snippet.write_text(text.replace(first, "".join(f"server unix:{s};\n    " for s in self.sockets).rstrip()))
        # Which host answered each request: the access log names the upstream socket.
        main = self.config.conf_path.read_text()
        plain = f"access_log {self.config.access_log};"
        assert main.count(plain) == 1
        self.config.conf_path.write_text(main.replace(
            plain, f"log_format hosts '$upstream_addr $status';\n    access_log {self.config.access_log} hosts;"))
        return proc

    def answers_by_host(self) -> dict[str, list[int]]:
        """For each upstream socket, the statuses it answered (from the access log)."""
        assert self.config is not None
        by_host: dict[str, list[int]] = {}
        for line in self.config.access_log.read_text().splitlines():
            upstream, status = line.rsplit(" ", 1)
            by_host.setdefault(upstream, []).append(int(status))
        return by_host


class Hosts:
    def __init__(self, satmeter_bin: Path, mock: MockUpstream, postgres: PostgresServer, base: Path,
                 config_yaml: str = GATEWAY_CONFIG) -> None:
        url = postgres.new_database()
        config = base / "satmeter.yaml"
        base.mkdir(parents=True, exist_ok=True)
        config.write_text(config_yaml)
        self.postgres = postgres
        self.url = url
        self.servers = [SatmeterServer(satmeter_bin, base / f"host{i}", mock.base_url, UPSTREAM_KEY, config,
                                       extra_env={"SATMETER_DATABASE_URL": url, "SATMETER_THREADS": "16"}) for i in range(2)]
        for server in self.servers:
            server.start()
        self.nginx = TwoHostNginx(base / "nginx", [s.socket_path for s in self.servers]).start()

    def owners(self) -> set[str]:
        """Distinct reservation owners (host tag + pid + start time) that ever reserved."""
        out = self.postgres.psql("SELECT DISTINCT owner FROM reservations", self.url.rsplit("/", 1)[1])
        return set(out.split("\n")) - {""}

    def stop(self) -> None:
        self.nginx.stop()
        for server in self.servers:
            server.stop()


@pytest.fixture
def hosts(satmeter_bin: Path, mock_upstream: MockUpstream, postgres: PostgresServer, tmp_path: Path) -> Iterator[Hosts]:
    started = Hosts(satmeter_bin, mock_upstream, postgres, tmp_path)
    yield started
    started.stop()


def call(nginx: NginxServer, key: str, headers: dict[str, str] | None = None) -> int:
    response, _ = raw_request(nginx, "POST", "/v1/chat/completions", CHEAP,
                              {"Authorization": f"Bearer {key}", "X-Mock-Chunk-Delay": "0", **(headers or {})})
    return response.status


def refuses_connections(socket_path: Path) -> bool:
    import socket
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(socket_path))
        return False
    except ConnectionRefusedError:
        return True
    finally:
        probe.close()


def in_parallel(count: int, work: Callable[[], int]) -> list[int]:
    results: list[int] = []
    lock = threading.Lock()

    def run() -> None:
        status = work()
        with lock:
            results.append(status)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_fifty_concurrent_requests_over_two_hosts_on_a_key_that_affords_ten(hosts: Hosts) -> None:
    key = hosts.servers[0].create_key(10_000)["api_key"]  # each request costs the 1,000 msat minimum
    statuses = in_parallel(50, lambda: call(hosts.nginx, key))
    assert statuses.count(200) == 10 and statuses.count(402) == 40, statuses
    after = balance(hosts.nginx, key)
    assert (after["balance"], after["reserved"], after["total_spent"]) == (0, 0, 10_000)
    answered = hosts.nginx.answers_by_host()
    assert sorted(answered) == sorted(f"unix:{s.socket_path}" for s in hosts.servers), answered
    assert all(len(statuses) >= 10 for statuses in answered.values()), answered  # spread over both hosts
    for server in hosts.servers:
        assert audit(server)["consistent"]


def test_a_requests_per_minute_limit_holds_over_two_hosts(hosts: Hosts) -> None:
    """Issue 10.9: the limit is decided in the reservation's serializable transaction."""
    key = hosts.servers[0].cli.json("keys", "create", "--balance-msat", "100000", "--rpm", "10", "--json")["api_key"]
    statuses = in_parallel(40, lambda: call(hosts.nginx, key))
    assert statuses.count(200) == 10 and statuses.count(429) == 30, statuses
    assert balance(hosts.nginx, key)["total_spent"] == 10_000
    answered = hosts.nginx.answers_by_host()
    assert len(answered) == 2 and all(len(statuses) >= 10 for statuses in answered.values()), answered  # both hosts decided
    for server in hosts.servers:
        assert audit(server)["consistent"]


def test_a_host_killed_mid_stream_is_swept_by_the_other_which_keeps_serving(hosts: Hosts) -> None:
    key = hosts.servers[0].create_key(1_000_000)["api_key"]
    body = json.dumps({"model": "gpt-4o-mini", "stream": True, "max_tokens": 40,
                       "messages": [{"role": "user", "content": "count slowly"}]}).encode()
    import socket
    sock = socket.create_connection(("127.0.0.1", hosts.nginx.port), timeout=30)
    sock.sendall(raw_http("POST", "/v1/chat/completions",
                          [("Content-Type", "application/json"), ("Authorization", f"Bearer {key}"), ("X-Mock-Chunk-Delay", "0.2")], body))
    data = b""
    while b'"content": "alpha"' not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    assert balance(hosts.nginx, key)["reserved"] > 0
    owner = hosts.owners().pop()  # pid:PID:START@HOST of the worker holding the stream
    worker = int(owner.split(":")[1])
    # The worker is the host's process or (under `serve`'s supervisor) its child.
    parent = int(Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()[1])
    victim = next(s for s in hosts.servers if s.proc.pid in (worker, parent))
    survivor = next(s for s in hosts.servers if s is not victim)
    os.killpg(victim.proc.pid, signal.SIGKILL)
    victim.proc.popen.wait(timeout=5)
    # Dead means its socket refuses connections: every process (and thread: a killed worker's
    # main thread shows as a zombie while its other threads still hold the socket) is gone.
    # Before that, a request nginx sends there is reset (a 502, charged nothing: docs/postgres.md).
    deadline = time.monotonic() + 10
    while not refuses_connections(victim.socket_path):
        assert time.monotonic() < deadline, "the killed host's socket still accepts connections"
        time.sleep(0.05)
    sock.close()
    # The survivor serves every request: a POST that nginx sends to the dead socket is refused at
    # connect, before any byte of it reached a host, and nginx passes it on (docs/postgres.md).
    served = [call(hosts.nginx, key) for _ in range(4)]
    assert served == [200] * 4, (served, hosts.nginx.answers_by_host())
    # ... and its sweeper (every 30 s) releases the dead host's hold.
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline and balance(hosts.nginx, key)["reserved"] != 0:
        time.sleep(1)
    after = balance(hosts.nginx, key)
    assert after["reserved"] == 0 and after["balance"] == 1_000_000 - after["total_spent"]
    assert after["total_spent"] == 4 * 1000
    assert audit(survivor)["consistent"]


def test_postgres_restarted_under_load_gives_503s_then_recovers_with_balanced_books(hosts: Hosts) -> None:
    key = hosts.servers[0].create_key(10_000_000)["api_key"]
    statuses: list[int] = []
    stop = threading.Event()
    lock = threading.Lock()

    def load() -> None:
        while not stop.is_set():
            status = call(hosts.nginx, key)
            with lock:
                statuses.append(status)

    workers = [threading.Thread(target=load) for _ in range(4)]
    for t in workers:
        t.start()
    time.sleep(1.0)
    # A crash (no shutdown checkpoint, every connection cut) under load.
    hosts.postgres.stop("immediate")
    try:
        # While it is down, a request that needs the ledger gets a 503 at once, on either host,
        # whatever that host's pooled connections were doing (nothing charged, no hang, no 500).
        down = [raw_request(hosts.nginx, "POST", "/v1/chat/completions", CHEAP, {"Authorization": f"Bearer {key}"})
                for _ in range(4)]
    finally:
        hosts.postgres.start()
    assert [response.status for response, _ in down] == [503] * 4, down
    assert all(json.loads(body)["error"]["type"] for _, body in down), down  # OpenAI-shaped
    time.sleep(1.5)
    stop.set()
    for t in workers:
        t.join()
    # Under load only 200s and 503s: a request caught mid-way waited for the database to close
    # its reservation; the last ones are served on fresh connections.
    assert set(statuses) <= {200, 503} and statuses[-1] == 200, (sorted(set(statuses)), statuses[-20:])
    # After recovery every host serves again (each replaced its broken connections) and the books balance.
    assert [call(hosts.nginx, key) for _ in range(4)] == [200] * 4
    after = balance(hosts.nginx, key)
    assert after["reserved"] == 0
    assert after["balance"] + after["total_spent"] == 10_000_000
    for server in hosts.servers:
        assert audit(server)["consistent"]


@pytest.mark.mint
def test_one_token_spent_at_both_hosts_at_once_is_credited_once(
        satmeter_bin: Path, mock_upstream: MockUpstream, postgres: PostgresServer, tmp_path: Path, mint: MintServer,
        make_token: Callable[[int], str], start_nginx: Callable[[Path], NginxServer]) -> None:
    hosts = Hosts(satmeter_bin, mock_upstream, postgres, tmp_path, GATEWAY_CONFIG + f"""
cashu:
  mints: ["{mint.url}"]
""")
    try:
        # One nginx per host, so each racer knows which host it reaches.
        fronts = [start_nginx(server.socket_path) for server in hosts.servers]
        token = make_token(100)
        turn = iter(range(1000))
        lock = threading.Lock()

        def spend() -> int:
            with lock:
                front = fronts[next(turn) % 2]
            return post_json(front, "/v1/wallet/create", {"cashu_token": token}).status

        statuses = in_parallel(10, spend)
        assert statuses.count(200) == 1, statuses
        assert all(s in (400, 409) for s in statuses if s != 200), statuses
        report = audit(hosts.servers[0])
        assert report["consistent"] and report["deposited_msat"] == 100_000
        assert wallet_audit(hosts.servers[1])["consistent"]  # the ecash at the mint matches, seen from either host
    finally:
        hosts.stop()


def test_ledger_migrate_moves_a_used_sqlite_ledger_to_postgres(
        satmeter_bin: Path, mock_upstream: MockUpstream, postgres: PostgresServer, tmp_path: Path,
        start_nginx: Callable[[Path], NginxServer]) -> None:
    config = tmp_path / "sqlite.yaml"
    config.write_text(GATEWAY_CONFIG)
    single = SatmeterServer(satmeter_bin, tmp_path / "sqlite-host", mock_upstream.base_url, UPSTREAM_KEY, config,
                            extra_env={"SATMETER_DATABASE_URL": ""})
    single.start()
    try:
        nginx = start_nginx(single.socket_path)
        key = single.create_key(50_000)["api_key"]
        assert [call(nginx, key) for _ in range(3)] == [200] * 3
        before = balance(nginx, key)
        time.sleep(1.5)  # the request log is written by the housekeeping tick
    finally:
        single.stop()
    url = postgres.new_database()
    migrated = single.cli.run("ledger", "migrate", "--from", f"sqlite:{single.state_dir}/satmeter.db", "--to", url)
    report = json.loads(migrated.stdout)
    assert report["consistent"] and report["copied"]["accounts"] == 1 and report["copied"]["request_log"] >= 3, report
    assert report["source_audit"]["earned_msat"] == report["destination_audit"]["earned_msat"] == 3_000
    again = single.cli.run("ledger", "migrate", "--from", f"sqlite:{single.state_dir}/satmeter.db", "--to", url, check=False)
    assert again.returncode != 0 and "not empty" in again.stderr  # never into a used database
    # The same key, with its balance, now served by PostgreSQL.
    on_postgres = SatmeterServer(satmeter_bin, tmp_path / "pg-host", mock_upstream.base_url, UPSTREAM_KEY, config,
                                 extra_env={"SATMETER_DATABASE_URL": url})
    on_postgres.start()
    try:
        nginx = start_nginx(on_postgres.socket_path)
        assert balance(nginx, key) == before
        assert call(nginx, key) == 200
        assert balance(nginx, key)["total_spent"] == 4_000
        assert audit(on_postgres)["consistent"]
    finally:
        on_postgres.stop()
