"""A child process in its own process group, logging to a file: the base of every lab server.

Each server runs in a new session so `stop()` can signal the whole group (Kamailio forks a dozen
workers; a signal to the main pid alone can leave orphans holding the ports).  Output goes to a
log file, never to a pipe: a pipe nobody reads fills up and blocks the server, and a file is what
one wants to read after a failed test.  Groups still running when the interpreter exits are
killed, so a crashed test run does not leave servers holding loopback ports.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from firmware.errors import LabError

_live: set[ManagedProcess] = set()


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_live):
        proc.kill()


def _group_has_live_members(pgid: int) -> bool:
    """True while a non-zombie process of group `pgid` exists.

    os.killpg(pgid, 0) is not enough: orphaned workers are re-parented to PID 1, and in containers
    PID 1 may never reap them, so their zombies would look alive forever.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After the command name: state, ppid, pgrp, ...
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


def tail(path: Path, lines: int = 40) -> str:
    """The last `lines` lines of a log file ('' when it does not exist)."""
    try:
        data = path.read_bytes()[-64_000:]
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


class ManagedProcess:
    """One started program. Not restartable: create a new one for each start."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, *, cwd: Path | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._popen: subprocess.Popen[bytes] | None = None
        self._cwd = cwd

    def start(self, *, stdin: int | None = subprocess.DEVNULL) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # Append: a restart keeps the history of the previous run in the same file.
        with self.log_path.open("ab") as log:
            log.write(f"\n===== {time.strftime('%H:%M:%S')} exec {' '.join(self.argv)}\n".encode())
            log.flush()
            try:
                self._popen = subprocess.Popen(
                    self.argv,
                    stdin=stdin,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self._cwd,
                    start_new_session=True,
                )
            except OSError as exc:
                raise LabError(f"{self.name}: cannot execute {self.argv[0]}: {exc}") from exc
        _live.add(self)

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None and self._popen.poll() is None else None

    def returncode(self) -> int | None:
        """None while running (or never started), else the exit status (negative: signal)."""
        return None if self._popen is None else self._popen.poll()

    def alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def _signal_group(self, sig: signal.Signals) -> None:
        if self._popen is None:
            return
        # The group id is the child's pid (new session). The group may outlive the leader briefly.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, sig)

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM the group, wait up to `timeout`, then SIGKILL it. Returns the exit status."""
        if self._popen is None:
            return None
        if self._popen.poll() is None:
            self._signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(timeout)
        # Also when the leader is gone: workers that ignored SIGTERM must not keep the ports.
        self._signal_group(signal.SIGKILL)
        return self._reap()

    def kill(self) -> int | None:
        """SIGKILL the whole group at once (a crash, as far as peers can tell)."""
        if self._popen is None:
            return None
        self._signal_group(signal.SIGKILL)
        return self._reap()

    def _reap(self) -> int | None:
        assert self._popen is not None
        try:
            code = self._popen.wait(5.0)
        except subprocess.TimeoutExpired:
            code = None
        _live.discard(self)
        self._wait_group_gone()
        return code

    def _wait_group_gone(self, timeout: float = 2.0) -> None:
        # Children of the group die asynchronously after SIGKILL; until they do they hold ports,
        # and a restart on the same ports would fail to bind.
        assert self._popen is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _group_has_live_members(self._popen.pid):
            time.sleep(0.01)

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log_path, lines)


class ProcessOwner:
    """A lab server (Kamailio, Prosody, baresip) that runs as one ManagedProcess: what it answers
    about that process, written once."""

    _proc: ManagedProcess | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.alive()

    def log_tail(self, lines: int = 40) -> str:
        return self._proc.log_tail(lines) if self._proc is not None else ""
