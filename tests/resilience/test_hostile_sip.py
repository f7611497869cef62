"""Hostile network input on the phone's SIP port (issue 7): seeded random datagrams and mutated SIP,
and the 49 RFC 4475 torture cases (reconstructions, see rfc4475.py), sent over UDP straight to the
phone's own transport (fixed with `[sip] local_port`). The phone must not crash: its agent keeps
answering, it stays registered, and it still places a call with media at the end.

Environment: DESKPHONE_FUZZ_DATAGRAMS (default 2000), DESKPHONE_SEED.
"""

from __future__ import annotations

import os
import random
import re
import select
import time

import pytest

from firmware.errors import LabError
from firmware.lab.phone import PhoneAgent
from firmware.lab.ports import free_udp_tcp_port
from tests.e2e.conftest import PhoneFactory
from tests.resilience.conftest import still_calls, until
from tests.resilience.rfc4475 import CASES
from tests.resilience.sipgen import Sender, datagrams, udp_socket_queue, valid_messages, wait_drained

pytestmark = pytest.mark.integration

COUNT = int(os.environ.get("DESKPHONE_FUZZ_DATAGRAMS", "2000"))
SEED = int(os.environ.get("DESKPHONE_SEED", "4475"))


def _settle(a: PhoneAgent) -> None:
    """End whatever a hostile INVITE left: decline a ringing fake caller (BACK -> 603).

    Not by answering: a fake caller never ACKs our 200, and pjsua keeps such a call (and one of
    its 4 call slots) until its 32 s ACK timeout even after we hang up (docs/reliability.md)."""
    if a.state()["phase"] == "ringing":
        a.press("back")
    if a.state()["phase"] != "idle":
        a.hang_up()
        until(lambda: a.state()["phase"] == "idle", timeout=10, what="phone idle after the fake call")


def test_random_datagrams_on_the_sip_port(make_phone: PhoneFactory) -> None:
    port = free_udp_tcp_port()
    a, b = make_phone("1001", local_port=port), make_phone("1002")
    rng = random.Random(SEED)
    sender = Sender()
    sizes: list[int] = []
    lags: list[float] = []
    try:
        valid = valid_messages(rng, port, sender.port)
        dropped_before = udp_socket_queue(port)[1]
        t0 = time.monotonic()
        for n, data in enumerate(datagrams(rng, COUNT, valid), start=1):
            wait_drained(
                port, below=96 * 1024
            )  # paced on the phone's reading: the kernel must not drop them for it
            sender.send(data, port)
            sizes.append(len(data))
            if n % 100 == 0:  # the phone's loop still answers between bursts
                t = time.monotonic()
                assert a.request("ping", timeout=5) == "pong"
                lags.append(time.monotonic() - t)
                _settle(a) if a.state()["phase"] == "ringing" else None
        wait_drained(port, below=1)
        elapsed = time.monotonic() - t0
        dropped = udp_socket_queue(port)[1] - dropped_before
        sender.drain()
    finally:
        sender.close()
    _settle(a)
    assert a.state()["registration"] == "registered"
    still_calls(a, b, "1002")
    print(
        f"{COUNT} datagrams (seed {SEED}, sizes {min(sizes)}..{max(sizes)} B, {sum(sizes) / 1e6:.1f} MB) in "
        f"{elapsed:.1f} s; {dropped} dropped by the kernel; {sender.replies} replies;"
        f" agent ping worst {max(lags) * 1000:.0f} ms; call OK"
    )
    assert elapsed < 30 and dropped < COUNT // 20, (elapsed, dropped)


def test_rfc4475_torture_messages(make_phone: PhoneFactory) -> None:
    port = free_udp_tcp_port()
    a, b = make_phone("1001", local_port=port), make_phone("1002")
    sender = Sender()
    answers: dict[str, str] = {}
    try:
        for case in CASES:
            data = case.render(port, sender.port)
            sender.send(data, port)
            found = re.search(rb"(?im)^(?:call-id|i)[ \t]*:[ \t]*(\S+)", data)
            call_id = found.group(1) if found else b"\x00"
            first = ""
            deadline = time.monotonic() + 0.15
            while time.monotonic() < deadline and select.select([sender.sock], [], [], 0.02)[0]:
                try:
                    reply = sender.sock.recv(65535)
                except OSError:
                    break
                if (
                    reply.startswith(b"SIP/2.0 ")
                    and not reply.startswith(b"SIP/2.0 100")
                    and call_id in reply
                ):
                    first = reply.split(b"\r\n", 1)[0][8:].decode(errors="replace")
                    break
            answers[case.name] = first or "-"
            assert a.request("ping", timeout=5) == "pong", case.name
            if a.state()["phase"] != "idle":
                _settle(a)
    finally:
        sender.close()
    assert a.state()["registration"] == "registered"
    still_calls(a, b, "1002")
    for case in CASES:
        print(
            f"{case.section:9} {case.name:11} {'valid' if case.valid else 'invalid':7} {answers[case.name]}"
        )


def _alive(a: PhoneAgent) -> bool:
    try:
        return bool(a.request("ping", timeout=5) == "pong")
    except (OSError, LabError):
        return False


def _invite(port: int, my_port: int, n: int) -> bytes:
    sdp = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 40000 RTP/AVP 9 0\r\n"
    )
    return (
        f"INVITE sip:1001@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{my_port};branch=z9hG4bKflood{n};rport\r\n"
        f"Max-Forwards: 70\r\nFrom: <sip:flood@lab.test>;tag=f{n}\r\nTo: <sip:1001@lab.test>\r\n"
        f"Call-ID: flood-{n}@fuzz\r\nCSeq: 1 INVITE\r\nContact: <sip:flood@127.0.0.1:{my_port}>\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}"
    ).encode()


def test_invite_flood_on_the_sip_port(make_phone: PhoneFactory) -> None:
    """Well-formed INVITEs from one fake caller as fast as UDP takes them: the phone rings for the
    first, answers the rest busy (or pjsua's "too many calls"), and must not run out of anything."""
    port = free_udp_tcp_port()
    a, b = make_phone("1001", local_port=port), make_phone("1002")
    sender = Sender()
    count = int(os.environ.get("DESKPHONE_INVITE_FLOOD", "1000"))
    try:
        t0 = time.monotonic()
        for n in range(count):
            sender.send(_invite(port, sender.port, n), port)
            if n % 20 == 19:
                time.sleep(0.005)  # let the phone answer: about 2,000 INVITEs a second
        elapsed = time.monotonic() - t0
        time.sleep(0.3)
        sender.drain()
        if not _alive(a):
            stderr = (a.workdir / f"{a.name}.stderr").read_text(errors="replace").splitlines()[-1:]
            a.kill()  # reap it: the fixture's clean stop needs a live agent
            raise AssertionError(f"the phone died during an INVITE flood of {count}: {stderr}")
    finally:
        sender.close()
    _settle(a)
    assert a.state()["registration"] == "registered"
    still_calls(a, b, "1002")
    print(f"INVITE flood: {count} in {elapsed:.2f} s, {sender.replies} replies; phone alive, call OK")
