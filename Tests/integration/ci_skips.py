"""A pytest plugin: with CI=true a skipped test is reported as failed.

A skip in CI means something the test needs was not installed or not built; passing silently
would hide that the behaviour went untested. conftest.py loads this hook; a test loads it with
`-p ci_skips` to show it works.
"""

from __future__ import annotations

import os
from typing import Any

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (CI=true), which must not happen: {reason}"
