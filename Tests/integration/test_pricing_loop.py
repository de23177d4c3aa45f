"""The pricing loop through the real stack: nginx (shipped snippets) → satmeter → mock upstream.

A proposal goes to the `x-pricing-version: v2` header cohort with `pricing apply --canary`; clients
of both cohorts get a 402 (an empty key) and some of them pay afterwards (a funded key, same
client); `report cohorts` (CLI and admin API) compares the cohorts with counts and a verdict;
`pricing promote` refuses while the canary converts worse, and promotes once it does not."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from admin_client import ADMIN_PASSWORD, UPSTREAM_KEY, AdminClient, admin_root
from gateway_helpers import GATEWAY_CONFIG, audit
from http_client import post_json
from mock_upstream import MockUpstream
from satmeter_cli import SatmeterCLI
from servers import NginxServer, SatmeterServer

pytestmark = pytest.mark.satmeter

ROUTE = "POST /v1/chat/completions"
CANARY = "headers.x-pricing-version=v2"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 5}
LOOP = "  loop: {min_samples: 4, conversion_window_seconds: 300, max_conversion_drop_points: 10}\n"


@pytest.fixture
def stack(satmeter_bin: Path, mock_upstream: MockUpstream, nginx_available: None, tmp_path: Path) -> Iterator[tuple[SatmeterServer, NginxServer]]:
    config = tmp_path / "satmeter.yaml"
    config.write_text(GATEWAY_CONFIG.replace("pricing:\n", "pricing:\n" + LOOP, 1))
    satmeter = SatmeterServer(satmeter_bin, tmp_path, mock_upstream.base_url, UPSTREAM_KEY, config,
                              {"SATMETER_ADMIN_PASSWORD": ADMIN_PASSWORD})
    nginx = NginxServer(tmp_path / "nginx", satmeter.socket_path, admin_root(tmp_path))
    try:
        satmeter.start()
        nginx.prefix.mkdir(parents=True, exist_ok=True)
        nginx.start()
        yield satmeter, nginx
    finally:
        nginx.stop()
        satmeter.stop()


def chat(nginx: NginxServer, key: str, client: str, canary: bool) -> int:
    headers = {"User-Agent": client, **({"X-Pricing-Version": "v2"} if canary else {})}
    return post_json(nginx, "/v1/chat/completions", CHAT, headers, api_key=key).status


def cohorts(satmeter: SatmeterServer) -> dict[str, Any]:
    report = json.loads(satmeter.cli.run("report", "cohorts", "--route", ROUTE, "--since", "1d", "--json").stdout)
    tables = {t["id"]: t for t in report["tables"]}
    rows = {r[0]: dict(zip(tables["cohorts"]["columns"], r)) for r in tables["cohorts"]["rows"]}
    return {"rows": rows, "verdict": {r[0]: r[1:] for r in tables["verdict"]["rows"]}, "models": tables["models"]["rows"]}


def wait_for(satmeter: SatmeterServer, check: Any, timeout: float = 10) -> dict[str, Any]:
    """The request log is written in batches: wait until the report shows what was sent."""
    deadline = time.monotonic() + timeout
    while True:
        report = cohorts(satmeter)
        if check(report["rows"]) or time.monotonic() > deadline:
            return report
        time.sleep(0.2)


def test_a_canary_cohort_is_compared_with_the_control_and_promoted(stack: tuple[SatmeterServer, NginxServer], tmp_path: Path) -> None:
    satmeter, nginx = stack
    cli = satmeter.cli
    rich = cli.create_key(10**9)["api_key"]
    empty = cli.create_key(0)["api_key"]
    proposal = tmp_path / "proposal.yaml"
    proposal.write_text('reason: "test canary"\nmodels:\n  gpt-4o-mini: { prompt_usd_per_1m: "1.5", completion_usd_per_1m: "2.2" }\n')
    started = cli.run("pricing", "apply", str(proposal), "--canary", "X-Pricing-Version=v2", check=False)
    # +50% asked on the prompt price: the canary gets the bounded step (+15%), and says so.
    assert started.returncode == 2, started.stdout + started.stderr
    assert f"canary started: {CANARY}" in started.stdout and "at most +15% per apply" in started.stdout

    # Workers install the canary at their next housekeeping tick: wait until a v2 request is logged under it.
    deadline = time.monotonic() + 10
    while True:
        assert chat(nginx, rich, "probe", canary=True) == 200
        if CANARY in wait_for(satmeter, lambda rows: CANARY in rows, timeout=1.5)["rows"] or time.monotonic() > deadline:
            break

    # Six clients per cohort get a 402; every control client pays, four of six canary clients do.
    for canary, paying in ((False, 6), (True, 4)):
        for i in range(6):
            client = f"{'canary' if canary else 'control'}-{i}"
            assert chat(nginx, empty, client, canary) == 402
            if i < paying:
                assert chat(nginx, rich, client, canary) == 200
    report = wait_for(satmeter, lambda rows: rows.get(CANARY, {}).get("payment_required") == 6
                      and rows.get("control", {}).get("converted") == 6)
    control, canary = report["rows"]["control"], report["rows"][CANARY]
    assert (control["payment_required"], control["converted"], control["conversion_pct"]) == (6, 6, 100.0)
    assert (canary["payment_required"], canary["converted"], canary["conversion_pct"]) == (6, 4, 66.7)
    assert canary["upstream_success_pct"] == 100.0 and canary["settlement_failures"] == 0
    assert canary["margin_per_request_msat"] is not None and control["margin_per_request_msat"] is not None
    assert {row[1] for row in report["models"]} == {"gpt-4o-mini"}
    word, why = report["verdict"][CANARY]
    assert word == "fail" and "conversion 66.7% vs control 100.0% (-33.3 points)" in why

    # The dashboard's API answers with the same report.
    admin = AdminClient(nginx)
    assert admin.login().status == 200
    api = admin.call("GET", "reports/cohorts?days=1&route=POST%20%2Fv1%2Fchat%2Fcompletions")
    assert api.status == 200 and [t["id"] for t in api.json["tables"]] == ["cohorts", "models", "verdict"]
    assert admin.call("GET", "loop").json["canary"]["cohort"] == CANARY

    refused = cli.run("pricing", "promote", check=False)
    assert refused.returncode == 3 and "not promoted (fail)" in refused.stdout, refused.stdout + refused.stderr
    assert not (satmeter.state_dir / "pricing" / "current.yaml").exists(), "the control must not move on a failed check"

    # The two canary clients that left come back and pay: 6 of 6 → promoted; the control moves one step.
    for i in (4, 5):
        assert chat(nginx, rich, f"canary-{i}", canary=True) == 200
    wait_for(satmeter, lambda rows: rows.get(CANARY, {}).get("converted") == 6)
    promoted = cli.run("pricing", "promote", check=False)
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert promoted.stdout.startswith(f"promoted: {CANARY}")
    explain = cli.run("pricing", "explain", "--model", "gpt-4o-mini").stdout
    assert "$1.15/$2.20 per 1M" in explain, explain
    notes = sorted(p.name for p in (satmeter.state_dir / "pricing" / "changes").iterdir())
    assert any(n.endswith("-canary.md") for n in notes) and any(n.endswith("-promotion-refused.md") for n in notes)
    assert any(n.endswith("-promotion.md") for n in notes)
    assert audit(satmeter)["consistent"] is True


def test_propose_reads_a_seeded_month_and_writes_a_bounded_change(satmeter_bin: Path, tmp_path: Path) -> None:
    """30 days of request log: house-model earns 5% (below the 20% target), so propose raises it by
    the most one step allows (+15%); cheap-model earns 50% but its 402s never convert: -10%."""
    config = tmp_path / "satmeter.yaml"
    config.write_text("""
pricing:
  btc_price: {usd_per_btc: 100000}
  overrides:
    house-model: {prompt_usd_per_1m: "10", completion_usd_per_1m: "20"}
    cheap-model: {prompt_usd_per_1m: "1", completion_usd_per_1m: "2"}
  loop: {min_samples: 20}
""")
    cli = SatmeterCLI(satmeter_bin, tmp_path / "state", config, {**os.environ})
    cli.create_key(0)  # creates the database
    now = int(time.time())
    rows = []
    for day in range(30):
        t = now - day * 86_400 - 3_600
        for i in range(3):
            rows.append((f"h{day}-{i}", t, "house-model", 200, 1, "c", 1_000, 950))
            rows.append((f"c{day}-{i}", t, "cheap-model", 200, 1, "c", 1_000, 500))
        rows.append((f"q{day}", t + 10, "cheap-model", 402, 0, f"leaver-{day}", 0, 0))
    with sqlite3.connect(tmp_path / "state" / "satmeter.db") as db:
        db.executemany("""INSERT INTO request_log(request_id, created_at, route, model, status, payment_settled, client_ref,
                          revenue_msat, upstream_cost_msat, cohort) VALUES (?, ?, 'POST /v1/chat/completions', ?, ?, ?, ?, ?, ?, 'control')""",
                       rows)
    output = tmp_path / "proposal.yaml"
    result = cli.run("pricing", "propose", "--days", "30", "--no-fetch", "--output", str(output))
    assert "house-model: raise: measured margin 5% below the 20% target" in result.stdout, result.stdout
    assert "cheap-model: cut: 402 → paid conversion 0% below 50%" in result.stdout, result.stdout
    text = output.read_text()
    assert 'house-model": { prompt_usd_per_1m: "11.5", completion_usd_per_1m: "23" }' in text, text
    assert 'cheap-model": { prompt_usd_per_1m: "0.9", completion_usd_per_1m: "1.8" }' in text, text
    # Applying the proposal moves nothing further: it is already one bounded step.
    applied = cli.run("pricing", "apply", str(output))
    assert "Nothing refused." in applied.stdout, applied.stdout
    assert "$11.50/$23.00 per 1M" in cli.run("pricing", "explain", "--model", "house-model").stdout
