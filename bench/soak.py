"""RSS over consecutive calls between two phone agents (the soak of tests/resilience/test_soak.py,
firmware/lab/soak.py: dialled, answered, RTP both ways, hung up; at most 15 calls a second).

VmRSS of both agents is read after every call, the first WARMUP calls (pools, codecs, caches
allocated once) not counted; that curve climbs while pjsip keeps each ended call for 32 s. Before
the counted calls and after them, once pjsip has released every ended call, the agents' RSS after
malloc_trim: what the calls left behind.
"""

from __future__ import annotations

from bench.lab import BenchLab
from bench.procstat import rss_mb
from firmware.lab.phone import PhoneAgent
from firmware.lab.soak import WARMUP, one_call, retained_kib, wait_released


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs."""
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def measure(lab: BenchLab, calls: int) -> dict[str, list[float]]:
    """ "caller"/"callee": VmRSS (MiB) after each counted call;
    "call_ms": wall time of each counted call, pacing included; "caller_retained"/"callee_retained":
    RSS after malloc_trim (KiB) with every ended call released, before and after the counted calls;
    "release_s": how long pjsip took to release them after the last call."""
    a, b = lab.phones("1001", "1002")
    out: dict[str, list[float]] = {k: [] for k in ("caller", "callee", "call_ms", "caller_retained",
                                                    "callee_retained", "release_s")}  # fmt: skip
    try:
        a.wait(registration="registered")
        b.wait(registration="registered")
        assert a.pid is not None and b.pid is not None
        for n in range(WARMUP):
            one_call(a, b, n)
        wait_released((a, b))
        _retained(a, b, out)
        for n in range(calls):
            out["call_ms"].append(1000 * one_call(a, b, n))
            out["caller"].append(rss_mb(a.pid))
            out["callee"].append(rss_mb(b.pid))
        out["release_s"].append(wait_released((a, b)))
        _retained(a, b, out)
    finally:
        lab.release(a, b)
    return out


def _retained(a: PhoneAgent, b: PhoneAgent, out: dict[str, list[float]]) -> None:
    out["caller_retained"].append(float(retained_kib(a)))
    out["callee_retained"].append(float(retained_kib(b)))


def kib_per_call(rss: list[float]) -> float:
    """Growth per call (KiB), least squares over the RSS after each counted call."""
    return 1024 * slope([float(i) for i in range(len(rss))], rss)
