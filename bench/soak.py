"""RSS growth over consecutive calls between two phone agents (the soak of tests/resilience/test_soak.py).

Each call: A lifts and dials 1002, B rings and answers, both in a call with RTP flowing both ways,
then hung up (alternately by each side); calls start at most MAX_CALLS_PER_S a second (the phone
answers new INVITEs beyond 20 a second with 503). VmRSS of both agents is read after every call;
the first WARMUP calls (pools, codecs, caches allocated once) are not counted.
"""

from __future__ import annotations

import time

from bench.calls import IN_CALL
from bench.lab import BenchLab
from bench.procstat import rss_mb
from firmware.lab.phone import PhoneAgent

WARMUP = 3
MAX_CALLS_PER_S = 15


def _flowing(phone: PhoneAgent) -> bool:
    stats = phone.request("stats")
    return isinstance(stats, dict) and stats["rx_packets"] > 0 and stats["tx_packets"] > 0


def _call(a: PhoneAgent, b: PhoneAgent, n: int) -> None:
    a.lift()
    a.press("1", "0", "0", "2", "#")
    b.wait(phase="ringing")
    b.lift()
    a.wait(**IN_CALL)
    b.wait(**IN_CALL)
    deadline = time.monotonic() + 3.0
    for phone in (a, b):
        while not _flowing(phone):
            if time.monotonic() > deadline:
                raise TimeoutError(f"call {n}: no RTP both ways")
            time.sleep(0.01)
    first, second = (a, b) if n % 2 else (b, a)
    first.hang_up()
    second.wait(phase="ended")
    second.hang_up()
    a.wait(phase="idle")
    b.wait(phase="idle")


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs."""
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def measure(lab: BenchLab, calls: int) -> dict[str, list[float]]:
    """ "caller"/"callee": VmRSS (MiB) after each counted call (index 0 = after the warm-up);
    "call_ms": wall time of each counted call, pacing included."""
    a, b = lab.phones("1001", "1002")
    out: dict[str, list[float]] = {"caller": [], "callee": [], "call_ms": []}
    try:
        a.wait(registration="registered")
        b.wait(registration="registered")
        assert a.pid is not None and b.pid is not None
        for n in range(WARMUP + calls):
            started = time.monotonic()
            _call(a, b, n)
            time.sleep(max(0.0, 1 / MAX_CALLS_PER_S - (time.monotonic() - started)))
            if n == WARMUP - 1 or n >= WARMUP:
                out["caller"].append(rss_mb(a.pid))
                out["callee"].append(rss_mb(b.pid))
            if n >= WARMUP:
                out["call_ms"].append(1000 * (time.monotonic() - started))
    finally:
        lab.release(a, b)
    return out


def kib_per_call(rss: list[float]) -> float:
    """Growth per call (KiB), least squares over the RSS after each counted call."""
    return 1024 * slope([float(i) for i in range(len(rss))], rss)
