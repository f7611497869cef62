"""Hostile SIP datagrams: seeded random bytes and mutated valid SIP messages aimed at one phone."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Iterator

MAX_UDP = 65507  # the largest UDP payload over IPv4


def valid_messages(
    rng: random.Random, phone_port: int, my_port: int, user: str = "1001", domain: str = "lab.test"
) -> list[bytes]:
    """Well-formed requests and responses as a peer would send them to the phone (Via: us, rport);
    tags, branches and Call-IDs come from `rng`, so a seed replays the same run."""

    def token_hex(n: int) -> str:
        return rng.randbytes(n).hex()

    sdp = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 40000 RTP/AVP 9 0 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    )

    def request(method: str, body: str = "", ctype: str = "", extra: str = "") -> bytes:
        head = (
            f"{method} sip:{user}@127.0.0.1:{phone_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{my_port};branch=z9hG4bK{token_hex(6)};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:fuzz@{domain}>;tag={token_hex(4)}\r\n"
            f"To: <sip:{user}@{domain}>\r\n"
            f"Call-ID: {token_hex(8)}@fuzz\r\n"
            f"CSeq: 1 {method}\r\n"
            f"Contact: <sip:fuzz@127.0.0.1:{my_port}>\r\n{extra}"
        )
        if ctype:
            head += f"Content-Type: {ctype}\r\n"
        return (head + f"Content-Length: {len(body)}\r\n\r\n" + body).encode()

    response = (
        "SIP/2.0 200 OK\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{phone_port};branch=z9hG4bK{token_hex(6)}\r\n"
        f"From: <sip:{user}@{domain}>;tag=abc\r\nTo: <sip:x@{domain}>;tag=def\r\n"
        f"Call-ID: {token_hex(8)}\r\nCSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    return [
        request("OPTIONS"),
        request("INVITE", sdp, "application/sdp"),
        request("MESSAGE", "hello", "text/plain"),
        request(
            "NOTIFY",
            "Messages-Waiting: yes\r\n",
            "application/simple-message-summary",
            "Event: message-summary\r\n",
        ),
        request("BYE"),
        request("CANCEL"),
        request("INFO", "Signal=5\r\nDuration=160\r\n", "application/dtmf-relay"),
        request("SUBSCRIBE", extra="Event: presence\r\nExpires: 60\r\n"),
        request("REFER", extra=f"Refer-To: <sip:1002@{domain}>\r\n"),
        response,
    ]


def mutate(rng: random.Random, msg: bytes) -> bytes:
    data = bytearray(msg)
    for _ in range(rng.randint(1, 6)):
        kind = rng.randrange(9)
        at = rng.randrange(len(data) + 1)
        if kind == 0 and data:  # flip bits
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        elif kind == 1:  # truncate
            del data[at:]
        elif kind == 2:  # insert random bytes
            data[at:at] = rng.randbytes(rng.randint(1, 64))
        elif kind == 3:  # a huge header value or parameter
            data[at:at] = rng.choice([b";x=", b"\r\nX-Long: ", b"%", b"<sip:"]) + bytes(
                [rng.choice(b'a%0;,<>"\\ \t:@')]
            ) * rng.randint(100, 60000)
        elif kind == 4:  # CR/LF games: drop, double, bare LF, folding
            data = bytearray(
                bytes(data).replace(b"\r\n", rng.choice([b"\n", b"\r", b"\r\n\r\n", b"\r\n  "]), 3)
            )
        elif kind == 5:  # a bogus Content-Length
            data = bytearray(
                bytes(data).replace(
                    b"Content-Length: ",
                    b"Content-Length: " + str(rng.choice([-1, 2**31, 2**64, 99999, 0])).encode() + b" ",
                    1,
                )
            )
        elif kind == 6 and data:  # duplicate a slice (headers appear twice)
            j = rng.randrange(len(data))
            data[at:at] = data[j : j + rng.randint(1, 400)]
        elif kind == 7:  # NULs and high bytes
            data[at:at] = rng.choice([b"\x00", b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80"]) * rng.randint(
                1, 50
            )
        else:  # swap the method or status
            data = bytearray(
                bytes(data).replace(b"OPTIONS", rng.choice([b"", b"OPTI0NS", b"INVITE", b"ACK"]), 1)
            )
    return bytes(data[:MAX_UDP])


def datagrams(rng: random.Random, count: int, valid: list[bytes]) -> Iterator[bytes]:
    """`count` datagrams: a third random bytes (sizes 0..65507, mostly small), the rest mutations."""
    for n in range(count):
        if n % 3 == 0:
            size = rng.choice([0, 1, rng.randint(2, 1500), rng.randint(1500, MAX_UDP), MAX_UDP])
            yield rng.randbytes(size)
        else:
            yield mutate(rng, rng.choice(valid))


def udp_socket_queue(port: int) -> tuple[int, int]:
    """(bytes waiting, datagrams dropped) of the UDP socket bound to `port`, from /proc/net/udp."""
    waiting = dropped = 0
    with open("/proc/net/udp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port:
                waiting += int(fields[4].split(":")[1], 16)
                dropped += int(fields[12])
    return waiting, dropped


def wait_drained(port: int, below: int = 32 * 1024, timeout: float = 2.0) -> None:
    """Pace a sender on the phone: until its socket holds less than `below` bytes unread."""
    deadline = time.monotonic() + timeout
    while udp_socket_queue(port)[0] >= below and time.monotonic() < deadline:
        time.sleep(0.001)


class Sender:
    """A UDP socket on loopback that sends to the phone and throws the replies away."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        self.sock.setblocking(False)
        self.port: int = self.sock.getsockname()[1]
        self.replies = 0

    def send(self, data: bytes, port: int) -> None:
        for _ in range(100):
            try:
                self.sock.sendto(data, ("127.0.0.1", port))
                break
            except BlockingIOError:
                time.sleep(0.001)
            except ConnectionRefusedError:  # ICMP from an earlier datagram: the phone's port is gone
                raise AssertionError(f"nothing listens on udp:{port} any more") from None
        self.drain()

    def drain(self) -> None:
        while True:
            try:
                self.sock.recv(65535)
                self.replies += 1
            except (BlockingIOError, ConnectionRefusedError):
                return

    def close(self) -> None:
        self.sock.close()
