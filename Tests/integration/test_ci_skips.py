"""The CI guard (ci_skips.py): a test that skips passes quietly on a laptop and fails in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.mark.parametrize("ci, exit_code, says", [("", 0, "1 skipped"), ("true", 1, "skipped in CI (CI=true)")])
def test_a_skip_fails_only_in_ci(tmp_path: Path, ci: str, exit_code: int, says: str) -> None:
    (tmp_path / "test_skips.py").write_text(
        "import pytest\n\ndef test_needs_a_tool():\n    pytest.skip('the tool is not installed')\n")
    env = {**os.environ, "CI": ci, "PYTHONPATH": str(HERE)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "ci_skips", "-p", "no:cacheprovider", "-q", "-rA",
                             str(tmp_path / "test_skips.py")], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == exit_code, result.stdout + result.stderr
    assert says in result.stdout, result.stdout
