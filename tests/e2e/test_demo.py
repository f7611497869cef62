"""The README's first command, `deskphone demo`, driven through a pseudo-terminal as a person would:
it starts Kamailio, a baresip second party and the phone; `i` makes the second party call, space
lifts and hangs up, `q` quits cleanly."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

DESKPHONE = Path(sys.executable).with_name("deskphone")
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    def __init__(self, workdir: Path) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [str(DESKPHONE), "demo", "--workdir", str(workdir)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            close_fds=True,
            env={**os.environ, "TERM": "xterm", "COLUMNS": "120", "LINES": "40"},
        )
        os.close(slave)
        self.seen = b""

    def expect(self, text: str, timeout: float = 20.0) -> None:
        """Wait until `text` shows up in what the terminal printed since the last expect()."""
        deadline = time.monotonic() + timeout
        while text.encode() not in ANSI.sub(b"", self.seen):
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                tail = ANSI.sub(b"", self.seen)[-600:].decode(errors="replace")
                raise AssertionError(f"{text!r} not on the terminal; exit {self.proc.poll()}; tail: {tail}")
            if select.select([self.master], [], [], min(left, 0.2))[0]:
                with contextlib.suppress(OSError):  # the demo exited and closed the terminal
                    self.seen += os.read(self.master, 65536)
        self.seen = b""

    def press(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def test_the_demo_rings_answers_and_quits(tmp_path: Path) -> None:
    term = Terminal(tmp_path / "demo")
    try:
        term.expect("Lift handset to call")
        term.press("i")  # the second party calls
        term.expect("ringer: RINGING")
        term.press(" ")  # lift
        term.expect("In call")
        term.press(" ")  # hang up
        term.expect("hook: on-hook")
        term.press("q")
        assert term.proc.wait(15) == 0
    finally:
        term.close()
    log = (tmp_path / "demo" / "phone.log").read_text()
    # the call had media, with the source check on its RTP and RTCP sockets
    assert re.search(r"media accepted only from 127\.0\.0\.1 \([1-9]\d* sockets\)", log), log[-2000:]
