"""When each part of a file was written (Linux inotify through ctypes), on time.monotonic().

baresip's sndfile module writes what a call encodes and what it decodes to two WAV files, one
write per audio frame as the frame passes. Timing every write (and the file size after it) tells
when each sample went by, so the two recordings share one clock.
"""

from __future__ import annotations

import bisect
import ctypes
import os
import select
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

IN_MODIFY = 0x00000002
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then len bytes of name)


class WriteTimes:
    """Context manager watching `directory`: `writes(name)` is [(time, file size after the write)]."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self._fd: int = fd
        if libc.inotify_add_watch(fd, os.fsencode(directory), IN_MODIFY) < 0:
            os.close(fd)
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {directory}")
        self._log: dict[str, list[tuple[float, int]]] = {}
        self._lock = threading.Lock()
        self._running = True
        self._thread = threading.Thread(target=self._read_loop, daemon=True, name="inotify")
        self._thread.start()

    def _read_loop(self) -> None:
        while self._running:
            if not select.select([self._fd], [], [], 0.1)[0]:
                continue
            now = time.monotonic()
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                continue
            for name in self._names(data):
                try:
                    size = (self.directory / name).stat().st_size
                except OSError:
                    continue
                with self._lock:
                    self._log.setdefault(name, []).append((now, size))

    @staticmethod
    def _names(data: bytes) -> list[str]:
        names, offset = [], 0
        while offset + _EVENT.size <= len(data):
            length = _EVENT.unpack_from(data, offset)[3]
            raw = data[offset + _EVENT.size : offset + _EVENT.size + length]
            offset += _EVENT.size + length
            names.append(raw.rstrip(b"\0").decode())
        return names

    def pop(self, name: str) -> list[tuple[float, int]]:
        with self._lock:
            return self._log.pop(name, [])

    def close(self) -> None:
        self._running = False
        self._thread.join()
        os.close(self._fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@dataclass(frozen=True)
class SampleClock:
    """When each sample of a recording went by, from the times of the writes that carried it."""

    ends: list[int]  # samples in the file after each write
    times: list[float]  # when that write happened
    rate: int

    @classmethod
    def from_writes(
        cls, writes: list[tuple[float, int]], data_offset: int, sample_bytes: int, rate: int
    ) -> SampleClock:
        ends: list[int] = []
        times: list[float] = []
        for when, size in writes:
            end = (size - data_offset) // sample_bytes
            if end > 0 and (not ends or end > ends[-1]):  # the header rewrite at close adds nothing
                ends.append(end)
                times.append(when)
        return cls(ends, times, rate)

    def time_of(self, index: int) -> float:
        """The last sample of a write passes when the write happens; earlier ones 1/rate apart."""
        k = bisect.bisect_right(self.ends, index)
        if k == len(self.ends):
            raise IndexError(f"sample {index} was never seen being written")
        return self.times[k] - (self.ends[k] - 1 - index) / self.rate
