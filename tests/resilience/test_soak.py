"""Soak (issue 7): N calls back to back between two phone agents through Kamailio, each one dialled,
answered, with RTP both ways, and hung up (alternately by each side); no failure, bounded memory.

N is DESKPHONE_SOAK_CALLS (50 by default, the CI run; the issue's long variant is 1000).
"""

from __future__ import annotations

import os
import time

import pytest

from firmware.lab.phone import PhoneAgent
from tests.e2e.conftest import PhoneFactory
from tests.resilience.conftest import rss_kib, until

pytestmark = pytest.mark.integration

CALLS = int(os.environ.get("DESKPHONE_SOAK_CALLS", "50"))
WARMUP = 3  # first calls allocate pools, codecs and caches once: RSS is measured after them
BASE_BUDGET_KIB = 10 * 1024
PER_CALL_BUDGET_KIB = 16


# The phone answers new INVITEs beyond 20 a second with 503 (firmware/sip/invite_guard.py: an
# INVITE flood once aborted pjlib); back to back here means as fast as a phone may take calls.
MIN_CALL_INTERVAL_S = 1 / 15


def _one_call(a: PhoneAgent, b: PhoneAgent, n: int) -> None:
    started = time.monotonic()
    _call(a, b, n)
    time.sleep(max(0.0, MIN_CALL_INTERVAL_S - (time.monotonic() - started)))


def _call(a: PhoneAgent, b: PhoneAgent, n: int) -> None:
    a.lift()
    a.press("1", "0", "0", "2", "#")
    b.wait(phase="ringing")
    b.lift()
    a.wait(phase="in_call", **{"call.media_active": True})
    b.wait(phase="in_call", **{"call.media_active": True})
    for phone in (a, b):
        until(lambda p=phone: _flowing(p), timeout=3, what=f"call {n}: RTP both ways", every=0.01)  # type: ignore[misc]
    first, second = (a, b) if n % 2 else (b, a)
    first.hang_up()
    second.wait(phase="ended")
    second.hang_up()
    a.wait(phase="idle")
    b.wait(phase="idle")


def _flowing(phone: PhoneAgent) -> bool:
    stats = phone.request("stats")
    return stats is not None and stats["rx_packets"] > 0 and stats["tx_packets"] > 0


def test_back_to_back_calls_without_failure_and_bounded_memory(make_phone: PhoneFactory) -> None:
    a, b = make_phone("1001"), make_phone("1002")
    assert a.pid is not None and b.pid is not None
    for n in range(WARMUP):
        _one_call(a, b, n)
    start = {"A": rss_kib(a.pid), "B": rss_kib(b.pid)}
    t0 = time.monotonic()
    samples: list[tuple[int, int, int]] = []
    for n in range(CALLS):
        _one_call(a, b, n)
        if n % max(1, CALLS // 10) == 0 or n == CALLS - 1:
            samples.append((n + 1, rss_kib(a.pid), rss_kib(b.pid)))
    elapsed = time.monotonic() - t0
    end = {"A": rss_kib(a.pid), "B": rss_kib(b.pid)}
    budget = BASE_BUDGET_KIB + PER_CALL_BUDGET_KIB * CALLS
    growth = {k: end[k] - start[k] for k in start}
    print(
        f"soak: {CALLS} calls in {elapsed:.1f} s ({elapsed / CALLS * 1000:.0f} ms/call), no failure; RSS "
        + ", ".join(
            f"{k} {start[k] / 1024:.1f}->{end[k] / 1024:.1f} MiB ({growth[k] / CALLS:+.1f} KiB/call)"
            for k in start
        )
        + f"; budget {budget / 1024:.1f} MiB; samples (call, A KiB, B KiB): {samples}"
    )
    assert all(g < budget for g in growth.values()), (growth, budget)
    assert a.state()["registration"] == "registered" and b.state()["registration"] == "registered"


SLOPE_CALLS = 40
SLOPE_BUDGET_KIB = 8  # per call, after malloc_trim: a flat phone retains nothing per call


@pytest.mark.xfail(
    strict=False,
    reason="KNOWN LEAK (found by this suite, 2026-11-22): ~50 KiB of native memory per call kept by the"
    " caller, ~20-35 KiB by the callee, linear over 1,000 calls (not the Python heap: object counts,"
    " conference ports and engine calls stay flat; survives malloc_trim). Remove when fixed.",
)
def test_memory_per_call_is_flat(make_phone: PhoneFactory) -> None:
    """The slope, not a budget: RSS after malloc_trim (agent op `memory`) per call over 40 calls."""
    a, b = make_phone("1001"), make_phone("1002")
    for n in range(WARMUP):
        _one_call(a, b, n)
    before = {p.name: p.request("memory", trim=True, top=0) for p in (a, b)}
    for n in range(SLOPE_CALLS):
        _one_call(a, b, n)
        time.sleep(0.03)  # not a flood: closed pjlib sockets are recycled after 500 ms
    after = {p.name: p.request("memory", trim=True, top=0) for p in (a, b)}
    slope = {k: (after[k]["rss_kib"] - before[k]["rss_kib"]) / SLOPE_CALLS for k in before}
    print(
        "memory per call (KiB, after malloc_trim): "
        + ", ".join(f"{k} {v:+.1f}" for k, v in slope.items())
        + "; Python objects "
        + ", ".join(f"{k} {after[k]['objects'] - before[k]['objects']:+d}" for k in before)
        + "; media ports "
        + ", ".join(f"{k} {after[k]['media_ports']}" for k in before)
    )
    assert all(v < SLOPE_BUDGET_KIB for v in slope.values()), slope
