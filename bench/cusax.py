"""RFC 7081 caller identification at scale: `.venv/bin/python -m bench.cusax [--contacts N] [--runs N]`.

In process, no SIP: the real Phone on the sim board with a recording SIP engine (bench/inprocess.py),
its state loaded with N roster contacts (default 10,000, the roster's bound) and their vCards, two
tels each. Measured:

1. INVITE received -> ringing screen with the verified caller drawn: IncomingCall posted on the
   loop (what the SIP engine's onIncomingCall does) until the frame showing "<name> \u2713" reached
   the display; a different contact each run. Also the pure parts: step() for the IncomingCall
   (the O(1) tel-index lookup) and screen()+render of the ringing frame; and, for comparison, what a
   scan of every contact's tels (what RFC 7081 section 3.5 warns about) costs per call.
2. Keeping the index: step() of one VCardLoaded (a contact's card changed) at that roster size,
   and step() of the whole RosterLoaded (index built from scratch at login).
3. Memory of the tel index (tracemalloc): the index alone, and per contact.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import time
import tracemalloc
from collections.abc import Callable

from bench.inprocess import Bench
from bench.stats import describe
from firmware.cusax import CusaxPolicy
from firmware.events import ChatConnectionChanged, IncomingCall, RosterLoaded, VCardLoaded
from firmware.machine import step
from firmware.state import Phase, PhoneState, Settings
from firmware.tel_index import TelIndex
from firmware.ui import render, screen
from firmware.xmpp.model import ChatState, Contact, Tel, VCard
from firmware.xmpp.tel import tel_key

DOMAIN = "lab.test"
CHECK = "\u2713"


def contacts(count: int) -> tuple[Contact, ...]:
    """`count` contacts, each with an extension in our SIP domain and a mobile number."""
    found = []
    for i in range(count):
        sip, mobile = f"sip:{100000 + i}@{DOMAIN}", f"tel:+4915{i:08d}"
        tels = (Tel(sip, tel_key(sip, DOMAIN), frozenset({"work"})), Tel(mobile, tel_key(mobile, DOMAIN)))
        found.append(Contact(f"user{i}@{DOMAIN}", f"Person {i:05d}", "both", tels=tels))
    return tuple(found)


def loaded_state(roster: tuple[Contact, ...]) -> tuple[PhoneState, float]:
    """The state after login with this roster; returns it and the RosterLoaded step in ms."""
    state = PhoneState(settings=Settings(domain=DOMAIN, cusax=CusaxPolicy(own_jid=f"me@{DOMAIN}")))
    state, _ = step(state, ChatConnectionChanged(ChatState.ONLINE))
    start = time.perf_counter_ns()
    state, _ = step(state, RosterLoaded(roster))
    return state, (time.perf_counter_ns() - start) / 1e6


def scan(state: PhoneState, remote: str) -> str:
    """The naive way: look at every contact's tels (what the index avoids)."""
    key = tel_key(remote, DOMAIN)
    roster = state.chat.roster
    for jid in roster.contacts:
        contact = roster.contact(jid)
        if contact is not None and any(t.key == key for t in contact.tels):
            return jid
    return ""


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return samples


def pure_figures(roster: tuple[Contact, ...], runs: int) -> dict[str, list[float]]:
    state, login_ms = loaded_state(roster)
    rng = random.Random(7)
    callers = [roster[rng.randrange(len(roster))] for _ in range(runs)]
    figures: dict[str, list[float]] = {"RosterLoaded step (index built)": [login_ms]}

    def ring(contact: Contact) -> PhoneState:
        new, _ = step(state, IncomingCall(-1, contact.tels[0].uri))
        assert new.phase is Phase.RINGING and new.cusax.party is not None
        assert new.cusax.party.jid == contact.jid
        return new

    it = iter(callers)
    figures["IncomingCall step (identify, O(1))"] = timed(lambda: ring(next(it)), runs)
    ringing = ring(callers[0])
    figures["ringing frame: screen() + render"] = timed(lambda: render(screen(ringing, (128, 64))), runs)
    assert any(CHECK in line for line in render(screen(ringing, (128, 64))).text)
    it = iter(callers)
    figures["for comparison: scanning every contact"] = timed(
        lambda: scan(state, next(it).tels[0].uri), min(runs, 20)
    )
    cards = iter(range(10**9))

    def card() -> None:
        i = next(cards) % len(roster)
        sip = f"sip:{200000 + i}@{DOMAIN}"
        step(state, VCardLoaded(VCard(roster[i].jid, "New name", (Tel(sip, tel_key(sip, DOMAIN)),))))

    figures["VCardLoaded step (index patched)"] = timed(card, runs)
    return figures


def index_memory(roster: tuple[Contact, ...]) -> tuple[int, int]:
    """Bytes held by the tel index alone (tracemalloc), built from the contacts' existing keys."""
    entries = [(c.jid, frozenset(t.key for t in c.tels)) for c in roster]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index = TelIndex.build(entries)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return after - before, len(index)


def state_memory(count: int) -> int:
    """Bytes the logged-in PhoneState holds with `count` contacts and their vCards' tels (tracemalloc):
    the contacts, the roster and the tel index, built while tracing and kept alive by the state."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        state, _ = loaded_state(contacts(count))
        gc.collect()
        size = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(state.cusax.tels) == 2 * count
    return size


def _verified(name: str) -> Callable[[list[str]], bool]:
    """A frame check: the ringing screen shows this contact as verified."""

    def check(lines: list[str]) -> bool:
        return any(f"{name} {CHECK}" in line for line in lines)

    return check


async def invite_to_frame(roster: tuple[Contact, ...], runs: int) -> list[float]:
    """The real Phone: IncomingCall posted on the loop -> frame with the verified caller shown."""
    bench = Bench()
    await bench.phone.start()
    try:
        bench.phone.post(ChatConnectionChanged(ChatState.ONLINE))
        bench.phone.post(RosterLoaded(roster))
        await bench.phone.wait_until(lambda s: len(s.cusax.tels) == 2 * len(roster), 30.0)
        rng = random.Random(11)
        samples = []
        for n in range(runs):
            contact = roster[rng.randrange(len(roster))]
            shown = bench.next_frame(_verified(contact.name))
            start = time.perf_counter_ns()
            bench.phone.post(IncomingCall(-1 - n, contact.tels[n % 2].uri))
            samples.append((await asyncio.wait_for(shown, 5.0) - start) / 1e6)
            bench.board.press("back")  # decline
            await bench.until(Phase.IDLE)
        return samples
    finally:
        await bench.phone.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    roster = contacts(args.contacts)
    print(f"RFC 7081 caller identification with {args.contacts:,} contacts ({2 * args.contacts:,} tels)\n")
    figures = {"INVITE received -> verified caller drawn": asyncio.run(invite_to_frame(roster, args.runs))}
    figures.update(pure_figures(roster, args.runs))
    print(f"| {'what (ms)':44} | {'median':>14} | {'spread':>22} |")
    print(f"| {'-' * 44} | {'-' * 14}:| {'-' * 22}:|")
    for what, samples in figures.items():
        median, spread = describe(samples)
        print(f"| {what:44} | {median:>14} | {spread:>22} |")
    size, keys = index_memory(roster)
    print(f"\ntel index: {keys:,} keys, {size / 1024:,.0f} KiB ({size / len(roster):.0f} bytes per contact)")


if __name__ == "__main__":
    main()
