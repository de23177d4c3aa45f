"""Child processes for the integration tests: start, wait for, and always stop.

Every child runs in its own session (process group) so that stopping it also
stops whatever it forked (nginx workers, uvicorn), and its output goes to
files rather than pipes, so a chatty child can never block on a full pipe.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Mapping, Sequence

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago.

    There is a small race until the real server binds it; callers that care
    retry on a bind failure.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def http_ok(url: str) -> bool:
    """True when a GET of url answers 2xx."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError):
        return False


class ManagedProcess:
    """A child process in its own process group, with stdout/stderr in files."""

    def __init__(self, name: str, argv: Sequence[str], log_dir: Path, env: Mapping[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.stdout_path = log_dir / f"{name}.stdout.log"
        self.stderr_path = log_dir / f"{name}.stderr.log"
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.popen: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None

    def start(self) -> "ManagedProcess":
        self.stdout_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.popen = subprocess.Popen(
                self.argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                env=self.env, cwd=self.cwd, start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was not started"
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait_until(self, ready: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
        """Poll ready() until true; fail early, with the child's logs, if it died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if not self.alive():
                raise RuntimeError(f"{self.name} exited ({self.popen.returncode}) before {what}\n{self.logs()}")
            time.sleep(0.05)
        raise TimeoutError(f"{self.name}: no {what} after {timeout}s\n{self.logs()}")

    def stop(self, term_timeout: float = 10.0, sig: int = signal.SIGTERM) -> int | None:
        """Signal the group, wait, then SIGKILL the group; returns the exit code.

        Safe to call twice and on a child that already exited.
        """
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self._signal_group(sig)
            try:
                self.popen.wait(timeout=term_timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.popen.wait(timeout=5)
        self._signal_group(signal.SIGKILL)  # stragglers left by the leader
        self.returncode = self.popen.returncode
        return self.returncode

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stdout(self) -> str:
        return _read(self.stdout_path)

    def stderr(self) -> str:
        return _read(self.stderr_path)

    def logs(self, tail: int = 4000) -> str:
        return f"--- {self.name} stdout ---\n{self.stdout()[-tail:]}\n--- {self.name} stderr ---\n{self.stderr()[-tail:]}"


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
