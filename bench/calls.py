"""Calls end to end through Kamailio: dial -> callee rings, dial -> call set up.

Times are taken in this process on time.monotonic(): for phones when an agent's reply arrives
(a `wait` replies as soon as the state matches: the screen was drawn in the same step), for
baresip when its ctrl_tcp event arrives (BaresipEvent.at).
"""

from __future__ import annotations

import statistics
import time

from bench.lab import BenchBaresip, BenchLab
from firmware.lab.phone import IN_CALL, PhoneAgent, hang_up


def agent_round_trip_ms(agent: PhoneAgent, runs: int = 20) -> float:
    """Median time of one request to an agent and its reply (the bench's own measuring cost)."""
    times = []
    for _ in range(runs):
        start = time.monotonic()
        agent.request("ping")
        times.append(1000 * (time.monotonic() - start))
    return statistics.median(times)


def phone_to_phone(lab: BenchLab, runs: int) -> dict[str, list[float]]:
    """A lifts and dials 1002; ms from the '#' press to B ringing, and to the call set up on both
    sides (B answers by lifting as soon as it rings: that costs one agent round trip)."""
    a, b = lab.phones("1001", "1002")
    out: dict[str, list[float]] = {"ringing": [], "setup": [], "agent_rtt": []}
    try:
        a.wait(registration="registered")
        b.wait(registration="registered")
        out["agent_rtt"].append(agent_round_trip_ms(b))
        for _ in range(runs):
            a.lift()
            a.press("1", "0", "0", "2")
            start = time.monotonic()
            a.press("#")
            b.wait(phase="ringing")
            ringing = time.monotonic()
            b.lift()
            a.wait(**IN_CALL)
            b.wait(**IN_CALL)
            set_up = time.monotonic()
            hang_up(a, b)
            out["ringing"].append(1000 * (ringing - start))
            out["setup"].append(1000 * (set_up - start))
    finally:
        lab.release(a, b)
    return out


def phone_to_baresip(lab: BenchLab, runs: int) -> dict[str, list[float]]:
    """A (phone) dials baresip 2002, which answers by itself: ms from '#' to both sides set up."""
    a, peer = lab.phone("1001"), lab.baresip("2002")
    out: dict[str, list[float]] = {"setup": []}
    try:
        a.wait(registration="registered")
        peer.wait_registered()
        for _ in range(runs):
            peer.skip_events()
            a.lift()
            a.press(*peer.user)
            start = time.monotonic()
            a.press("#")
            a.wait(**IN_CALL)
            phone_up = time.monotonic()
            established = peer.wait_for_event("CALL_ESTABLISHED").at
            out["setup"].append(1000 * (max(phone_up, established) - start))
            a.hang_up()
            a.wait(phase="idle")
            peer.wait_for_event("CALL_CLOSED")
    finally:
        lab.release(a, peer)
    return out


def baresip_to_baresip(lab: BenchLab, runs: int) -> dict[str, list[float]]:
    """baresip 2001 dials baresip 2002 (auto-answer): ms from the dial command to the callee's first
    event of the call, and to CALL_ESTABLISHED on both sides."""
    a, b = lab.baresip("2001"), lab.baresip("2002")
    out: dict[str, list[float]] = {"ringing": [], "setup": []}
    try:
        a.wait_registered()
        b.wait_registered()
        for _ in range(runs):
            out_ring, out_setup = _baresip_call(a, b)
            out["ringing"].append(out_ring)
            out["setup"].append(out_setup)
    finally:
        lab.release(a, b)
    return out


def _baresip_call(a: BenchBaresip, b: BenchBaresip) -> tuple[float, float]:
    """An auto-answering baresip 1.0 emits no CALL_INCOMING: the callee's first event of the call
    (the offer's CALL_REMOTE_SDP) marks the INVITE being handled."""
    a.skip_events()
    b.skip_events()
    seen = len(b.events)
    start = time.monotonic()
    a.dial(b.user)
    established = max(a.wait_for_event("CALL_ESTABLISHED").at, b.wait_for_event("CALL_ESTABLISHED").at)
    incoming = b.events[seen].at
    a.hangup()
    a.wait_for_event("CALL_CLOSED")
    b.wait_for_event("CALL_CLOSED")
    return 1000 * (incoming - start), 1000 * (established - start)
