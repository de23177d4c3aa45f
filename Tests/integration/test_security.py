"""Security properties of the running gateway, checked on the real files, sockets and logs.

- API keys are stored only as SHA-256: the plaintext key is nowhere in the database files.
- Keys, tokens (and their proofs' secrets) and the upstream key never reach a log: satmeter's
  stderr, nginx's error log and nginx's access log (whose format must not log credential headers).
- The state directory is 0700, every file in it 0600 and owned by the user satmeter runs as.
- The FastCGI socket is never world-writable, and a config asking for that is refused at start.

Timing-safe comparison is a unit test (Tests/SatmeterTests/Hostile/SecurityTests.swift).
Admin endpoints and sessions are not built yet, so they are not checked here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sqlite3
import stat
from pathlib import Path
from typing import Iterator

import pytest

from conftest import UPSTREAM_KEY
from gateway_helpers import GATEWAY_CONFIG
from http_client import post_json, raw_request
from mock_upstream import MockUpstream
from procs import REPO_ROOT, ManagedProcess
from satmeter_cli import SatmeterCLI
from servers import NginxServer, SatmeterServer

pytestmark = pytest.mark.satmeter

CHAT = "/v1/chat/completions"
BODY = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}).encode()
NOBODY_MINT = "http://127.0.0.1:9"
# NUT-00 vector (mint localhost:3338, not trusted here): parses, then is refused as untrusted.
NUT00_V4 = ("cashuBpGF0gaJhaUgArSaMTR9YJmFwgaNhYQFhc3hAOWE2ZGJiODQ3YmQyMzJiYTc2ZGIwZGYxOTcyMTZiMjlkM2I4Y2MxNDU1M2NkMjc4Mjdm"
            "YzFjYzk0MmZlZGI0ZWFjWCEDhhhUP_trhpXfStS6vN6So0qWvc2X3O4NfM-Y1HISZ5JhZGlUaGFuayB5b3VhbXVodHRwOi8vbG9jYWxob3N0OjMzMzhhdWNzYXQ=")
NUT00_V4_SECRET = "9a6dbb847bd232ba76db0df197216b29d3b8cc14553cd27827fc1cc942fedb4e"


@pytest.fixture(scope="module")
def satmeter_config() -> str:
    return GATEWAY_CONFIG + f"cashu:\n  mints: [\"{NOBODY_MINT}\"]\n"


def v3_token(secret: str, amount: int = 8, mint: str = NOBODY_MINT) -> str:
    document = {"token": [{"mint": mint, "proofs": [{"amount": amount, "id": "009a1f293253e41e", "secret": secret,
                                                    "C": "02" + "cd" * 32}]}], "unit": "sat"}
    return "cashuA" + base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- keys are hashed ----------------------------------------------------------------


def test_api_keys_are_stored_only_as_sha256(gateway: NginxServer, satmeter: SatmeterServer) -> None:
    key = satmeter.create_key(100_000)["api_key"]
    assert post_json(gateway, CHAT, BODY, {"Authorization": f"Bearer {key}"}).status == 200  # the request path writes too
    files = [path for path in satmeter.state_dir.rglob("*") if path.is_file()]
    assert any(path.name == "satmeter.db" for path in files), files
    secret_part = key.removeprefix("sk-")
    for path in files:
        data = path.read_bytes()
        assert key.encode() not in data and secret_part.encode() not in data, f"the key is in {path}"
        assert secret_part.upper().encode() not in data, f"the key is in {path}"
    with sqlite3.connect(f"file:{satmeter.state_dir / 'satmeter.db'}?mode=ro", uri=True) as db:
        hint, = db.execute("SELECT key_hint FROM accounts WHERE key_hash = ?",
                           (hashlib.sha256(key.encode()).hexdigest(),)).fetchone()
    assert key.startswith(hint.rstrip("…")) and len(hint.rstrip("…")) <= 7, hint


# --- secrets never logged -----------------------------------------------------------


@pytest.fixture(scope="module")
def secrets_sent(gateway: NginxServer, satmeter: SatmeterServer, mock_upstream: MockUpstream) -> list[str]:
    """Requests that carry every kind of secret through success and failure paths; returns the secrets."""
    good = satmeter.create_key(10**9)["api_key"]
    unknown = "sk-" + "7e" * 32
    x_api_key = satmeter.create_key(10**9)["api_key"]
    bearer_token = v3_token("bearer-token-secret-0f9e8d7c")
    overflow_token = v3_token("overflow-token-secret-6b5a4c3d", amount=2**63)
    headers_sent = [
        {"Authorization": f"Bearer {good}"},
        {"Authorization": f"Bearer {good}", "X-Mock-Behavior": "fail-500"},
        {"Authorization": f"Bearer {good}", "X-Mock-Behavior": "drop-connection"},
        {"Authorization": f"Bearer {unknown}"},
        {"X-Api-Key": x_api_key},
        {"X-Cashu": NUT00_V4},
        {"X-Cashu": NUT00_V4[:-12]},
        {"X-Cashu": overflow_token},
        {"Authorization": f"Bearer {bearer_token}"},
    ]
    statuses = [post_json(gateway, CHAT, BODY, headers).status for headers in headers_sent]
    response, _ = raw_request(gateway, "GET", "/v1/wallet/balance", headers={"Authorization": f"Bearer {good}"})
    assert statuses == [200, 502, 502, 401, 200, 400, 400, 400, 503] and response.status == 200, statuses
    return [good, unknown, x_api_key, NUT00_V4, NUT00_V4[:-12], NUT00_V4_SECRET, bearer_token, "bearer-token-secret-0f9e8d7c",
            overflow_token, "overflow-token-secret-6b5a4c3d", UPSTREAM_KEY]


def logs(gateway: NginxServer, satmeter: SatmeterServer) -> dict[str, str]:
    assert gateway.config is not None
    return {
        "satmeter stderr": satmeter.stderr(),
        "nginx error log": gateway.error_log(),
        "nginx access log": gateway.config.access_log.read_text(errors="replace"),
    }


def test_keys_and_tokens_never_reach_a_log(gateway: NginxServer, satmeter: SatmeterServer, secrets_sent: list[str]) -> None:
    found = logs(gateway, satmeter)
    # The logs are real and saw these requests (else the test would pass vacuously).
    assert "serving on" in found["satmeter stderr"]
    assert found["nginx access log"].count(f"POST {CHAT}") >= 9
    for name, text in found.items():
        for secret in secrets_sent:
            assert secret not in text, f"{name} holds a secret ({secret[:12]}…)"
        assert not re.search(r"sk-[0-9a-f]{16}", text), f"{name} holds something key-shaped"
        assert not re.search(r"cashu[AB][A-Za-z0-9_-]{20}", text), f"{name} holds something token-shaped"


def test_key_management_output_keeps_the_key_off_stderr(satmeter: SatmeterServer) -> None:
    result = satmeter.cli.run("keys", "create", "--balance-msat", "1", "--json")
    key = json.loads(result.stdout)["api_key"]
    assert key not in result.stderr


def test_shipped_nginx_config_logs_no_credential_headers() -> None:
    """Only the default `combined` format is used, which logs no request headers but Referer and User-Agent."""
    for conf in sorted((REPO_ROOT / "nginx").glob("*.conf")):
        text = "\n".join(line.split("#", 1)[0] for line in conf.read_text().splitlines())
        assert "log_format" not in text, conf
        for variable in ("$http_authorization", "$http_x_cashu", "$http_x_api_key", "$request_body", "$http_cookie"):
            assert variable not in text.lower(), (conf, variable)
        for line in text.splitlines():
            if line.strip().startswith("access_log"):
                assert len(line.split()) == 2, f"{conf}: access_log with a custom format: {line}"


def test_shipped_error_logs_stay_above_info() -> None:
    """At info, nginx logs the start of an over-long header line, which may be a key or spendable ecash."""
    for conf in sorted((REPO_ROOT / "nginx").glob("*.conf")):
        for line in conf.read_text().splitlines():
            words = line.split("#", 1)[0].split()
            if words[:1] == ["error_log"] and len(words) > 2:
                assert words[2].rstrip(";") not in ("info", "debug"), f"{conf}: {line.strip()}"


# --- files and the socket -----------------------------------------------------------


def serve(satmeter_bin: Path, run_dir: Path, state_dir: Path, mock: MockUpstream, config: str | None = None) -> ManagedProcess:
    """`satmeter serve` on a state directory that does not exist yet (SatmeterServer pre-creates its own)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    argv = [str(satmeter_bin), "serve", "--listen", f"unix:{run_dir / 'fcgi.sock'}", "--state-dir", str(state_dir)]
    if config is not None:
        (run_dir / "satmeter.yaml").write_text(config)
        argv += ["--config", str(run_dir / "satmeter.yaml")]
    env = {**os.environ, "SATMETER_UPSTREAM_URL": mock.base_url, "SATMETER_UPSTREAM_API_KEY": UPSTREAM_KEY,
           "SATMETER_BTC_USD": "100000"}
    return ManagedProcess("satmeter", argv, run_dir, env=env).start()


@pytest.fixture
def fresh_satmeter(satmeter_bin: Path, mock_upstream: MockUpstream, tmp_path: Path) -> Iterator[tuple[ManagedProcess, Path, Path]]:
    state_dir = tmp_path / "var" / "lib" / "satmeter"
    proc = serve(satmeter_bin, tmp_path / "run", state_dir, mock_upstream)
    try:
        socket_path = tmp_path / "run" / "fcgi.sock"
        proc.wait_until(socket_path.exists, "the socket", 15)
        yield proc, state_dir, socket_path
    finally:
        proc.stop()


def test_state_directory_and_files_are_private_to_the_service_user(fresh_satmeter: tuple[ManagedProcess, Path, Path],
                                                                  satmeter_bin: Path) -> None:
    proc, state_dir, _ = fresh_satmeter
    # A write after start, so the WAL and shared-memory files exist as well.
    SatmeterCLI(satmeter_bin, state_dir).create_key(1)
    assert mode(state_dir) == 0o700, oct(mode(state_dir))
    files = [path for path in state_dir.rglob("*")]
    assert {"satmeter.db", "satmeter.db-wal"} <= {path.name for path in files}, files
    for path in files:
        assert path.stat().st_uid == os.getuid(), path
        assert mode(path) & 0o077 == 0, f"{path} is {oct(mode(path))}"
        if path.is_file():
            assert mode(path) == 0o600, f"{path} is {oct(mode(path))}"
    assert proc.alive()


def test_files_stay_private_in_a_directory_someone_else_created(satmeter: SatmeterServer) -> None:
    """The test fixture creates the state dir itself (0755 by the umask); satmeter's files in it are 0600 all the same."""
    files = [path for path in satmeter.state_dir.rglob("*") if path.is_file()]
    assert files
    for path in files:
        assert mode(path) == 0o600, f"{path} is {oct(mode(path))}"


def test_shipped_units_make_the_state_private_and_the_socket_group_only() -> None:
    service = (REPO_ROOT / "systemd" / "satmeter.service").read_text()
    socket_unit = (REPO_ROOT / "systemd" / "satmeter.socket").read_text()
    for line in ("StateDirectoryMode=0700", "UMask=0077", "DynamicUser=yes"):
        assert re.search(rf"^{line}$", service, re.M), line
    assert re.search(r"^SocketMode=0660$", socket_unit, re.M)


def test_the_fastcgi_socket_is_not_world_writable(fresh_satmeter: tuple[ManagedProcess, Path, Path],
                                                  satmeter: SatmeterServer) -> None:
    _, _, socket_path = fresh_satmeter
    for path in (socket_path, satmeter.socket_path):
        assert stat.S_ISSOCK(path.stat().st_mode)
        assert mode(path) == 0o660, f"{path} is {oct(mode(path))}"


@pytest.mark.parametrize("server_section", [
    'socket_mode: "0666"',
    'socket_mode: "0777"',
    'socket_mode: "0662"',
    'listen: "*:9000"',
    'listen: ":9000"',
])
def test_a_world_writable_socket_or_a_wildcard_listen_is_refused_at_start(satmeter_bin: Path, mock_upstream: MockUpstream,
                                                                         tmp_path: Path, server_section: str) -> None:
    proc = serve(satmeter_bin, tmp_path / "run", tmp_path / "state", mock_upstream, f"server:\n  {server_section}\n")
    try:
        proc.popen.wait(timeout=15)
    finally:
        proc.stop()
    assert proc.returncode not in (0, None), proc.logs()
    assert not (tmp_path / "run" / "fcgi.sock").exists()
    assert re.search(r"world-writable|listen must be", proc.stderr()), proc.stderr()
