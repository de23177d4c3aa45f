"""bench/run.sh --quick, so the benchmark cannot rot: every target starts, every request is paid,
the per-stage profile and the streaming figures come out, and the ledger audit still balances."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from procs import REPO_ROOT

pytestmark = pytest.mark.satmeter


def test_quick_bench_reports_every_target_and_balances(satmeter_bin: Path, nginx_available: None) -> None:
    env = {**os.environ, "BENCH_TARGETS": "bare satmeter satmeter2 postgres"}
    env.pop("BENCH_PEERS", None)
    out = subprocess.run([str(REPO_ROOT / "bench" / "run.sh"), "--quick", str(satmeter_bin)], env=env,
                         capture_output=True, text=True, timeout=240)
    report = out.stdout
    assert out.returncode == 0, report + out.stderr
    for load in ("-t2 -c32", "-t1 -c1"):
        assert f"\n{load}:" in report, report
    for label, rows in (("bare nginx proxy_pass", 3), ("satmeter, 1 process (SQLite)", 5),
                        ("satmeter --processes 2 (SQLite)", 5), ("satmeter, 1 process (PostgreSQL)", 5)):
        # Two load tables and a streaming row; satmeter targets also a profile row per load.
        assert report.count(label) == rows, (label, report)
    for name in ("satmeter", "satmeter2", "postgres"):
        assert re.search(rf"^audit {name} +balanced: \d+ paid requests x \d+ msat", report, re.M), report
    profile = report.split("per-stage profile", 1)[1]
    row = next(line for line in profile.splitlines() if line.startswith("satmeter, 1 process (SQLite)"))
    stages = [float(v) for v in row.split(")", 1)[1].split()]
    assert len(stages) == 9 and all(v > 0 for v in stages), row
    assert "time to first byte" in report and "added p50 ms" in report, report


def _bench_module() -> ModuleType:
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    import bench
    return bench


def _audit_verdict(monkeypatch: pytest.MonkeyPatch, report: dict, balance_left: int, answered: int) -> str:
    """Bench.audit against a stand-in satmeter: the final request leaves `balance_left`, the
    ledger audit prints `report`."""
    bench = _bench_module()
    monkeypatch.setattr(bench, "post", lambda *_a, **_k: (200, {"x-satmeter-balance-msat": str(balance_left)}, b""))
    runner = bench.Bench.__new__(bench.Bench)
    runner.satmeter_cli = lambda *_a: subprocess.CompletedProcess([], 0 if report.get("consistent") else 1,
                                                                  stdout=json.dumps(report), stderr="")
    target = bench.Target("satmeter", "satmeter", paid=True, cost_msat=100, answered=answered, in_flight_bound=32)
    return runner.audit(target)


def test_the_bench_fails_when_the_books_do_not_balance(monkeypatch: pytest.MonkeyPatch) -> None:
    rich = _bench_module().RICH_MSAT
    ok = {"consistent": True, "held_reservations": 0, "reserved_msat": 0, "earned_msat": 1_000}
    # 10 requests of 100 msat, 9 answered before the final one (which the audit itself sends).
    assert _audit_verdict(monkeypatch, ok, rich - 1_000, 9).startswith("balanced: 10 paid requests")
    assert "unbalanced" in _audit_verdict(monkeypatch, {**ok, "consistent": False}, rich - 1_000, 9)
    assert "earned" in _audit_verdict(monkeypatch, {**ok, "earned_msat": 900}, rich - 1_000, 9)
    assert "whole number" in _audit_verdict(monkeypatch, {**ok, "earned_msat": 1_050}, rich - 1_050, 9)
    assert "charged for" in _audit_verdict(monkeypatch, ok, rich - 1_000, 50)
