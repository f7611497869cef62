"""A real baresip 1.0 user agent, driven over its ctrl_tcp JSON interface: the far end of lab calls.

    with Baresip(tmp_path / "bob", "bob", "pw", kam, transport="tcp") as bob:
        bob.wait_registered()
        bob.dial("alice")                              # -> sip:alice@<kam.domain>
        bob.wait_for_event("CALL_ESTABLISHED")
        bob.wait_rtp()                                 # RTP from the peer arrived
        bob.hangup()

How it works and what is verified:

* ``workdir/config`` is generated (``baresip -f workdir``), no accounts file entry: the account is
  created with the ``uanew`` command once the control connection is up, so the REGISTERING /
  REGISTER_OK / REGISTER_FAIL events are never missed (ctrl_tcp drops events while no client is
  connected, and registration starts within milliseconds of exec).
* The AOR is ``sip:user@domain``; every request goes to Kamailio through
  ``outbound="sip:127.0.0.1:PORT;transport=X"`` (lab.test does not resolve).
* Audio: no sound card, so the source is ``ausine`` (a 440 Hz tone; it only supports 48 kHz stereo,
  baresip resamples to the codec) and the player an unpaired ``aubridge`` device, i.e. a sink.
  Codecs G.722, PCMU, PCMA, in that order of preference.  ``record=True`` adds the ``sndfile``
  filter: each call leaves ``dump-*-encode.wav`` (sent) and ``dump-*-decode.wav`` (received) in
  ``workdir/recordings``.
* RTP: the CALL_RTPESTAB event means RTP from the peer actually arrived (wait_rtp()); baresip also
  emits CALL_RTCP events with rtcp_stats every few seconds and writes packet counts to its log at
  hang-up (call_summary()).
* Events are baresip's own names: REGISTERING, REGISTER_OK, REGISTER_FAIL (param "403 Forbidden"),
  CALL_INCOMING, CALL_RINGING, CALL_PROGRESS, CALL_ESTABLISHED, CALL_CLOSED (param = reason,
  e.g. "404 Not Found", "Connection reset by user"), CALL_RTPESTAB, CALL_RTCP,
  CALL_LOCAL_SDP/CALL_REMOTE_SDP.
* TLS works with the lab CA in ``sip_cafile``, but baresip 1.0 does NOT verify the server
  certificate (a server with a certificate from another CA is accepted): never use it to test
  certificate refusal.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from firmware.errors import LabError
from firmware.lab.kamailio import Kamailio
from firmware.lab.ports import LOOPBACK, free_port
from firmware.lab.process import ManagedProcess, ProcessOwner

Transport = Literal["udp", "tcp", "tls"]
AnswerMode = Literal["auto", "manual"]

_MODULE_DIRS = ("/usr/lib/baresip/modules", "/usr/local/lib/baresip/modules")
# ctrl_tcp copies "command params" into a 256-byte buffer: longer commands are cut silently.
_CTRL_MAX_COMMAND = 250
_TCP_QUICKACK = getattr(socket, "TCP_QUICKACK", 12)  # Linux only; 12 is its value there


@dataclass(frozen=True)
class BaresipEvent:
    """One ctrl_tcp event. ``type`` is e.g. "CALL_CLOSED"; ``param`` the SIP reason or detail."""

    type: str
    param: str = ""
    call_id: str = ""
    peer: str = ""
    direction: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    at: float = field(default_factory=time.monotonic, compare=False, repr=False)


class Baresip(ProcessOwner):
    """One baresip process with one account registered at a lab Kamailio."""

    def __init__(
        self,
        workdir: Path,
        user: str,
        password: str,
        registrar: Kamailio,
        *,
        transport: Transport = "udp",
        answer: AnswerMode = "auto",
        domain: str | None = None,
        record: bool = False,
        tone_hz: int = 440,
        regint: int = 600,
        binary: str = "baresip",
        start_timeout: float = 5.0,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.user = user
        self.password = password
        self.registrar = registrar
        self.transport: Transport = transport
        self.answer_mode: AnswerMode = answer
        self.domain = domain or registrar.domain
        self.record = record
        self._tone_hz = tone_hz
        self._regint = regint
        self._binary = binary
        self._start_timeout = start_timeout
        self._proc: ManagedProcess | None = None
        self._sock: socket.socket | None = None
        self._reader: threading.Thread | None = None
        self._cond = threading.Condition()
        self._events: list[BaresipEvent] = []
        self._consumed: set[int] = set()
        self._floor = 0
        self._responses: dict[str, dict[str, Any]] = {}
        self._token = 0
        self._ctrl_port = 0
        self.start_seconds: float | None = None
        """Wall time of the last start(): exec to "account created" (registration not awaited)."""

    # ----------------------------------------------------------------- properties
    @property
    def aor(self) -> str:
        return f"sip:{self.user}@{self.domain}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "baresip.log"

    @property
    def recordings_dir(self) -> Path:
        return self.workdir / "recordings"

    @property
    def events(self) -> list[BaresipEvent]:
        """Every event received since start() (a copy)."""
        with self._cond:
            return list(self._events)

    @property
    def call_state(self) -> str | None:
        """Type of the latest CALL_* state event (RTP/RTCP/SDP events aside), None before any call."""
        skip = ("CALL_RTPESTAB", "CALL_RTCP", "CALL_LOCAL_SDP", "CALL_REMOTE_SDP")
        with self._cond:
            for ev in reversed(self._events):
                if ev.type.startswith("CALL_") and ev.type not in skip:
                    return ev.type
        return None

    def uri(self, target: str) -> str:
        """``bob`` -> ``sip:bob@<domain>``; a full URI is returned unchanged."""
        return target if ":" in target else f"sip:{target}@{self.domain}"

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> Self:
        """Start baresip, connect to ctrl_tcp and create the account (REGISTER goes out now)."""
        if self.running:
            return self
        if shutil.which(self._binary) is None:
            raise LabError(f"{self._binary} not found (Debian package 'baresip')")
        t0 = time.monotonic()
        for attempt in range(3):
            self._ctrl_port = free_port()
            self._write_config()
            self._proc = ManagedProcess("baresip", [self._binary, "-f", str(self.workdir)], self.log_path)
            self._proc.start()
            try:
                self._connect(t0 + self._start_timeout)
                self.command("uanew", self._account_line())
                break
            except LabError:
                self._close_ctrl()
                self._proc.stop(timeout=1.0)
                # Another program may have taken the control port between our probe and
                # baresip's bind (then we may even have been talking to that program): retry.
                if attempt == 2 or "ctrl_tcp: failed to listen" not in self._proc.log_tail(200):
                    raise
        self.start_seconds = time.monotonic() - t0
        return self

    def _account_line(self) -> str:
        outbound = self.registrar.registrar_uri(self.transport)
        line = (
            f'<{self.aor}>;auth_pass={self.password};outbound="{outbound}";regint={self._regint}'
            f";answermode={self.answer_mode}"
        )
        if len(line) + len("uanew ") > _CTRL_MAX_COMMAND:
            raise LabError(f"account line too long for ctrl_tcp ({len(line)} chars): {line}")
        return line

    def _write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        mpath = next((d for d in _MODULE_DIRS if Path(d, "ctrl_tcp.so").exists()), _MODULE_DIRS[0])
        modules = ["g722.so", "g711.so", "ausine.so", "aubridge.so"]
        if self.record:
            modules.append("sndfile.so")
            self.recordings_dir.mkdir(exist_ok=True)
        lines = [
            "# Generated by firmware.lab.baresip: rewritten at each start.",
            "poll_method epoll",
            # 'lo' is not accepted as interface name; the address is.
            f"net_interface {LOOPBACK}",
            f"sip_listen {LOOPBACK}:0",
            f"sip_cafile {self.registrar.ca_cert}",
            "call_local_timeout 120",
            "call_max_calls 4",
            f"audio_source ausine,{self._tone_hz}",
            "audio_player aubridge,lab-sink",
            "audio_alert aubridge,lab-alert",
            "ausrc_srate 48000",
            "ausrc_channels 2",
            "audio_level no",
            "rtcp_mux no",
            "rtp_stats yes",
            "jitter_buffer_delay 1-5",
            # The menu module would print a status line every 100 ms into the log.
            "statmode_default off",
            "ringback_disabled yes",
            f"ctrl_tcp_listen {LOOPBACK}:{self._ctrl_port}",
            f"snd_path {self.recordings_dir}",
            f"module_path {mpath}",
            *(f"module {m}" for m in modules),
            # No stun/turn/ice: loopback only, and ICE gathering would delay every call.
            "module_app menu.so",
            "module_app ctrl_tcp.so",
        ]
        (self.workdir / "config").write_text("\n".join(lines) + "\n")
        (self.workdir / "accounts").write_text("# accounts are created with 'uanew' by firmware.lab\n")
        (self.workdir / "contacts").write_text("")

    def _connect(self, deadline: float) -> None:
        assert self._proc is not None
        while True:
            try:
                sock = socket.create_connection((LOOPBACK, self._ctrl_port), timeout=0.2)
                break
            except OSError:
                if (code := self._proc.returncode()) is not None:
                    raise self._fail(f"exited with status {code} during start") from None
                if time.monotonic() > deadline:
                    raise self._fail(f"ctrl_tcp port {self._ctrl_port} never opened") from None
                time.sleep(0.01)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._cond:
            self._events.clear()
            self._consumed.clear()
            self._floor = 0
            self._responses.clear()
        self._sock = sock
        self._reader = threading.Thread(
            target=self._read_loop, args=(sock,), daemon=True, name="baresip-ctrl"
        )
        self._reader.start()

    def _fail(self, why: str) -> LabError:
        return LabError(f"baresip {self.user}: {why} (log {self.log_path}):\n{self.log_tail()}")

    def stop(self, timeout: float = 3.0) -> None:
        """Quit baresip (it un-registers first), SIGKILL after ``timeout``. Keeps workdir and log."""
        if self._proc is None:
            return
        if self._proc.alive() and self._sock is not None:
            # It may close the connection before answering.
            with contextlib.suppress(LabError):
                self.command("quit", timeout=0.5)
            deadline = time.monotonic() + timeout
            while self._proc.alive() and time.monotonic() < deadline:
                time.sleep(0.02)
        self._proc.stop(timeout=1.0)
        self._close_ctrl()

    def kill(self) -> None:
        """SIGKILL: no un-REGISTER, no BYE; its contact stays in Kamailio's usrloc."""
        if self._proc is not None:
            self._proc.kill()
        self._close_ctrl()

    def _close_ctrl(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()
            self._sock = None
        if self._reader is not None:
            self._reader.join(timeout=1.0)
            self._reader = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------- ctrl_tcp
    def _read_loop(self, sock: socket.socket) -> None:
        buf = b""
        while True:
            try:
                chunk = sock.recv(65536)
                # baresip writes a response and the events it causes as separate small segments
                # without TCP_NODELAY: Nagle holds the second one until our ACK, and a delayed ACK
                # costs 40 ms per command. Quick-ACK mode resets after each recv, so renew it.
                sock.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._cond.notify_all()
                return
            buf += chunk
            # Netstrings: "<len>:<payload>,"
            try:
                while (colon := buf.find(b":")) > 0:
                    size = int(buf[:colon])
                    if len(buf) < colon + 1 + size + 1:
                        break
                    payload, buf = buf[colon + 1 : colon + 1 + size], buf[colon + 2 + size :]
                    self._dispatch(json.loads(payload))
            except ValueError:  # not baresip talking (json.JSONDecodeError is a ValueError too)
                with self._cond:
                    self._cond.notify_all()
                return

    def _dispatch(self, msg: dict[str, Any]) -> None:
        with self._cond:
            if msg.get("response"):
                self._responses[str(msg.get("token", ""))] = msg
            elif msg.get("event"):
                self._events.append(
                    BaresipEvent(
                        type=str(msg.get("type", "")),
                        param=str(msg.get("param", "")),
                        call_id=str(msg.get("id", "")),
                        peer=str(msg.get("peeruri", "")),
                        direction=str(msg.get("direction", "")),
                        raw=msg,
                    )
                )
            self._cond.notify_all()

    def command(self, name: str, params: str | None = None, timeout: float = 3.0) -> str:
        """Run a baresip long command (dial, accept, hangup, reginfo, callstat, listcalls...).

        Returns the text baresip printed; raises LabError if it reports failure or is silent.
        """
        sock = self._sock
        if sock is None:
            raise LabError(f"baresip {self.user} is not running")
        if len(name) + 1 + len(params or "") > _CTRL_MAX_COMMAND:
            raise LabError(f"baresip command too long for ctrl_tcp: {name} {params}")
        with self._cond:
            self._token += 1
            token = f"lab{self._token}"
        msg: dict[str, str] = {"command": name, "token": token}
        if params is not None:
            msg["params"] = params
        data = json.dumps(msg).encode()
        try:
            sock.sendall(b"%d:%s," % (len(data), data))
        except OSError as exc:
            raise self._fail(f"ctrl_tcp send failed: {exc}") from exc
        deadline = time.monotonic() + timeout
        with self._cond:
            while token not in self._responses:
                left = deadline - time.monotonic()
                if left <= 0 or (self._reader is not None and not self._reader.is_alive()):
                    raise self._fail(f"no answer to command {name!r}")
                self._cond.wait(left)
            reply = self._responses.pop(token)
        text = str(reply.get("data", ""))
        if not reply.get("ok", False):
            raise LabError(f"baresip {self.user}: {name} {params or ''} failed: {text.strip()}")
        return text

    # ----------------------------------------------------------------- events
    def wait_for_event(self, kind: str | Iterable[str], timeout: float = 5.0) -> BaresipEvent:
        """Return the oldest not-yet-consumed event whose type is ``kind`` (or one of them).

        Each event is returned by at most one wait; an event that arrived before the call is found
        too (e.g. CALL_RTPESTAB often precedes CALL_ESTABLISHED on the caller's side).  Order
        between different kinds is therefore not implied.  Raises LabError on timeout.
        """
        kinds = {kind} if isinstance(kind, str) else set(kind)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(self._floor, len(self._events)):
                    if i not in self._consumed and self._events[i].type in kinds:
                        self._consumed.add(i)
                        return self._events[i]
                left = deadline - time.monotonic()
                closed = self._reader is None or not self._reader.is_alive()
                if left <= 0 or closed:
                    why = "control connection closed (baresip gone?)" if closed else f"{timeout} s passed"
                    seen = [
                        e.type
                        for i, e in enumerate(self._events)
                        if i >= self._floor and i not in self._consumed
                    ]
                    raise self._fail(f"no {sorted(kinds)}: {why}; unconsumed events {seen}")
                self._cond.wait(min(left, 0.2))

    def skip_events(self) -> None:
        """Mark every event received so far as consumed (start a new test phase)."""
        with self._cond:
            self._floor = len(self._events)
            self._consumed.clear()

    def wait_registration(self, timeout: float = 5.0) -> BaresipEvent:
        """The next REGISTER_OK or REGISTER_FAIL event (param is the status line, e.g. "200 OK")."""
        return self.wait_for_event(("REGISTER_OK", "REGISTER_FAIL"), timeout)

    def wait_registered(self, timeout: float = 5.0) -> BaresipEvent:
        """Wait for REGISTER_OK; raises LabError with the reason on REGISTER_FAIL."""
        ev = self.wait_registration(timeout)
        if ev.type != "REGISTER_OK":
            raise self._fail(f"registration failed: {ev.param}")
        return ev

    def wait_rtp(self, timeout: float = 5.0) -> BaresipEvent:
        """Wait until RTP from the peer has arrived in the current call (CALL_RTPESTAB)."""
        return self.wait_for_event("CALL_RTPESTAB", timeout)

    # ----------------------------------------------------------------- calls
    def dial(self, target: str) -> None:
        """Call ``target`` (a user name of the lab domain or a full SIP URI). Returns at once."""
        self.command("dial", self.uri(target))

    def answer(self) -> None:
        """Accept the ringing incoming call (answer="manual")."""
        self.command("accept")

    def hangup(self) -> None:
        """Hang up the current call (or reject the ringing one)."""
        self.command("hangup")

    def call_summary(self) -> dict[str, int]:
        """Packet counts baresip logged at the end of the last call (rtp_stats), e.g.
        ``{"tx_packets": 71, "rx_packets": 71, "tx_errors": 0, "rx_errors": 0}``; {} if none yet."""
        text = self.log_tail(400)
        found: dict[str, int] = {}
        for key in ("packets", "errors"):
            # Lines like "packets:             71           71" (Transmit, Receive columns).
            matches = re.findall(rf"^{key}:\s+(\d+)\s+(\d+)", text, flags=re.MULTILINE)
            if matches:
                tx, rx = matches[-1]
                found[f"tx_{key}"], found[f"rx_{key}"] = int(tx), int(rx)
        return found
