"""Hostile input on the phone's SIP TCP and TLS listeners (issue 7; test_hostile_sip.py does UDP).

Over a stream pjsip must find message boundaries itself (Content-Length), so besides what a
datagram can carry a stream can lie about lengths, stop halfway and stay open, or never send a
message boundary at all; and anyone can open connections. Each case: the phone's agent keeps
answering, the phone stays registered, and it still places a call with media at the end.

Environment: DESKPHONE_SEED, DESKPHONE_FUZZ_STREAMS (random streams, default 200).
"""

from __future__ import annotations

import os
import random
import socket
import time
from collections.abc import Iterable

import pytest

from firmware.lab.phone import PhoneAgent
from firmware.lab.ports import free_udp_tcp_port
from tests.e2e.conftest import PhoneFactory
from tests.resilience.conftest import still_calls, until
from tests.resilience.rfc4475 import CASES
from tests.resilience.sipgen import mutate, valid_messages

pytestmark = pytest.mark.integration

SEED = int(os.environ.get("DESKPHONE_SEED", "4475"))
STREAMS = int(os.environ.get("DESKPHONE_FUZZ_STREAMS", "200"))
FLOOD = 100  # connections held open at once
MY_PORT = 9  # discard: where the messages' Vias and Contacts point (nobody answers there)


def _send(port: int, chunks: Iterable[bytes], linger: float = 0.0) -> int:
    """One connection: send `chunks`, keep it open `linger` s, close; returns bytes answered."""
    answered = 0
    with socket.create_connection(("127.0.0.1", port), timeout=3) as conn:
        for chunk in chunks:
            try:
                conn.sendall(chunk)
            except OSError:  # the phone closed the connection on garbage: what it should do
                return answered
        deadline = time.monotonic() + linger
        conn.settimeout(0.05)
        while True:
            try:
                data = conn.recv(65536)
            except TimeoutError:
                data = b"-"
            except OSError:
                break
            if not data or time.monotonic() > deadline:
                break
            answered += len(data) if data != b"-" else 0
    return answered


def _alive_and_registered(a: PhoneAgent, what: str) -> None:
    assert a.request("ping", timeout=5) == "pong", what
    assert a.state()["registration"] == "registered", what


def _settle(a: PhoneAgent) -> None:
    if a.state()["phase"] == "ringing":
        a.press("back")  # decline a fake caller (never answer: it never ACKs, see test_hostile_sip)
    if a.state()["phase"] != "idle":
        a.hang_up()
        until(lambda: a.state()["phase"] == "idle", timeout=10, what="phone idle after a fake call")


def test_torture_messages_and_random_streams_over_tcp(make_phone: PhoneFactory) -> None:
    port = free_udp_tcp_port()
    a, b = make_phone("1001", transport="tcp", local_port=port), make_phone("1002", transport="tcp")
    rng = random.Random(SEED)
    cases = [case.render(port, MY_PORT) for case in CASES]
    for data in cases:  # one connection each
        _send(port, [data], linger=0.05)
        _settle(a)
    _alive_and_registered(a, "RFC 4475 cases, a connection each")
    _send(port, cases, linger=0.5)  # all of them on one stream: wrong lengths desynchronise it
    _settle(a)
    _alive_and_registered(a, "RFC 4475 cases on one stream")
    valid = valid_messages(rng, port, MY_PORT)
    sizes: list[int] = []
    for _ in range(STREAMS):
        parts = [
            rng.randbytes(rng.choice((1, 100, 4000, 70000)))
            if rng.random() < 0.3
            else mutate(rng, rng.choice(valid))
            for _ in range(rng.randint(1, 8))
        ]
        sizes.append(sum(map(len, parts)))
        _send(port, parts)
    _settle(a)
    _alive_and_registered(a, "random streams")
    print(f"TCP: {len(cases)} torture messages one by one and on one stream; {STREAMS} random streams "
          f"(seed {SEED}) of {min(sizes)}..{max(sizes)} bytes, {sum(sizes) / 1e6:.1f} MB")  # fmt: skip
    still_calls(a, b, "1002")


def test_lying_lengths_half_messages_and_a_connection_flood(make_phone: PhoneFactory) -> None:
    port = free_udp_tcp_port()
    a, b = make_phone("1001", transport="tcp", local_port=port), make_phone("1002", transport="tcp")
    head = (
        f"OPTIONS sip:1001@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP 127.0.0.1:{MY_PORT};branch=z9hG4bKx\r\n"
        f"From: <sip:x@lab.test>;tag=1\r\nTo: <sip:1001@lab.test>\r\nCall-ID: lie\r\nCSeq: 1 OPTIONS\r\n"
        "Max-Forwards: 70\r\n"
    ).encode()
    _send(port, [head + b"Content-Length: 1000000000\r\n\r\nshort body"], linger=1.0)  # waits for a GB
    _send(port, [head + b"Content-Length: -5\r\n\r\n"], linger=0.2)
    _send(port, [head[:40]], linger=1.0)  # half a request line, then silence
    _send(port, [b"A" * 200_000], linger=0.5)  # never a line end
    _send(port, [b"\r\n" * 50_000], linger=0.2)  # keep-alive CRLFs only
    _alive_and_registered(a, "lying lengths and half messages")
    held: list[socket.socket] = []
    try:
        t0 = time.monotonic()
        for _ in range(FLOOD):
            try:
                held.append(socket.create_connection(("127.0.0.1", port), timeout=3))
            except OSError:
                break  # the listen backlog is full: the kernel refuses for the phone
        print(f"TCP flood: {len(held)} of {FLOOD} connections open after {time.monotonic() - t0:.1f} s; "
              "the phone places a call meanwhile")  # fmt: skip
        _alive_and_registered(a, "connection flood")
        still_calls(a, b, "1002")
    finally:
        for conn in held:
            conn.close()
    still_calls(a, b, "1002")


def test_garbage_on_the_tls_listener(make_phone: PhoneFactory) -> None:
    port = free_udp_tcp_port()
    a, b = make_phone("1001", transport="tls", local_port=port), make_phone("1002", transport="tls")
    rng = random.Random(SEED)
    client_hello_start = bytes.fromhex("16030100c8010000c40303")  # a handshake record that stops short
    for n in range(50):
        chunks = [client_hello_start + rng.randbytes(rng.randint(0, 300))] if n % 2 else [rng.randbytes(2000)]
        _send(port, chunks, linger=0.02)
    _send(port, [client_hello_start], linger=1.0)  # a handshake that never finishes
    _alive_and_registered(a, "TLS garbage")
    still_calls(a, b, "1002")
