"""Show the appliance figures (boot -> READY, exposure, install times) and any skipped step in CI's
output even when the tests pass (pytest captures what tests print)."""

from __future__ import annotations

import pytest

from tests.appliance import rootfs


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if rootfs.MESSAGES:
        terminalreporter.section("appliance: figures and skipped steps")
        for message in rootfs.MESSAGES:
            terminalreporter.write_line(message)
