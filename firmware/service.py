"""Running under systemd: readiness, status, the watchdog and journald, in pure Python.

    service = Service.from_environment()        # a no-op outside systemd (no NOTIFY_SOCKET)
    service.start_watchdog()                    # WATCHDOG=1 from a task on the phone's own loop
    await phone.start()
    service.ready(phone)                        # READY=1 + STATUS= lines that follow registration
    ...
    service.stopping()                          # STOPPING=1
    await phone.stop()
    service.close()

The sd_notify protocol is one datagram of newline-separated ``KEY=value`` lines sent to the
AF_UNIX datagram socket named by ``$NOTIFY_SOCKET`` (a leading ``@`` names an abstract socket).
The watchdog pings come from a task on the asyncio loop that runs the phone, at half of
``$WATCHDOG_USEC``: when the loop hangs, the pings stop and systemd kills and restarts the unit.

Test/diagnostic hook: SIGUSR2 makes the loop thread sleep (blocking the loop, as a hung callback
would) for ``HANG_S`` seconds, so a person or a test can check that the watchdog restarts the
phone: ``systemctl kill -s USR2 deskphone``. Only root and the phone's own user can send it.

``JournalHandler`` writes log records to journald's native socket with structured fields
(PRIORITY, CODE_FILE/LINE/FUNC, LOGGER, THREAD_NAME, and DESKPHONE_* extras), so
``journalctl -u deskphone -o verbose`` shows where each line came from.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import struct
import sys
import time
from collections.abc import Mapping

from firmware.app import Phone
from firmware.events import RegState

log = logging.getLogger(__name__)

HANG_S = 3600.0
JOURNAL_SOCKET = "/run/systemd/journal/socket"
_SYSLOG_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


def _socket_address(name: str) -> str | bytes:
    """``@name`` is an abstract socket (leading NUL); anything else a path."""
    if name.startswith("@"):
        return b"\0" + name[1:].encode()
    return name


class Notifier:
    """Client side of sd_notify. Silent (and cheap) when there is no notification socket."""

    def __init__(self, address: str | None) -> None:
        self.address = address or None
        self._sock: socket.socket | None = None
        if self.address is not None:
            if not (self.address.startswith(("/", "@"))):
                raise ValueError(f"NOTIFY_SOCKET must be a path or @abstract name: {self.address!r}")
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.sent: list[str] = []  # what was sent (diagnostics and tests)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Notifier:
        return cls(environ.get("NOTIFY_SOCKET"))

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def notify(self, *lines: str) -> bool:
        """Send one datagram with these ``KEY=value`` lines; False when disabled or the send failed."""
        if self._sock is None or self.address is None:
            return False
        if any("\n" in line for line in lines):
            raise ValueError("sd_notify lines must not contain newlines")
        message = "\n".join(lines)
        try:
            self._sock.sendto(message.encode(), _socket_address(self.address))
        except OSError as err:
            log.warning("sd_notify %r failed: %s", message, err)
            return False
        self.sent.append(message)
        return True

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def watchdog_ping_interval(environ: Mapping[str, str] = os.environ, pid: int | None = None) -> float | None:
    """Seconds between WATCHDOG=1 pings: half of ``$WATCHDOG_USEC``; None when no watchdog is asked
    for this process (unset, zero, or ``$WATCHDOG_PID`` naming another process)."""
    usec = environ.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    owner = environ.get("WATCHDOG_PID", "")
    if owner and owner != str(os.getpid() if pid is None else pid):
        return None
    return int(usec) / 1_000_000 / 2


def status_line(phone: Phone) -> str:
    """One line for ``systemctl status``: the SIP registration as a person would say it."""
    reg = phone.state.registration
    sip = phone.config.sip
    account = f"{sip.user}@{sip.domain}" if sip is not None else "no SIP account"
    if reg.state is RegState.REGISTERED:
        return f"SIP registered as {account}"
    if reg.state is RegState.UNCONFIGURED:  # no registration event handled yet
        return f"SIP starting ({account})"
    if reg.state is RegState.REGISTERING:
        return f"SIP registering {account}"
    detail = f"{reg.code} {reg.reason}".strip() if reg.code else reg.reason
    return f"SIP {reg.state.value}: {detail}" if detail else f"SIP {reg.state.value}"


class Service:
    """The phone's side of its systemd unit (see the module docstring)."""

    def __init__(self, notifier: Notifier, watchdog_interval: float | None, hang_s: float = HANG_S) -> None:
        self.notifier = notifier
        self.watchdog_interval = watchdog_interval
        self.hang_s = hang_s
        self.pings = 0
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._phone: Phone | None = None
        self._status = ""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Service:
        return cls(Notifier.from_environment(environ), watchdog_ping_interval(environ))

    # ------------------------------------------------------------------ lifecycle

    def start_watchdog(self) -> None:
        """Ping from a task on the running loop (call from it) and install the SIGUSR2 hang hook."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        if self.watchdog_interval is None or not self.notifier.enabled or self._task is not None:
            return  # no watchdog: no hang hook either (nothing would end the hang)
        loop.add_signal_handler(signal.SIGUSR2, self._hang)
        self.notifier.notify("WATCHDOG=1")  # the first at once: start-up may take a while
        self._task = loop.create_task(self._feed(self.watchdog_interval), name="sd-watchdog")
        log.info("systemd watchdog: pinging every %.1f s", self.watchdog_interval)

    def ready(self, phone: Phone) -> None:
        """The phone is up (engine started, board started, first frame drawn): READY=1 and STATUS."""
        self._phone = phone
        self._status = status_line(phone)
        self.notifier.notify("READY=1", f"STATUS={self._status}")
        phone.on_frame.append(self._update_status)  # registration changes redraw the status dot

    def stopping(self) -> None:
        self.notifier.notify("STOPPING=1", "STATUS=stopping")

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._loop is not None and self.watchdog_interval is not None and self.notifier.enabled:
            with contextlib.suppress(ValueError, RuntimeError):
                self._loop.remove_signal_handler(signal.SIGUSR2)
        if self._phone is not None and self._update_status in self._phone.on_frame:
            self._phone.on_frame.remove(self._update_status)
        self.notifier.close()

    # ------------------------------------------------------------------ internals

    async def _feed(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.notifier.notify("WATCHDOG=1")
            self.pings += 1

    def _update_status(self) -> None:
        if self._phone is None:
            return
        status = status_line(self._phone)
        if status != self._status:
            self._status = status
            self.notifier.notify(f"STATUS={status}")
            log.info("%s", status, extra={"DESKPHONE_SIP_STATE": self._phone.state.registration.state.value})

    def _hang(self) -> None:
        log.warning("SIGUSR2: blocking the event loop for %.0f s (watchdog test hook)", self.hang_s)
        time.sleep(self.hang_s)  # deliberately blocks the loop thread: the watchdog pings stop


# ---------------------------------------------------------------------- journald


def _journal_field(name: str, value: str) -> bytes:
    data = value.encode("utf-8", "replace")
    if b"\n" in data:  # binary-safe form: NAME\n<le64 length><data>\n
        return name.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
    return name.encode() + b"=" + data + b"\n"


def _field_name(key: str) -> str | None:
    """journald field names: upper case letters, digits and underscores, not starting with '_'."""
    name = key.upper()
    if not name or name[0] == "_" or not all(c.isalnum() or c == "_" for c in name) or not name.isascii():
        return None
    return name


class JournalHandler(logging.Handler):
    """logging -> journald's native protocol, with fields. Extra record attributes whose names start
    with ``DESKPHONE_`` become fields too (``log.info(..., extra={"DESKPHONE_SIP_STATE": "x"})``)."""

    def __init__(self, identifier: str = "deskphone", address: str = JOURNAL_SOCKET) -> None:
        super().__init__()
        self.identifier = identifier
        self.address = address
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))  # plus the traceback, if any

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            fields = {
                "MESSAGE": message,
                "PRIORITY": str(_SYSLOG_PRIORITY.get(record.levelno, 6 if record.levelno < 30 else 3)),
                "SYSLOG_IDENTIFIER": self.identifier,
                "LOGGER": record.name,
                "CODE_FILE": record.pathname,
                "CODE_LINE": str(record.lineno),
                "CODE_FUNC": record.funcName,
                "THREAD_NAME": record.threadName or "",
            }
            for key, value in record.__dict__.items():
                if key.startswith("DESKPHONE_") and (name := _field_name(key)):
                    fields[name] = str(value)
            payload = b"".join(_journal_field(k, v) for k, v in fields.items())
            self._sock.sendto(payload, self.address)
        except OSError:
            # Too large for one datagram (journald wants a memfd then) or journald away: stderr keeps it.
            sys.stderr.write(f"{record.levelname} {record.name}: {record.getMessage()}\n")
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        self._sock.close()
        super().close()


def stderr_is_journal(environ: Mapping[str, str] = os.environ) -> bool:
    """True when systemd connected stderr to journald (``$JOURNAL_STREAM`` names its device:inode)."""
    stream = environ.get("JOURNAL_STREAM", "")
    if ":" not in stream:
        return False
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return stream == f"{st.st_dev}:{st.st_ino}"
