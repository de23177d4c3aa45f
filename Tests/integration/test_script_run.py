"""The README's run command, run as a user runs it: `script/run` itself, as a subprocess.

Configured only through the environment the README documents: a free SATMETER_PORT, the mock
upstream as SATMETER_UPSTREAM_URL/SATMETER_UPSTREAM_API_KEY, the session's Nutshell mint as the
trusted mint (SATMETER_CASHU_MINTS), the state in a temporary SATMETER_STATE_DIR. One deviation
from a first run, on purpose: SATMETER_BIN is the binary under test (script/test's debug build),
so CI does not pay for a release build (several minutes on 2 cores) here; everything else in the
script — bootstrap, nginx's configuration, the socket, the dashboard, the signals — runs as
written. SATMETER_BTC_USD fixes the BTC price, since the machine has no network.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import cashu_token
from cashu_wallet import Wallet, parse_balance
from conftest import UPSTREAM_KEY
from http_client import post_json, request
from mock_upstream import MockUpstream
from procs import REPO_ROOT, ManagedProcess, http_ok
from satmeter_cli import SatmeterCLI
from servers import MintServer, start_on_free_port

pytestmark = [pytest.mark.satmeter, pytest.mark.mint]

SCRIPT = REPO_ROOT / "script" / "run"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 20}


def user_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any SATMETER_* setting, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SATMETER_")}
    return {**env, **settings}


def group_members(pgid: int) -> dict[int, str]:
    """pid → command name of every process in the process group."""
    members = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members[int(entry.name)] = name
    return members


@dataclass
class RunningScript:
    proc: ManagedProcess
    port: int
    state_dir: Path
    cli: SatmeterCLI

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def script_run(satmeter_bin: Path, mock_upstream: MockUpstream, mint: MintServer,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningScript]:
    base = tmp_path_factory.mktemp("script-run")
    state = base / "state"
    repo_state_existed = (REPO_ROOT / "state").exists()

    def proc_for_port(port: int) -> ManagedProcess:
        env = user_environment(SATMETER_PORT=str(port), SATMETER_UPSTREAM_URL=mock_upstream.base_url,
                               SATMETER_UPSTREAM_API_KEY=UPSTREAM_KEY, SATMETER_CASHU_MINTS=mint.url,
                               SATMETER_STATE_DIR=str(state), SATMETER_BIN=str(satmeter_bin), SATMETER_BTC_USD="100000")
        return ManagedProcess("script-run", [str(SCRIPT)], base / "logs", env=env, cwd=REPO_ROOT)

    # Ready when nginx serves and satmeter answers behind it; bootstrap checks its packages first.
    port, proc = start_on_free_port(proc_for_port, lambda port: http_ok(f"http://127.0.0.1:{port}/v1/models"),
                                    "script/run serving /v1/models", 180)
    try:
        yield RunningScript(proc, port, state, SatmeterCLI(satmeter_bin, state))
    finally:
        proc.stop(sig=signal.SIGINT)
        assert repo_state_existed or not (REPO_ROOT / "state").exists(), "script/run wrote ./state despite SATMETER_STATE_DIR"


def test_without_an_upstream_it_says_what_to_set_and_fails() -> None:
    result = subprocess.run([str(SCRIPT)], env=user_environment(), capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL, cwd=REPO_ROOT)
    assert result.returncode != 0
    assert "SATMETER_UPSTREAM_URL" in result.stderr and "SATMETER_UPSTREAM_API_KEY" in result.stderr, result.stderr
    assert "api.openai.com" in result.stderr  # an example of what to set, not a silent default


def test_a_key_created_as_it_says_pays_through_the_openai_sdk(script_run: RunningScript, openai_client: Any,
                                                            mock: MockUpstream) -> None:
    # The command script/run prints (the README's, with the binary and state dir of this run).
    hint = re.search(r"Create a key in another shell:\s+(.+)", script_run.proc.stdout())
    assert hint, script_run.proc.stdout()
    argv = shlex.split(hint.group(1))
    assert argv[1:5] == ["keys", "create", "--balance-msat", "1000000"], argv
    created = subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
                             env=user_environment(), cwd=REPO_ROOT)
    assert created.returncode == 0, created.stderr
    key = re.search(r"\bsk-[0-9A-Za-z]+", created.stdout)
    assert key, created.stdout

    client = openai_client(f"{script_run.url}/v1", key.group(0))
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content
    assert mock.requests()[-1]["headers"]["authorization"] == f"Bearer {UPSTREAM_KEY}"
    script_run.cli.ledger_audit()


def test_a_cashu_token_pays_a_request_and_the_change_is_real_ecash(
        script_run: RunningScript, make_token: Callable[[int], str], openai_client: Any, new_wallet: Callable[[], Wallet]) -> None:
    token = make_token(100)
    raw = openai_client(f"{script_run.url}/v1", "unused").chat.completions.with_raw_response.create(
        **CHAT, extra_headers={"X-Cashu": token})
    assert raw.parse().choices[0].message.content
    cost = int(raw.headers["X-Satmeter-Cost-Msat"])
    change = raw.headers["X-Cashu"]
    assert 0 < cost < 100_000 and change.startswith("cashuB")
    assert (100_000 - cost) // 1000 - 1 <= cashu_token.value(change) <= (100_000 - cost) // 1000
    # Nutshell's wallet CLI takes it: real, unspent ecash, worth what it says.
    assert parse_balance(new_wallet().run("receive", change)) == cashu_token.value(change)
    script_run.cli.ledger_audit()
    script_run.cli.wallet_audit()


def test_a_token_as_key_pays_too(script_run: RunningScript, make_token: Callable[[int], str]) -> None:
    token = make_token(50)
    reply = post_json(script_run.port, "/v1/chat/completions", CHAT, api_key=token)
    assert reply.status == 200, reply.body
    balance = request(script_run.port, "GET", "/v1/wallet/balance", headers={"Authorization": f"Bearer {token}"})
    assert balance.json["balance"] == 50_000 - int(reply.header("X-Satmeter-Cost-Msat"))


def test_the_admin_dashboard_is_served_from_the_checkout(script_run: RunningScript) -> None:
    reply = request(script_run.port, "GET", "/admin/")
    assert reply.status == 200
    assert reply.header("Content-Type", "").startswith("text/html")
    assert reply.body == (REPO_ROOT / "admin" / "index.html").read_bytes()
    script = re.search(rb'src="([^"]+\.js)"', reply.body)
    assert script, reply.body[:500]
    assert request(script_run.port, "GET", "/admin/" + script.group(1).decode()).status == 200


def test_ctrl_c_stops_nginx_and_satmeter(script_run: RunningScript) -> None:
    members = group_members(script_run.proc.pid)
    # The kernel's process name is the binary's file name, cut at 15 characters.
    satmeter_name = Path(os.environ.get("SATMETER_BIN", "satmeter")).name[:15]
    assert {"nginx", satmeter_name} <= set(members.values()), members
    os.killpg(script_run.proc.pid, signal.SIGINT)  # what Ctrl-C in its terminal does
    assert script_run.proc.popen is not None
    assert script_run.proc.popen.wait(timeout=30) == 130  # 128 + SIGINT, after stopping both
    deadline = time.monotonic() + 10
    while group_members(script_run.proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert group_members(script_run.proc.pid) == {}, "left running after script/run exited"
    assert not http_ok(f"{script_run.url}/admin/")
    script_run.cli.ledger_audit()
