"""Back-to-back calls between two phone agents: the soak that tests/resilience/test_soak.py runs and
bench/soak.py measures, written once.

Each call: A lifts and dials B's number, B rings and answers, both are in the call with RTP counted
both ways, then it is hung up (alternately by each side) and both phones are idle again. Calls start
at most MAX_CALLS_PER_S a second: the phone answers new INVITEs beyond 20 a second with 503
(firmware/sip/invite_guard.py), so this is as fast as a phone may take calls.

Memory after a soak is only comparable once pjsip has let go of the ended calls: over UDP it keeps
each finished INVITE transaction, and the dialog with it, 64*T1 = 32 s to absorb retransmitted
responses (RFC 3261 17.1.1.2, RFC 6026). `wait_released` waits for that; `retained_kib` reads the
agent's RSS after malloc_trim, so freed heap does not count.
"""

from __future__ import annotations

import time

from firmware.errors import LabError
from firmware.lab.phone import PhoneAgent, connect, hang_up

MAX_CALLS_PER_S = 15
WARMUP = 3  # the first calls allocate pools, codecs and caches once: memory is compared after them
RTP_TIMEOUT_S = 3.0
# pjsip's longest transaction timer after a call (Timer D/L/M: 64*T1 = 32 s) plus its timer
# resolution and the agents' poll.
RELEASE_TIMEOUT_S = 40.0


def one_call(a: PhoneAgent, b: PhoneAgent, n: int, number: str = "1002") -> float:
    """Call n of a soak (who hangs up first alternates with n); returns its wall time in seconds,
    pacing included."""
    started = time.monotonic()
    connect(a, b, number)
    deadline = time.monotonic() + RTP_TIMEOUT_S
    for phone in (a, b):
        while not _flowing(phone):
            if time.monotonic() > deadline:
                raise LabError(f"call {n}: no RTP both ways")
            time.sleep(0.01)
    hang_up(*((a, b) if n % 2 else (b, a)))
    time.sleep(max(0.0, 1 / MAX_CALLS_PER_S - (time.monotonic() - started)))
    return time.monotonic() - started


def _flowing(phone: PhoneAgent) -> bool:
    stats = phone.request("stats")
    return isinstance(stats, dict) and stats["rx_packets"] > 0 and stats["tx_packets"] > 0


def sip_objects(phone: PhoneAgent) -> dict[str, int]:
    """pjsip's live transactions and dialogs in the agent."""
    live = phone.request("memory", top=0)["sip_objects"]
    if live is None:
        raise LabError("this pjsua2 build does not export pjsip's transaction and dialog counts")
    return dict(live)


def wait_released(phones: tuple[PhoneAgent, ...], timeout: float = RELEASE_TIMEOUT_S) -> float:
    """Wait until no phone holds a dialog or an INVITE-sized backlog of transactions (the idle
    phone's own REGISTER/OPTIONS transactions may be alive: at most one of each); returns the
    seconds waited."""
    t0 = time.monotonic()
    while True:
        live = {p.name: sip_objects(p) for p in phones}
        if all(v["dialogs"] == 0 and v["transactions"] <= 2 for v in live.values()):
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise LabError(f"pjsip still holds ended calls after {timeout} s: {live}")
        time.sleep(0.5)


def retained_kib(phone: PhoneAgent) -> int:
    """The agent's VmRSS after gc and malloc_trim: what it holds, not what its heap once reached."""
    return int(phone.request("memory", trim=True, top=0)["rss_kib"])
