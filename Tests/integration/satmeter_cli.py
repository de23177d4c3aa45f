"""The satmeter command line, as the tests run it: one way to call `satmeter <command> …
--state-dir DIR [--config FILE]` (no stdin unless given, a timeout, the output captured), and the
commands the tests check money with.

SatmeterServer has one (`server.cli`); a test that has only a binary and a state directory (the
README's `script/run`) makes its own.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping


class SatmeterCLIError(RuntimeError):
    pass


@dataclass(frozen=True)
class SatmeterCLI:
    binary: Path
    state_dir: Path
    config: Path | None = None
    env: Mapping[str, str] | None = None

    def common_args(self) -> list[str]:
        """--state-dir (and --config): what every command that touches the database takes."""
        return ["--state-dir", str(self.state_dir), *(["--config", str(self.config)] if self.config else [])]

    def run(self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """`satmeter ARGS --state-dir … [--config …]`; check: raise with all output unless it exits 0."""
        argv = [str(self.binary), *args, *self.common_args()]
        result = subprocess.run(argv, env=None if self.env is None else dict(self.env), capture_output=True, text=True,
                                timeout=timeout, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise SatmeterCLIError(f"{' '.join(argv)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result

    def json(self, *args: str) -> Any:
        """A command that prints one JSON document and exits 0; its parsed output."""
        return _parsed(self.run(*args), args)

    def _report(self, *args: str) -> tuple[int, dict[str, Any]]:
        """An audit: its exit code (1 when the books disagree) and its JSON report."""
        result = self.run(*args, check=False)
        return result.returncode, _parsed(result, args)

    def create_key(self, balance_msat: int) -> dict[str, Any]:
        """`keys create --balance-msat N --json` → {"api_key": "sk-…", "id": …, "balance_msat": N}."""
        key = self.json("keys", "create", "--balance-msat", str(balance_msat), "--json")
        missing = {"api_key", "id", "balance_msat"} - key.keys()
        if missing:
            raise SatmeterCLIError(f"keys create --json lacks {sorted(missing)}: {key}")
        return key

    def ledger_audit(self) -> dict[str, Any]:
        """`ledger audit`: every balance re-derived from the ledger rows; consistent, nothing held."""
        status, report = self._report("ledger", "audit")
        assert status == 0 and report["consistent"], report
        assert report["held_reservations"] == 0 and report["reserved_msat"] == 0, report
        return report

    def wallet_audit(self, require_consistent: bool = True) -> dict[str, Any]:
        """`wallet audit`: every unspent proof confirmed at its mint (NUT-07), and the ecash equal to
        owed + earned − granted − paid out."""
        status, report = self._report("wallet", "audit")
        if require_consistent:
            assert status == 0 and report["consistent"], report
        return report


def _parsed(result: subprocess.CompletedProcess[str], args: tuple[str, ...]) -> Any:
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise SatmeterCLIError(f"satmeter {' '.join(args)} exited {result.returncode} and printed no JSON:\n"
                               f"{result.stdout}\n{result.stderr}") from exc
