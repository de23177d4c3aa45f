"""The dashboard's QR encoder (admin/js/qr.js), run by node and read back by zbarimg, for texts
from a few bytes to the largest a QR code holds (versions 1 to 40, levels M and L)."""

from __future__ import annotations

import random
import shutil
import string
import subprocess
from pathlib import Path

import pytest

from procs import REPO_ROOT

RENDER = r"""
const fs = require("fs");
require(process.argv[2]);
const text = fs.readFileSync(process.argv[3], "utf8");
const m = globalThis.SatmeterQR.encode(text);
const scale = 3, quiet = 4, n = (m.length + 2 * quiet) * scale;
const rows = [];
for (let y = 0; y < n; y++) {
  const row = [];
  for (let x = 0; x < n; x++) {
    const my = Math.floor(y / scale) - quiet, mx = Math.floor(x / scale) - quiet;
    row.push(my >= 0 && mx >= 0 && my < m.length && mx < m.length && m[my][mx] ? 1 : 0);
  }
  rows.push(row.join(" "));
}
fs.writeFileSync(process.argv[4], `P1\n${n} ${n}\n${rows.join("\n")}\n`);
process.stdout.write(String((m.length - 17) / 4));
"""


@pytest.mark.parametrize("length", [1, 20, 120, 300, 640, 1100, 1700, 2300])
def test_qr_codes_decode_to_the_same_text(length: int, tmp_path: Path) -> None:
    node, zbarimg = shutil.which("node"), shutil.which("zbarimg")
    if not node or not zbarimg:
        pytest.skip("needs node and zbarimg (zbar-tools)")
    script = tmp_path / "render.js"
    script.write_text(RENDER)
    rng = random.Random(length)
    text = "cashuB" + "".join(rng.choice(string.ascii_letters + string.digits + "-_") for _ in range(length))
    (tmp_path / "text.txt").write_text(text)
    image = tmp_path / "qr.pbm"
    version = subprocess.run([node, str(script), str(REPO_ROOT / "admin/js/qr.js"), str(tmp_path / "text.txt"), str(image)],
                             capture_output=True, text=True, timeout=60, check=True).stdout
    assert 1 <= int(version) <= 40
    decoded = subprocess.run([zbarimg, "--raw", "-q", str(image)], capture_output=True, text=True, timeout=60)
    assert decoded.stdout.rstrip("\n") == text, f"version {version}: {decoded.stderr}"
