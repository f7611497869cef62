"""Memory and CPU of a process from /proc (Linux)."""

from __future__ import annotations

import os
import time
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident set size (VmRSS) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (all threads), from /proc/PID/stat, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3 of stat(5); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def run_ns(pid: int) -> int:
    """Time on a CPU of every thread of the process, in ns (/proc/PID/task/*/schedstat).

    Finer than utime+stime (clock ticks of 10 ms), so short windows can be measured."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, IndexError, ValueError):  # a thread that just exited
            continue
    return total


def idle_cpu(pids: dict[str, int], windows: int, window_s: float = 1.0) -> dict[str, dict[str, list[float]]]:
    """CPU use in percent of one core, sampled together for every process.

    Returns for each name: "windows" (one value per window, from schedstat) and "total" (one value:
    utime+stime over the whole time, from /proc/PID/stat)."""
    start_ticks = {name: cpu_seconds(pid) for name, pid in pids.items()}
    start = time.monotonic()
    last = {name: run_ns(pid) for name, pid in pids.items()}
    per_window: dict[str, list[float]] = {name: [] for name in pids}
    mark = start
    for _ in range(windows):
        time.sleep(max(0.0, mark + window_s - time.monotonic()))
        now = time.monotonic()
        for name, pid in pids.items():
            ns = run_ns(pid)
            per_window[name].append(100 * (ns - last[name]) / 1e9 / (now - mark))
            last[name] = ns
        mark = now
    elapsed = time.monotonic() - start
    return {
        name: {
            "windows": per_window[name],
            "total": [100 * (cpu_seconds(pid) - start_ticks[name]) / elapsed],
        }
        for name, pid in pids.items()
    }
