"""firmware.service against real AF_UNIX datagram sockets (what systemd and journald listen on)."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware import config as config_mod
from firmware import service as service_mod
from firmware.app import Phone
from firmware.cli import run_phone
from firmware.events import Event, RegState
from firmware.service import JournalHandler, Notifier, Service, watchdog_ping_interval
from firmware.sip.unavailable import REASON, UnavailableEngine
from hal import make_board


class Listener:
    """The systemd side: a bound datagram socket that collects what the phone sends."""

    def __init__(self, sock: socket.socket, name: str) -> None:
        self.sock, self.name = sock, name
        self.sock.settimeout(5)

    def recv(self, timeout: float = 5.0) -> str:
        self.sock.settimeout(timeout)
        return self.sock.recv(65536).decode()

    def recv_until(self, line: str, timeout: float = 10.0) -> list[str]:
        """Every message up to and including the first one that has `line`."""
        deadline = time.monotonic() + timeout
        got: list[str] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{line!r} not received; got {got}")
            got.append(self.recv(left))
            if line in got[-1].split("\n"):
                return got


@pytest.fixture
def path_socket(tmp_path: Path) -> Iterator[Listener]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify"
    sock.bind(str(path))
    yield Listener(sock, str(path))
    sock.close()


@pytest.fixture
def abstract_socket() -> Iterator[Listener]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"deskphone-test-{os.getpid()}-{time.monotonic_ns()}"
    sock.bind("\0" + name)
    yield Listener(sock, "@" + name)
    sock.close()


def _doc() -> dict[str, object]:
    """A config document as `deskphone run` reads it from its file."""
    sip = {"domain": "lab.test", "registrar": "127.0.0.1", "port": 9, "transport": "udp", "user": "1001"}
    return {"sip": sip, "hardware": {"backend": "sim"}}


def _config() -> config_mod.Config:
    return config_mod.parse(_doc())


def _phone(config: config_mod.Config) -> Phone:
    def engine(post: object) -> UnavailableEngine:
        return UnavailableEngine(post, "test")  # type: ignore[arg-type]

    return Phone(config, make_board(config.hal_config()), engine)


# ---------------------------------------------------------------------- Notifier


def test_notify_reaches_a_path_socket(path_socket: Listener) -> None:
    notifier = Notifier(path_socket.name)
    assert notifier.enabled
    assert notifier.notify("READY=1", "STATUS=hello")
    assert path_socket.recv() == "READY=1\nSTATUS=hello"


def test_notify_reaches_an_abstract_socket(abstract_socket: Listener) -> None:
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": abstract_socket.name})
    assert notifier.notify("WATCHDOG=1")
    assert abstract_socket.recv() == "WATCHDOG=1"


def test_without_notify_socket_nothing_is_sent() -> None:
    notifier = Notifier.from_environment({})
    assert not notifier.enabled
    assert not notifier.notify("READY=1")


def test_a_vanished_socket_is_logged_not_raised(tmp_path: Path) -> None:
    assert not Notifier(str(tmp_path / "gone")).notify("READY=1")


def test_bad_lines_and_addresses_are_refused(path_socket: Listener) -> None:
    with pytest.raises(ValueError, match="newline"):
        Notifier(path_socket.name).notify("STATUS=a\nREADY=1")
    with pytest.raises(ValueError, match="NOTIFY_SOCKET"):
        Notifier("relative/path")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"WATCHDOG_USEC": "10000000"}, 5.0),
        ({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "4242"}, 5.0),
        ({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "1"}, None),  # for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "x"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_is_half_of_watchdog_usec(environ: dict[str, str], expected: float | None) -> None:
    assert watchdog_ping_interval(environ, pid=4242) == expected


# ---------------------------------------------------------------------- Service with a real Phone


def test_ready_after_start_then_status_then_stopping(path_socket: Listener) -> None:
    async def scenario() -> list[str]:
        service = Service(Notifier(path_socket.name), watchdog_interval=None)
        phone = _phone(_config())
        service.start_watchdog()
        await phone.start()
        service.ready(phone)
        await phone.wait_until(lambda s: s.registration.state is RegState.FAILED)
        await asyncio.sleep(0.05)
        service.stopping()
        await phone.stop()
        service.close()
        return service.notifier.sent if service.notifier.enabled else []

    asyncio.run(scenario())
    messages = path_socket.recv_until("STOPPING=1")
    ready = next(i for i, m in enumerate(messages) if "READY=1" in m.split("\n"))
    assert messages[ready].startswith("READY=1\nSTATUS=")
    statuses = [line for m in messages[ready:] for line in m.split("\n") if line.startswith("STATUS=")]
    assert f"STATUS=SIP failed: {REASON}" in statuses, messages


def test_watchdog_pings_from_the_loop_and_stop_when_the_loop_hangs(path_socket: Listener) -> None:
    """Pings arrive at the configured interval; the SIGUSR2 hook blocks the loop and the pings stop."""

    async def scenario() -> None:
        service = Service(Notifier(path_socket.name), watchdog_interval=0.05, hang_s=0.6)
        service.start_watchdog()
        await asyncio.sleep(0.3)
        os.kill(os.getpid(), signal.SIGUSR2)  # the handler runs on the loop and blocks it for 0.6 s
        await asyncio.sleep(0.3)
        service.close()

    asyncio.run(scenario())
    stamps: list[float] = []
    while True:
        try:
            message = path_socket.recv(timeout=0.2)
        except TimeoutError:
            break
        assert message == "WATCHDOG=1"
        stamps.append(time.monotonic())
    # Datagrams queue up in the socket, so measure the gap from the send side instead: the pings
    # counted must be far fewer than (0.3 + 0.6 + 0.3) / 0.05 = 24 had the loop kept running.
    assert 6 <= len(stamps) <= 16, stamps


def test_watchdog_gap_matches_a_hung_loop(abstract_socket: Listener) -> None:
    """Timestamps taken as the pings are received: one gap covers the whole hang."""
    received: list[float] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        service = Service(Notifier(abstract_socket.name), watchdog_interval=0.05, hang_s=0.5)
        reader = socket.socket(fileno=os.dup(abstract_socket.sock.fileno()))
        reader.setblocking(False)

        def on_readable() -> None:
            while True:
                try:
                    reader.recv(64)
                except BlockingIOError:
                    return
                received.append(time.monotonic())

        loop.add_reader(reader.fileno(), on_readable)
        service.start_watchdog()
        await asyncio.sleep(0.25)
        service._hang()  # what the SIGUSR2 handler does, called on the loop's thread
        await asyncio.sleep(0.25)
        loop.remove_reader(reader.fileno())
        reader.close()
        service.close()

    asyncio.run(scenario())
    gaps = [b - a for a, b in itertools.pairwise(received)]
    assert max(gaps) >= 0.45, gaps  # the loop did not ping while it was blocked
    assert sorted(gaps)[len(gaps) // 2] < 0.1, gaps  # and pinged every ~50 ms otherwise


def test_run_phone_sends_ready_under_systemd(path_socket: Listener, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real entry point: READY=1 after Phone.start(), STOPPING=1 at SIGTERM, pings meanwhile."""
    monkeypatch.setenv("NOTIFY_SOCKET", path_socket.name)
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(0.6, os.kill, os.getpid(), signal.SIGTERM)
        await run_phone(_doc(), terminal=False)

    asyncio.run(scenario())
    messages = path_socket.recv_until("STOPPING=1")
    assert any(m.startswith("READY=1") for m in messages)
    assert messages.count("WATCHDOG=1") >= 3
    assert messages.index("WATCHDOG=1") < next(i for i, m in enumerate(messages) if m.startswith("READY=1"))


def test_missing_pjsua2_keeps_the_phone_up(path_socket: Listener, monkeypatch: pytest.MonkeyPatch) -> None:
    """No SIP module: READY is still sent and the status says why (the aarch64 image without pjproject)."""
    import builtins

    real_import = builtins.__import__

    def no_engine(name: str, *args: object, **kwargs: object) -> object:
        if name == "firmware.sip.engine":
            raise ModuleNotFoundError("No module named 'pjsua2'", name="pjsua2")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_engine)
    monkeypatch.setenv("NOTIFY_SOCKET", path_socket.name)

    async def scenario() -> None:
        asyncio.get_running_loop().call_later(0.5, os.kill, os.getpid(), signal.SIGTERM)
        await run_phone(_doc(), terminal=False)

    asyncio.run(scenario())
    messages = path_socket.recv_until("STOPPING=1")
    assert any(m.startswith("READY=1") for m in messages)
    assert f"STATUS=SIP failed: {REASON}" in "\n".join(messages).split("\n")


def test_unavailable_engine_fails_calls_at_once() -> None:
    events: list[Event] = []
    engine = UnavailableEngine(events.append, "detail")
    engine.start()
    engine.make_call(7, "sip:1002@lab.test")
    assert [type(e).__name__ for e in events] == ["RegistrationChanged", "CallFailedToStart"]
    assert events[1] == type(events[1])(7, REASON)  # type: ignore[call-arg]


# ---------------------------------------------------------------------- journald


def _parse_journal(payload: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    while payload:
        line, sep, rest = payload.partition(b"\n")
        if b"=" in line:
            key, _, value = line.partition(b"=")
            fields[key.decode()] = value.decode()
            payload = rest
        else:  # binary-safe: NAME\n<le64><data>\n
            (size,) = struct.unpack("<Q", rest[:8])
            fields[line.decode()] = rest[8 : 8 + size].decode()
            payload = rest[8 + size + 1 :]
        assert sep
    return fields


def test_journal_handler_sends_structured_fields(path_socket: Listener) -> None:
    import logging

    logger = logging.getLogger("deskphone.test.journal")
    handler = JournalHandler(address=path_socket.name)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("registrar %s down", "x", extra={"DESKPHONE_SIP_STATE": "unreachable"})
        fields = _parse_journal(path_socket.sock.recv(65536))
        assert fields["MESSAGE"] == "deskphone.test.journal: registrar x down"
        assert fields["PRIORITY"] == "4"
        assert fields["SYSLOG_IDENTIFIER"] == "deskphone"
        assert fields["LOGGER"] == "deskphone.test.journal"
        assert fields["CODE_FUNC"] == "test_journal_handler_sends_structured_fields"
        assert fields["CODE_FILE"].endswith("test_service.py")
        assert fields["DESKPHONE_SIP_STATE"] == "unreachable"
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logger.exception("failed")
        fields = _parse_journal(path_socket.sock.recv(65536))
        assert fields["PRIORITY"] == "3"
        assert "Traceback" in fields["MESSAGE"] and "RuntimeError: boom" in fields["MESSAGE"]
    finally:
        logger.removeHandler(handler)
        handler.close()


def test_stderr_is_journal_only_for_the_matching_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not service_mod.stderr_is_journal({})
    assert not service_mod.stderr_is_journal({"JOURNAL_STREAM": "1:2"})
    with open(os.devnull, "w") as fh:
        st = os.fstat(fh.fileno())
        monkeypatch.setattr("sys.stderr", fh)
        assert service_mod.stderr_is_journal({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
