"""A real Kamailio 5.6 registrar + stateful proxy on free loopback ports, for tests and the demo.

    with Kamailio(tmp_path / "kam") as kam:
        kam.add_account("alice", "secret")
        # phones register to kam.registrar_uri("tls") with AOR kam.aor("alice")

Verified by start(): THIS run answers a SIP OPTIONS over UDP (the reply carries a per-run token,
so another Kamailio sharing the port cannot fake it) and its TLS port presents the configured
server certificate.  Everything lives in ``workdir``: kamailio.cfg,
tls.cfg, db/ (db_text tables), run/ (pid file), certs/ and kamailio.log (stderr of every run,
appended, so a failed test can be read afterwards; nothing is deleted by stop()).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import shutil
import socket
import ssl
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from firmware.errors import LabError
from firmware.lab import kamailio_cfg
from firmware.lab.certs import TlsFiles, make_test_pki
from firmware.lab.ports import LOOPBACK, free_port, free_udp_tcp_port
from firmware.lab.process import ManagedProcess, ProcessOwner

_MODULE_DIRS = (
    "/usr/lib/x86_64-linux-gnu/kamailio/modules",
    "/usr/lib/aarch64-linux-gnu/kamailio/modules",
    "/usr/lib/arm-linux-gnueabihf/kamailio/modules",
    "/usr/lib/kamailio/modules",
    "/usr/local/lib64/kamailio/modules",
    "/usr/local/lib/kamailio/modules",
)
_SAFE_DOMAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
_SAFE_USER = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+")


def _dbtext_escape(value: str) -> str:
    # db_text rows are ':'-separated; backslash escapes the separator and itself.
    return value.replace("\\", "\\\\").replace(":", "\\:").replace("\n", "\\n").replace("\r", "\\r")


DB_SETTLE_S = 0.05  # longer than db_text takes to load the lab's small subscriber table


class Kamailio(ProcessOwner):
    """One Kamailio instance. Ports are picked at the first start() and kept by restart()."""

    def __init__(
        self,
        workdir: Path,
        domain: str = "lab.test",
        *,
        tls_files: TlsFiles | None = None,
        binary: str = "kamailio",
        debug: int = 2,
        start_timeout: float = 5.0,
        fr_timer_ms: int = 5000,
        fr_inv_timer_ms: int = 60000,
        shm_mb: int = 64,
    ) -> None:
        """``tls_files``: server certificate to present (default: a lab CA + server cert made in
        ``workdir/certs`` for 127.0.0.1, localhost and ``domain``); pass
        ``make_foreign_server_cert()`` output to test that clients refuse a wrong certificate.
        ``debug``: Kamailio log level (2 = info, shows one line per routed request; 3 = debug).
        """
        if not domain or not set(domain) <= _SAFE_DOMAIN:
            raise LabError(f"lab domain must be a host name: {domain!r}")  # it goes into the config
        self.workdir = Path(workdir).resolve()
        self._domain = domain
        self._tls_files = tls_files
        self._binary = binary
        self._debug = debug
        self._start_timeout = start_timeout
        self._fr_timer_ms = fr_timer_ms
        self._fr_inv_timer_ms = fr_inv_timer_ms
        self._shm_mb = shm_mb
        self._accounts: dict[str, str] = {}
        self._ports: tuple[int, int, int] | None = None
        self._proc: ManagedProcess | None = None
        self._db_mtime = 0
        self._instance = ""
        self.start_seconds: float | None = None
        """Wall time of the last successful start(), exec to "answers OPTIONS" included."""

    # ----------------------------------------------------------------- properties
    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def domain(self) -> str:
        return self._domain

    def _port(self, index: int) -> int:
        if self._ports is None:
            raise LabError("Kamailio ports are chosen by start(); call it first")
        return self._ports[index]

    @property
    def udp_port(self) -> int:
        return self._port(0)

    @property
    def tcp_port(self) -> int:
        """Same number as udp_port (like 5060 for both)."""
        return self._port(1)

    @property
    def tls_port(self) -> int:
        return self._port(2)

    def port(self, transport: str = "udp") -> int:
        """Port of the listener for ``transport`` ("udp", "tcp" or "tls")."""
        try:
            return self._port(("udp", "tcp", "tls").index(transport.lower()))
        except ValueError:
            raise LabError(f"unknown transport {transport!r}") from None

    @property
    def tls_files(self) -> TlsFiles:
        if self._tls_files is None:
            self._tls_files = make_test_pki(self.workdir / "certs", extra_dns_names=(self._domain,))
        return self._tls_files

    @property
    def ca_cert(self) -> Path:
        """CA that signed the server certificate: what TLS clients must trust."""
        return self.tls_files.ca_cert

    @property
    def log_path(self) -> Path:
        return self.workdir / "kamailio.log"

    @property
    def config_path(self) -> Path:
        return self.workdir / "kamailio.cfg"

    @property
    def accounts(self) -> dict[str, str]:
        """user -> password (a copy)."""
        return dict(self._accounts)

    def registrar_uri(self, transport: str = "udp") -> str:
        """``sip:127.0.0.1:PORT;transport=X``: registrar / outbound proxy URI for clients."""
        suffix = "" if transport == "udp" else f";transport={transport}"
        return f"sip:{self.host}:{self.port(transport)}{suffix}"

    def aor(self, user: str) -> str:
        return f"sip:{user}@{self._domain}"

    # ----------------------------------------------------------------- accounts
    def add_account(self, user: str, password: str) -> None:
        """Create or update a subscriber. Takes effect at once, also while running."""
        if not user or not set(user) <= _SAFE_USER:
            raise LabError(f"lab user names are [A-Za-z0-9._-+]: {user!r}")
        self._accounts[user] = password
        if self._ports is not None:
            self._write_db()

    def remove_account(self, user: str) -> None:
        """Delete a subscriber (its registrations stay until they expire or clear_registrations())."""
        self._accounts.pop(user, None)
        if self._ports is not None:
            self._write_db()

    def _write_db(self) -> None:
        db = self.workdir / "db"
        db.mkdir(parents=True, exist_ok=True)
        (db / "version").write_text(kamailio_cfg.VERSION_TABLE)
        rows = "".join(
            f"{i}:{user}:{self._domain}:{_dbtext_escape(pw)}::\n"
            for i, (user, pw) in enumerate(sorted(self._accounts.items()), start=1)
        )
        tmp = db / ".subscriber.tmp"
        tmp.write_text(kamailio_cfg.SUBSCRIBER_HEADER + rows)
        # db_text notices changes by mtime with one-second resolution: two writes within a second
        # would look unchanged, so every write gets a strictly larger mtime.
        self._db_mtime = max(int(time.time()), self._db_mtime + 1)
        os.utime(tmp, (self._db_mtime, self._db_mtime))
        tmp.replace(db / "subscriber")
        if self.running:
            # db_text reads a table, then stats it for the mtime it caches: a reload that read the
            # old file just before the rename caches the old rows under the new mtime and never
            # reloads (a REGISTER then got 403 for the new account, ~1 run in 12). A second, later
            # mtime after any such reload has finished makes the next query read the file again.
            time.sleep(DB_SETTLE_S)
            self._db_mtime += 1
            os.utime(db / "subscriber", (self._db_mtime, self._db_mtime))

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> Self:
        """Write the config and start Kamailio; return when it answers. Raises LabError."""
        if self.running:
            return self
        if shutil.which(self._binary) is None:
            raise LabError(f"{self._binary} not found (Debian package 'kamailio')")
        first = self._ports is None
        for attempt in range(3):
            if first:
                port = free_udp_tcp_port()
                self._ports = (port, port, free_port())
            try:
                self._launch()
                return self
            except LabError as exc:
                # Another program may grab a port between our probe and Kamailio's bind: retry
                # with new ports, but only on a first start (restart() promises the same ports).
                if not (first and attempt < 2 and "bind" in str(exc).lower()):
                    raise
        raise AssertionError("unreachable")

    def _launch(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        run = self.workdir / "run"
        run.mkdir(exist_ok=True)
        self._instance = secrets.token_hex(6)
        self._write_config()
        self._write_db()
        argv = [
            self._binary, "-f", str(self.config_path), "-DD", "-E",
            "-P", str(run / "kamailio.pid"), "-Y", str(run), "-m", str(self._shm_mb), "-M", "8",
        ]  # fmt: skip
        proc = ManagedProcess("kamailio", argv, self.log_path, cwd=self.workdir)
        t0 = time.monotonic()
        proc.start()
        self._proc = proc
        try:
            self._wait_ready(t0)
        except LabError:
            proc.stop(timeout=2.0)
            raise
        self.start_seconds = time.monotonic() - t0

    def _write_config(self) -> None:
        tls = self.tls_files
        tls_cfg = self.workdir / "tls.cfg"
        tls_cfg.write_text(
            kamailio_cfg.render(
                kamailio_cfg.TLS_TEMPLATE, {"KEY": str(tls.server_key), "CERT": str(tls.server_cert)}
            )
        )
        mpath = next((d for d in _MODULE_DIRS if Path(d, "tm.so").exists()), None)
        # The domain is "myself" on any port (clients use AOR user@domain). 127.0.0.1 is local
        # only with our listening ports: an alias "127.0.0.1" (any port) would make every UA
        # contact on loopback "myself", so loose_route takes in-dialog requests for strict-routed
        # ones and sends the ACK/BYE back to Kamailio instead of to the phone.
        aliases = f'alias="{self._domain}"'
        values = {
            "DEBUG": str(self._debug),
            "HOST": LOOPBACK,
            "UDP_PORT": str(self.udp_port),
            "TCP_PORT": str(self.tcp_port),
            "TLS_PORT": str(self.tls_port),
            "ALIASES": aliases,
            "MPATH": f'mpath="{mpath}/"' if mpath else "# mpath: compiled-in default",
            "TLS_CFG": str(tls_cfg),
            "FR_TIMER": str(self._fr_timer_ms),
            "FR_INV_TIMER": str(self._fr_inv_timer_ms),
            "DB_DIR": str(self.workdir / "db"),
            "REALM": self._domain,
            "INSTANCE": self._instance,
        }
        self.config_path.write_text(kamailio_cfg.render(kamailio_cfg.TEMPLATE, values))

    def _fail(self, why: str) -> LabError:
        return LabError(f"kamailio: {why} (log {self.log_path}):\n{self.log_tail()}")

    def _wait_ready(self, t0: float) -> None:
        deadline = t0 + self._start_timeout
        while not self.ping(timeout=0.05):
            assert self._proc is not None
            code = self._proc.returncode()
            if code is not None:
                raise self._fail(f"exited with status {code} during start")
            if time.monotonic() > deadline:
                raise self._fail(f"no answer to OPTIONS on udp:{self.host}:{self.udp_port}")
        # UDP answers once the workers run; also prove that the TLS listener presents OUR
        # certificate (compared byte for byte: it may deliberately come from a foreign CA).
        ours = ssl.PEM_cert_to_DER_cert(self.tls_files.server_cert.read_text())
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        while True:
            try:
                with (
                    socket.create_connection((self.host, self.tls_port), timeout=1.0) as raw,
                    ctx.wrap_socket(raw) as tls,
                ):
                    presented = tls.getpeercert(binary_form=True)
                if presented != ours:
                    raise self._fail(f"port {self.tls_port} presents another certificate")
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise self._fail(f"TLS handshake on port {self.tls_port} failed: {exc}") from exc
                time.sleep(0.02)
        assert self._proc is not None
        if (code := self._proc.returncode()) is not None:
            raise self._fail(f"exited with status {code} during start")

    def ping(self, timeout: float = 1.0) -> bool:
        """Send one SIP OPTIONS over UDP; True if THIS run answers within ``timeout``."""
        if self._ports is None:
            return False
        branch = "z9hG4bK" + secrets.token_hex(8)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((LOOPBACK, 0))
            sock.settimeout(timeout)
            my_port = sock.getsockname()[1]
            msg = (
                f"OPTIONS sip:{self.host}:{self.udp_port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {LOOPBACK}:{my_port};branch={branch};rport\r\n"
                "Max-Forwards: 70\r\n"
                f"From: <sip:lab-probe@{LOOPBACK}>;tag={secrets.token_hex(4)}\r\n"
                f"To: <sip:{self.host}:{self.udp_port}>\r\n"
                f"Call-ID: {secrets.token_hex(8)}@lab\r\n"
                "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
            )
            try:
                sock.sendto(msg.encode(), (self.host, self.udp_port))
                data = sock.recv(65535)
            except OSError:  # timeout, or ICMP port unreachable reported as ConnectionRefused
                return False
        status = f"SIP/2.0 200 Lab {self._instance}\r\n".encode()
        return bool(self._instance) and data.startswith(status) and branch.encode() in data

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate Kamailio (SIGTERM, then SIGKILL). Keeps workdir and the log."""
        if self._proc is not None:
            self._proc.stop(timeout)

    def kill(self) -> None:
        """SIGKILL the whole process group, to simulate a crash. Ports are kept for restart()."""
        if self._proc is not None:
            self._proc.kill()

    def restart(self) -> Self:
        """Stop (if running) and start again on the same ports. Registrations are lost (usrloc
        lives in memory), accounts are kept."""
        self.stop()
        return self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------- RPC / usrloc
    def rpc(self, method: str, *params: str | int, timeout: float = 3.0) -> Any:
        """Call a Kamailio RPC command (e.g. "ul.dump") via JSON-RPC over HTTP on the TCP port."""
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params), "id": 1})
        conn = http.client.HTTPConnection(self.host, self.tcp_port, timeout=timeout)
        try:
            conn.request("POST", "/RPC", body, {"Content-Type": "application/json"})
            raw = conn.getresponse().read()
        except OSError as exc:
            raise self._fail(f"RPC {method} failed: {exc}") from exc
        finally:
            conn.close()
        reply = json.loads(raw)
        if "error" in reply:
            raise LabError(f"kamailio RPC {method}: {reply['error']}")
        return reply.get("result")

    def registrations(self) -> dict[str, list[str]]:
        """AOR user -> contact URIs currently in usrloc."""
        result = self.rpc("ul.dump")
        out: dict[str, list[str]] = {}
        for dom in result.get("Domains", []):
            for aor in dom.get("Domain", {}).get("AoRs", []) or []:
                info = aor.get("Info", {})
                contacts = [c["Contact"]["Address"] for c in info.get("Contacts", []) or []]
                out[str(info.get("AoR"))] = contacts
        return out

    def contacts(self, user: str) -> list[str]:
        """Contact URIs registered for ``user`` (empty when not registered)."""
        return self.registrations().get(user, [])

    def wait_registered(self, user: str, timeout: float = 5.0, count: int = 1) -> list[str]:
        """Wait until ``user`` has at least ``count`` contacts in usrloc; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.contacts(user)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise LabError(f"{user} has {len(found)} contacts after {timeout} s, wanted {count}")
            time.sleep(0.05)

    def clear_registrations(self, user: str | None = None) -> None:
        """Forget the contacts of ``user`` (default: of everybody).

        Agents killed by a test leave contacts behind, and later INVITEs fork to them too.
        """
        users = [user] if user is not None else list(self.registrations())
        for name in users:
            with contextlib.suppress(LabError):  # "AOR not found" is fine
                self.rpc("ul.rm", "location", name)
