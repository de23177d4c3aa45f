"""The real components the integration tests run: nginx, a Nutshell mint, satmeter.

Each class owns one child process (see procs.ManagedProcess), keeps all its
files under a directory it is given, and has start()/stop(). Fixtures in
conftest.py decide their lifetimes.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from cashu_wallet import MINT_VENV, cashu_env
from nginx_conf import NginxConfig, write_config
from procs import REPO_ROOT, ManagedProcess, free_port, http_ok, port_accepts
from satmeter_cli import SatmeterCLI

NGINX_BIN = os.environ.get("SATMETER_NGINX", "/usr/sbin/nginx")
PORT_ATTEMPTS = 3  # free_port() can race with another process; retry with a new port


def start_on_free_port(proc_for_port: Any, ready_for_port: Any, what: str, timeout: float) -> tuple[int, ManagedProcess]:
    """Start a server on a fresh port, retrying when the port was taken meanwhile."""
    last_error: Exception | None = None
    for _ in range(PORT_ATTEMPTS):
        port = free_port()
        proc = proc_for_port(port).start()
        try:
            proc.wait_until(lambda: ready_for_port(port), what, timeout)
            return port, proc
        except (RuntimeError, TimeoutError) as exc:
            proc.stop()
            last_error = exc
            if "in use" not in str(exc):
                raise
    raise RuntimeError(f"could not start {what} after {PORT_ATTEMPTS} ports") from last_error


class NginxServer:
    """nginx in the foreground with a config built from the shipped snippets."""

    def __init__(self, prefix: Path, socket_path: Path, admin_root: Path | None = None) -> None:
        self.prefix = prefix
        self.socket_path = socket_path
        self.admin_root = admin_root or prefix / "admin-root"
        self.config: NginxConfig | None = None
        self.proc: ManagedProcess | None = None
        self.port = 0

    def _proc_for_port(self, port: int) -> ManagedProcess:
        self.config = NginxConfig(self.prefix, port, self.socket_path, self.admin_root)
        write_config(self.config)
        return ManagedProcess("nginx", self.config.argv(NGINX_BIN), self.prefix / "logs")

    def start(self) -> "NginxServer":
        self.port, self.proc = start_on_free_port(self._proc_for_port, port_accepts, "nginx listening", 10)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def error_log(self) -> str:
        assert self.config is not None
        return self.config.error_log.read_text(errors="replace") if self.config.error_log.exists() else ""

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


class MintServer:
    """A Nutshell mint with the FakeWallet Lightning backend and its own database.

    input_fee_ppk defaults to 0 so a token of N sats is worth exactly N sats to
    whoever redeems it; tests about fees can start a mint with a real fee.
    """

    def __init__(self, workdir: Path, input_fee_ppk: int = 0, venv: Path = MINT_VENV) -> None:
        self.workdir = workdir
        self.input_fee_ppk = input_fee_ppk
        self.venv = venv
        self.proc: ManagedProcess | None = None
        self.port = 0

    def _proc_for_port(self, port: int) -> ManagedProcess:
        (self.workdir / "db").mkdir(parents=True, exist_ok=True)
        env = cashu_env(self.workdir, {
            "MINT_BACKEND_BOLT11_SAT": "FakeWallet",
            "MINT_PRIVATE_KEY": secrets.token_hex(16),
            "MINT_LISTEN_HOST": "127.0.0.1",
            "MINT_LISTEN_PORT": str(port),
            "MINT_DATABASE": str(self.workdir / "db"),
            "MINT_INPUT_FEE_PPK": str(self.input_fee_ppk),
            "FAKEWALLET_BRR": "True",
            # FakeWallet "pays" invoices after a delay (3 s by default).
            "FAKEWALLET_DELAY_INCOMING_PAYMENT": "0.5",
        })
        return ManagedProcess("mint", [str(self.venv / "bin" / "mint")], self.workdir, env=env, cwd=self.workdir)

    def start(self) -> "MintServer":
        self.port, self.proc = start_on_free_port(
            self._proc_for_port, lambda port: http_ok(f"http://127.0.0.1:{port}/v1/keysets"), "GET /v1/keysets", 60)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


def satmeter_binary() -> Path:
    """$SATMETER_BIN (relative paths are from the repo root) or .build/debug/satmeter."""
    path = Path(os.environ.get("SATMETER_BIN", ".build/debug/satmeter"))
    return path if path.is_absolute() else REPO_ROOT / path


class SatmeterServer:
    """`satmeter serve` on a unix socket in a run directory, with a private state dir.

    The interface assumed here is documented in Tests/integration/README.md.
    """

    def __init__(self, binary: Path, run_dir: Path, upstream_url: str, upstream_key: str,
                 config: Path | None = None, extra_env: dict[str, str] | None = None) -> None:
        self.binary = binary
        self.run_dir = run_dir
        self.socket_path = run_dir / "fcgi.sock"
        self.state_dir = run_dir / "state"
        self.config = config
        self.env = {
            **os.environ,
            "SATMETER_UPSTREAM_URL": upstream_url,
            "SATMETER_UPSTREAM_API_KEY": upstream_key,
            "SATMETER_BTC_USD": "100000",
            **(extra_env or {}),
        }
        self.proc: ManagedProcess | None = None

    @property
    def cli(self) -> SatmeterCLI:
        """Its command line: the same binary, state dir, config and environment."""
        return SatmeterCLI(self.binary, self.state_dir, self.config, self.env)

    def start(self, timeout: float = 15.0) -> "SatmeterServer":
        self.state_dir.mkdir(parents=True, exist_ok=True)
        argv = [str(self.binary), "serve", "--listen", f"unix:{self.socket_path}", *self.cli.common_args()]
        self.proc = ManagedProcess("satmeter", argv, self.run_dir, env=self.env).start()
        self.proc.wait_until(self.socket_path.exists, f"socket {self.socket_path}", timeout)
        return self

    def stop(self, timeout: float = 10.0) -> str:
        """SIGTERM (SIGKILL after timeout); returns everything it wrote to stderr."""
        if self.proc is None:
            return ""
        self.proc.stop(term_timeout=timeout)
        return self.proc.stderr()

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode if self.proc else None

    def stderr(self) -> str:
        return self.proc.stderr() if self.proc else ""

    def create_key(self, balance_msat: int) -> dict[str, Any]:
        """`satmeter keys create --balance-msat N --state-dir DIR --json` → its JSON object."""
        return self.cli.create_key(balance_msat)
