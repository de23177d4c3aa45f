"""The audits every scenario trusts must fail on corrupted books. Real traffic (an ecash deposit
and a paid request) fills the books; each test then tampers with a snapshot of the SQLite file
directly — a row changed, a charge recorded twice, a proof removed — and runs `satmeter ledger
audit` and `satmeter wallet audit` on it, which must exit 1 and say the books are inconsistent.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest

from cashu_wallet import TokenFactory
from gateway_helpers import GATEWAY_CONFIG, audit, wallet_audit
from http_client import raw_request
from servers import MintServer, NginxServer, SatmeterServer

pytestmark = [pytest.mark.satmeter, pytest.mark.mint]


@pytest.fixture(scope="module")
def satmeter_config(mint: MintServer) -> str:
    return GATEWAY_CONFIG + f'cashu:\n  mints: ["{mint.url}"]\n'


@pytest.fixture(scope="module")
def filled_books(satmeter: SatmeterServer, gateway: NginxServer, make_token: TokenFactory) -> SatmeterServer:
    """An ecash deposit, a paid request with a charge, and balanced books."""
    response, raw = raw_request(gateway, "POST", "/v1/wallet/create", json.dumps({"cashu_token": make_token(50)}).encode(),
                                {"Content-Type": "application/json"})
    assert response.status == 200, raw
    key = json.loads(raw)["api_key"]
    chat = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello there"}]}).encode()
    response, raw = raw_request(gateway, "POST", "/v1/chat/completions", chat, {"Authorization": f"Bearer {key}"})
    assert response.status == 200, raw
    audit(satmeter)
    wallet_audit(satmeter)
    return satmeter


def _snapshot(server: SatmeterServer, into: Path) -> Path:
    """A consistent copy of the state directory (SQLite's online backup, not a file copy)."""
    shutil.copytree(server.state_dir, into, ignore=shutil.ignore_patterns("satmeter.db*"))
    source = sqlite3.connect(f"file:{server.state_dir / 'satmeter.db'}?mode=ro", uri=True)
    target = sqlite3.connect(into / "satmeter.db")
    with target:
        source.backup(target)
    source.close()
    target.close()
    return into


def _audit(server: SatmeterServer, state_dir: Path, which: str) -> tuple[int, dict[str, Any]]:
    argv = [str(server.binary), which, "audit", "--state-dir", str(state_dir), "--config", str(server.config)]
    result = subprocess.run(argv, env=server.env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    return result.returncode, json.loads(result.stdout)


TAMPERING: dict[str, tuple[str, bool, bool]] = {
    # name: (SQL, ledger audit must fail, wallet audit must fail)
    "a charge row changed": (
        "UPDATE ledger SET amount_msat = amount_msat + 1 WHERE id = (SELECT MAX(id) FROM ledger WHERE kind = 'charge')", True, True),
    "a balance changed": ("UPDATE accounts SET balance_msat = balance_msat + 1000 WHERE id = (SELECT MAX(id) FROM accounts)", True, True),
    "a charge recorded twice": (
        "INSERT INTO ledger(account_id, kind, amount_msat, request_id, created_at, note) "
        "SELECT account_id, kind, amount_msat, request_id, created_at, note FROM ledger WHERE kind = 'charge' LIMIT 1", True, True),
    # The wallet audit weighs ecash against balances and earnings, not the ledger's history:
    # a lost deposit row is the ledger audit's to find, a lost proof the wallet audit's.
    "a deposit row removed": ("DELETE FROM ledger WHERE id = (SELECT MIN(id) FROM ledger WHERE kind = 'deposit')", True, False),
    "a proof removed": ("DELETE FROM proofs WHERE secret = (SELECT secret FROM proofs WHERE state = 'unspent' LIMIT 1)", False, True),
}


def test_an_untouched_snapshot_passes_both_audits(filled_books: SatmeterServer, tmp_path: Path) -> None:
    copy = _snapshot(filled_books, tmp_path / "state")
    assert _audit(filled_books, copy, "ledger")[0] == 0
    code, report = _audit(filled_books, copy, "wallet")
    assert code == 0 and report["consistent"], report


@pytest.mark.parametrize("name", list(TAMPERING))
def test_audits_fail_on_tampered_books(name: str, filled_books: SatmeterServer, tmp_path: Path) -> None:
    sql, ledger_fails, wallet_fails = TAMPERING[name]
    copy = _snapshot(filled_books, tmp_path / "state")
    with sqlite3.connect(copy / "satmeter.db") as db:
        assert db.execute(sql).rowcount == 1
    code, report = _audit(filled_books, copy, "ledger")
    assert (code == 1 and not report["consistent"]) == ledger_fails, report
    code, report = _audit(filled_books, copy, "wallet")
    assert (code == 1 and not report["consistent"]) == wallet_fails, report
