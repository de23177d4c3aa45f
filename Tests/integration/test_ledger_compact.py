"""`satmeter ledger compact`: a SQLite ledger made before new databases got 1 KiB pages is
rewritten with them (fewer bytes written per paid request), every balance kept, and never while
another process has the file open."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from satmeter_cli import SatmeterCLI


def page_size(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA page_size").fetchone()[0]


def make_old(db: Path) -> None:
    """What an earlier version left: SQLite's default 4 KiB pages, in WAL mode."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA page_size=4096")
    conn.execute("VACUUM")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    assert page_size(db) == 4096


def test_compact_gives_an_old_ledger_small_pages_and_keeps_every_balance(satmeter_bin: Path, tmp_path: Path) -> None:
    cli = SatmeterCLI(satmeter_bin, tmp_path / "state")
    key = cli.create_key(123_456)
    db = tmp_path / "state" / "satmeter.db"
    assert page_size(db) == 1024  # a new ledger has them already
    make_old(db)

    # Another process has the file open (a gateway still running): refused, nothing changed.
    holder = sqlite3.connect(db)
    holder.execute("SELECT COUNT(*) FROM accounts").fetchone()
    refused = cli.run("ledger", "compact", check=False)
    assert refused.returncode != 0 and "stop the gateway" in refused.stderr + refused.stdout, refused
    holder.close()
    assert page_size(db) == 4096

    report = cli.json("ledger", "compact")
    assert (report["page_size_before"], report["page_size_after"]) == (4096, 1024), report
    assert report["audit"]["consistent"], report
    assert page_size(db) == 1024
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT balance_msat FROM accounts WHERE id = ?", (key["id"],)).fetchone()[0] == 123_456
    cli.ledger_audit()
