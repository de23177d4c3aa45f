"""systemd/satmeter.socket and satmeter.service, checked by systemd itself.

`systemd-analyze verify` loads the units as PID 1 would: it reports unknown
keys and sections, bad values, units that reference each other wrongly (the
socket must find its service), and an ExecStart= binary that does not exist.
That last check would always fail on a machine without satmeter installed, so
the test runs on copies in a temp dir with a drop-in that points ExecStart=
at a stub executable, the way an operator's drop-in would. Everything else is
the shipped text. Two control tests show the check is live: a bogus key is
reported, and without the drop-in the missing binary is reported.

`systemd-analyze security --offline` then scores the sandboxing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from procs import REPO_ROOT

UNITS = ("satmeter.socket", "satmeter.service")
SHIPPED_BINARY = "/usr/local/bin/satmeter"
MAX_EXPOSURE = 2.0  # systemd's scale: 0 safest … 10 unprotected; "OK" is below 4


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """Sections → keys → every value in order (keys may repeat in unit files)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
        else:
            key, _, value = line.partition("=")
            current.setdefault(key.strip(), []).append(value.strip())
    return sections


@pytest.fixture
def unit_dir(tool: Callable[[str], str], tmp_path: Path) -> Path:
    """Copies of the shipped units plus a drop-in that swaps in a stub binary."""
    tool("systemd-analyze")
    for name in UNITS:
        shutil.copy(REPO_ROOT / "systemd" / name, tmp_path / name)
    stub = tmp_path / "satmeter-stub"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    shipped_exec = parse_unit(tmp_path / "satmeter.service")["Service"]["ExecStart"][-1]
    assert shipped_exec.startswith(SHIPPED_BINARY + " ")
    dropin = tmp_path / "satmeter.service.d" / "10-test-stub.conf"
    dropin.parent.mkdir()
    dropin.write_text(f"[Service]\nExecStart=\nExecStart={shipped_exec.replace(SHIPPED_BINARY, str(stub), 1)}\n")
    return tmp_path


def systemd_analyze(unit_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": ""}
    return subprocess.run(["systemd-analyze", *args], cwd=unit_dir, env=env, capture_output=True, text=True, timeout=60)


def verify(unit_dir: Path) -> subprocess.CompletedProcess[str]:
    # ./name: load these files; their directory (and its .d drop-ins) joins the search path.
    return systemd_analyze(unit_dir, "verify", "--man=no", *(f"./{name}" for name in UNITS))


def test_units_verify_cleanly(unit_dir: Path) -> None:
    result = verify(unit_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


def test_control_verify_reports_a_bogus_key(unit_dir: Path) -> None:
    service = unit_dir / "satmeter.service"
    service.write_text(service.read_text().replace("[Service]\n", "[Service]\nBogusKey=1\n", 1))
    assert "Unknown key 'BogusKey'" in verify(unit_dir).stderr


def test_control_verify_reports_the_missing_binary(unit_dir: Path) -> None:
    if os.path.exists(SHIPPED_BINARY):
        pytest.skip(f"{SHIPPED_BINARY} exists on this machine")
    shutil.rmtree(unit_dir / "satmeter.service.d")
    result = verify(unit_dir)
    assert result.returncode != 0
    assert f"Command {SHIPPED_BINARY} is not executable" in result.stderr


def test_sandbox_exposure_is_low(unit_dir: Path) -> None:
    result = systemd_analyze(unit_dir, "security", "--offline=yes", "--no-pager", "./satmeter.service")
    match = re.search(r"Overall exposure level for satmeter\.service: ([0-9.]+)", result.stdout + result.stderr)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, result.stdout


def test_socket_is_for_nginx_only() -> None:
    socket = parse_unit(REPO_ROOT / "systemd" / "satmeter.socket")["Socket"]
    assert socket["ListenStream"] == ["/run/satmeter/fcgi.sock"]
    assert socket["SocketGroup"] == ["www-data"]
    mode = int(socket["SocketMode"][-1], 8)
    assert mode & 0o007 == 0, "never world-accessible"
    assert mode & 0o060 == 0o060, "nginx's group must read and write"


def test_service_contract() -> None:
    service = parse_unit(REPO_ROOT / "systemd" / "satmeter.service")["Service"]
    assert service["ExecStart"][-1].startswith(f"{SHIPPED_BINARY} serve")
    # RuntimeDirectory=satmeter would delete /run/satmeter, socket included, whenever the service stops.
    assert "RuntimeDirectory" not in service
    for key, value in {"DynamicUser": "yes", "StateDirectory": "satmeter", "StateDirectoryMode": "0700",
                       "UMask": "0077", "CapabilityBoundingSet": "", "NoNewPrivileges": "yes",
                       "ProtectSystem": "strict", "KillSignal": "SIGTERM", "Restart": "on-failure",
                       "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6"}.items():
        assert service.get(key, [None])[-1] == value, key
    assert service["EnvironmentFile"] == ["-/etc/satmeter/satmeter.env"]
