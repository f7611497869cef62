"""firmware/sip/media_guard.py against the real kernel: the BPF source filter on UDP sockets."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from firmware.sip.media_guard import (
    MediaGuardError,
    attach,
    restrict_sources,
    source_filter,
    split_host_port,
    udp_sockets,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("192.0.2.1:4000", ("192.0.2.1", 4000)),
        ("[2001:db8::1]:4002", ("2001:db8::1", 4002)),
        ("host.example:5", ("host.example", 5)),
        ("192.0.2.1:0", None),
        ("192.0.2.1", None),
        (":4000", None),
        ("", None),
        ("a:b", None),
    ],
)
def test_split_host_port(name: str, expected: tuple[str, int] | None) -> None:
    assert split_host_port(name) == expected


def test_programs_are_whole_instructions_ending_in_accept_and_drop() -> None:
    v4, v6 = source_filter("192.0.2.1"), source_filter("2001:db8::1")
    assert len(v4) == 4 * 8  # load, compare, accept, drop
    assert len(v6) == 10 * 8  # four (load, compare) pairs, accept, drop
    with pytest.raises(ValueError):
        source_filter("host.example")


@pytest.fixture
def receiver() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.3)
    yield sock
    sock.close()


def _send_from(source: str, to: tuple[str, int], payload: bytes) -> None:
    family = socket.AF_INET6 if ":" in source else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sender:
        sender.bind((source, 0))
        sender.sendto(payload, to)


def _received(sock: socket.socket) -> list[bytes]:
    got: list[bytes] = []
    try:
        while True:
            got.append(sock.recv(100))
            sock.settimeout(0.05)
    except TimeoutError:
        return got


def test_only_the_far_end_host_gets_through(receiver: socket.socket) -> None:
    """127.0.0.2 is another source address on loopback: the kernel drops what it sends."""
    attach(receiver, source_filter("127.0.0.1"))
    to = receiver.getsockname()
    for i in range(5):
        _send_from("127.0.0.2", to, b"evil %d" % i)
        _send_from("127.0.0.1", to, b"good %d" % i)
    assert _received(receiver) == [b"good %d" % i for i in range(5)]


def test_a_new_filter_replaces_the_old_one(receiver: socket.socket) -> None:
    """A re-INVITE that moves the far end moves the filter with it."""
    attach(receiver, source_filter("127.0.0.2"))
    attach(receiver, source_filter("127.0.0.1"))
    to = receiver.getsockname()
    _send_from("127.0.0.2", to, b"old")
    _send_from("127.0.0.1", to, b"new")
    assert _received(receiver) == [b"new"]


def test_ipv6_sources() -> None:
    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        sock.bind(("::1", 0))
    except OSError as err:  # pragma: no cover - a kernel without IPv6
        pytest.fail(f"IPv6 loopback unavailable: {err}")
    with sock:
        sock.settimeout(0.3)
        attach(sock, source_filter("::1"))
        _send_from("::1", sock.getsockname()[:2], b"accepted")
        assert _received(sock) == [b"accepted"]
        attach(sock, source_filter("2001:db8::1"))
        _send_from("::1", sock.getsockname()[:2], b"dropped")
        assert _received(sock) == []


def test_restrict_sources_finds_the_process_sockets_by_port(receiver: socket.socket) -> None:
    port = receiver.getsockname()[1]
    # Other sockets in the process: a TCP listener on the same port number, unix datagram ones
    # (sd_notify's kind, whose name is a path or empty) are not RTP sockets.
    unix_a, unix_b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", port))
    tcp.listen()
    with unix_a, unix_b, tcp:
        found = udp_sockets([port])
        try:
            assert list(found) == [port] and found[port].getsockname() == receiver.getsockname()
        finally:
            for sock in found.values():
                sock.close()
    fds = len(os.listdir("/proc/self/fd"))
    assert restrict_sources([port, 1], "127.0.0.1") == 1  # port 1: no such socket here
    assert len(os.listdir("/proc/self/fd")) == fds  # every duplicate closed again
    _send_from("127.0.0.2", receiver.getsockname(), b"evil")
    _send_from("127.0.0.1", receiver.getsockname(), b"good")
    assert _received(receiver) == [b"good"]


def test_an_ipv4_mapped_far_end_filters_as_ipv4(receiver: socket.socket) -> None:
    assert restrict_sources([receiver.getsockname()[1]], "::ffff:127.0.0.1") == 1
    _send_from("127.0.0.2", receiver.getsockname(), b"evil")
    _send_from("127.0.0.1", receiver.getsockname(), b"good")
    assert _received(receiver) == [b"good"]


def test_a_host_name_is_refused_not_guessed(receiver: socket.socket) -> None:
    with pytest.raises(MediaGuardError, match="not an IP address"):
        restrict_sources([receiver.getsockname()[1]], "media.example")
