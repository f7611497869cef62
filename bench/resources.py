"""Idle CPU of a registered phone agent next to a registered baresip, measured at the same time."""

from __future__ import annotations

import time

from bench.lab import BenchLab
from bench.procstat import idle_cpu, rss_mb

SETTLE_S = 1.0


def idle(lab: BenchLab, seconds: int) -> dict[str, dict[str, list[float]]]:
    """For "phone" and "baresip": "windows" (CPU % per 1 s window), "total" (CPU % over the whole
    time, from utime+stime) and "rss" (MiB at the end)."""
    phone = lab.phone("1003")
    peer = lab.baresip("2003")
    try:
        phone.wait(registration="registered")
        peer.wait_registered()
        time.sleep(SETTLE_S)
        assert phone.pid is not None and peer.pid is not None
        pids = {"phone": phone.pid, "baresip": peer.pid}
        result = idle_cpu(pids, windows=seconds)
        for name, pid in pids.items():
            result[name]["rss"] = [rss_mb(pid)]
        return result
    finally:
        lab.release(phone, peer)
