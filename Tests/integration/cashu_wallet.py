"""Real Cashu tokens for the tests, made with Nutshell's wallet CLI.

The openai SDK and Nutshell cannot share a virtualenv (their dependencies
conflict), so the wallet runs as a subprocess from its own venv
($SATMETER_MINT_VENV, default /tmp/venv-mint). Each wallet gets its own
CASHU_DIR, and HOME and the working directory point there too, because
Nutshell also reads settings from ./.env and ~/.cashu/.env and would let a
stray file on the machine override the test's environment.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from pathlib import Path

MINT_VENV = Path(os.environ.get("SATMETER_MINT_VENV", "/tmp/venv-mint"))
CLI_TIMEOUT = 90.0  # `cashu invoice` waits for FakeWallet to "pay" (a few seconds)


def cashu_env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    """The parent environment minus any Nutshell settings, plus isolation."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINT_", "CASHU_", "WALLET_", "FAKEWALLET_"))}
    env.update({"HOME": str(home), "TOR": "FALSE", "DEBUG": "FALSE"})
    env.update(extra)
    return env


class CashuCLIError(RuntimeError):
    pass


class Wallet:
    """One Nutshell wallet (a CASHU_DIR) talking to one mint."""

    def __init__(self, mint_url: str, cashu_dir: Path, venv: Path = MINT_VENV) -> None:
        self.mint_url = mint_url
        self.cashu_dir = cashu_dir
        self.cli = venv / "bin" / "cashu"
        cashu_dir.mkdir(parents=True, exist_ok=True)

    def run(self, *args: str) -> str:
        """Run `cashu --yes ARGS`; returns stdout, raises with all output on failure."""
        env = cashu_env(self.cashu_dir, {"MINT_URL": self.mint_url, "CASHU_DIR": str(self.cashu_dir)})
        result = subprocess.run([str(self.cli), "--yes", *args], env=env, cwd=self.cashu_dir,
                                capture_output=True, text=True, timeout=CLI_TIMEOUT, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise CashuCLIError(f"cashu {' '.join(args)} exited {result.returncode}\n"
                                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        return result.stdout

    def balance(self) -> int:
        balance = parse_balance(self.run("balance"))
        if balance is None:
            raise CashuCLIError("no balance in `cashu balance` output")
        return balance

    def fund(self, sats: int) -> None:
        """Mint sats from a FakeWallet invoice (the fake backend pays it itself)."""
        self.run("invoice", str(sats))

    def send(self, sats: int) -> str:
        """A cashuB… token worth sats, taken out of this wallet."""
        return parse_token(self.run("send", str(sats)))

    def receive(self, token: str) -> None:
        self.run("receive", token)


def parse_balance(output: str) -> int | None:
    """The last "Balance: N sat" in CLI output (send and invoice print one too)."""
    found = re.findall(r"Balance: (\d+) sat", output)
    return int(found[-1]) if found else None


def parse_token(output: str) -> str:
    """The token line of `cashu send` output; it is not necessarily the last line."""
    tokens = [line.strip() for line in output.splitlines() if line.strip().startswith(("cashuB", "cashuA"))]
    if not tokens:
        raise CashuCLIError(f"no token in `cashu send` output:\n{output}")
    return tokens[-1]


class TokenFactory:
    """Makes tokens from one wallet funded once per session, topping up as needed.

    The CLI prints the new balance after `invoice` and `send`, so the factory
    tracks it from that output instead of paying for a `cashu balance` call
    (about a second each) per token.
    """

    def __init__(self, wallet: Wallet, fund_sats: int = 2000, balance: int | None = None) -> None:
        """balance: what the wallet holds, if known (0 for a new CASHU_DIR); else asked."""
        self.wallet = wallet
        self.fund_sats = fund_sats
        self._lock = threading.Lock()
        self._balance = balance

    def __call__(self, sats: int) -> str:
        with self._lock:
            if self._balance is None:
                self._balance = self.wallet.balance()
            if self._balance < sats:
                self._balance = parse_balance(self.wallet.run("invoice", str(max(self.fund_sats, sats))))
            output = self.wallet.run("send", str(sats))
            self._balance = parse_balance(output)
            return parse_token(output)
