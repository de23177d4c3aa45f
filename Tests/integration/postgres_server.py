"""A real PostgreSQL server (Debian's postgresql package) for the multi-host tests and for
running the other suites on PostgreSQL (SATMETER_TEST_BACKEND=postgres).

`initdb` into a fresh temp dir (owned by the `postgres` user when we run as root: initdb
refuses root), listening on a unix socket in that dir and on 127.0.0.1:<free port>, trust auth
for the `satmeter` role. `stop()` always runs (fixtures call it); `restart_immediate()` is the
crash-and-recover used by the failure test. Each satmeter instance gets its own database
(`new_database()`) unless a test shares one on purpose.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from procs import free_port

PG_BIN = Path(os.environ.get("SATMETER_PG_BIN", "/usr/lib/postgresql/15/bin"))
_counter = itertools.count(1)


def backend_is_postgres() -> bool:
    return os.environ.get("SATMETER_TEST_BACKEND", "sqlite") == "postgres"


def _as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


class PostgresServer:
    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"PostgreSQL not installed ({PG_BIN}/initdb missing): run script/bootstrap")
        self.dir = Path(tempfile.mkdtemp(prefix="satmeter-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.running = False
        self._databases: dict[str, str] = {}
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(_as_owner([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"), *args]),
                       check=True, stdout=subprocess.DEVNULL, timeout=60)

    def start(self) -> "PostgresServer":
        if not self.data.exists():
            subprocess.run(_as_owner([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "satmeter",
                                      "--no-sync"]), check=True, stdout=subprocess.DEVNULL, timeout=120)
        # fsync off: a test server; the crash test stops with -m immediate, which keeps the WAL anyway.
        options = f"-k {self.dir} -c listen_addresses=127.0.0.1 -p {self.port} -c fsync=off -c max_connections=200"
        self._pg_ctl("-w", "-o", options, "start")
        self.running = True
        atexit.register(self.stop)
        return self

    def stop(self, mode: str = "fast") -> None:
        if self.running:
            self.running = False
            try:
                self._pg_ctl("-m", mode, "-w", "stop")
            except subprocess.CalledProcessError:
                pass

    def restart_immediate(self, down_seconds: float = 0.0) -> None:
        """Crash (`-m immediate`: no shutdown checkpoint, clients cut off), then start again."""
        import time
        self.stop("immediate")
        time.sleep(down_seconds)
        self.start()

    def psql(self, sql: str, database: str = "postgres") -> str:
        out = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-h", str(self.dir), "-p", str(self.port), "-U", "satmeter",
                              "-d", database, "-v", "ON_ERROR_STOP=1", "-c", sql],
                             check=True, capture_output=True, text=True, timeout=60)
        return out.stdout.strip()

    def url(self, database: str) -> str:
        return f"postgres://satmeter@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        name = f"satmeter_{os.getpid()}_{next(_counter)}"
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def database_for(self, owner: str) -> str:
        """The database of one state dir: a fresh one the first time, the same one when a test
        restarts a satmeter on that state dir (as the SQLite file would survive)."""
        if owner not in self._databases:
            self._databases[owner] = self.new_database()
        return self._databases[owner]

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


_shared: PostgresServer | None = None


def shared_server() -> PostgresServer:
    """The one server of a test session that runs on PostgreSQL (started on first use)."""
    global _shared
    if _shared is None:
        _shared = PostgresServer().start()
        atexit.register(_shared.cleanup)
    return _shared


def stop_shared_server() -> None:
    global _shared
    if _shared is not None:
        _shared.cleanup()
        _shared = None
