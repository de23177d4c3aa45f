"""bench/run.sh --quick, so the benchmark cannot rot: every target starts, every request is paid,
the per-stage profile and the streaming figures come out, and the ledger audit still balances."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

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
