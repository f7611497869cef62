"""A real Prosody (0.12, Debian `prosody`) XMPP server on free loopback ports, for tests and the demo.

    with Prosody(tmp_path / "xmpp") as server:
        server.add_user("alice", "secret")
        # clients connect to server.host:server.c2s_port (STARTTLS) or server.direct_tls_port,
        # trusting server.ca_cert, as alice@lab.test

Everything lives in ``workdir``: prosody.cfg.lua, data/ (Prosody's internal storage: accounts,
rosters, PEP), run/ (pid file), certs/ and prosody.log (console output of every run, appended).
The server runs in the foreground (`prosody -F`), as root when the tests run as root
(`run_as_root`). Modules: roster, saslauth, tls, disco, carbons, pep, vcard4 + vcard_legacy (not
with vcard), smacks, ping, and a MUC component `conference.<domain>`; HTTP and s2s are off.

Data helpers: ``add_user`` (prosodyctl), ``add_users`` (many accounts at once, written as
Prosody's SCRAM-SHA-1 account files), ``set_roster``/``make_contacts`` (roster files, for users
who are not logged in: a 5,000-contact roster is written in a fraction of a second), and
``subscribe``/``set_vcard`` through a real XMPP client logged in as the user (firmware.lab.xmpp_peer).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from firmware.errors import LabError
from firmware.lab.certs import TlsFiles, make_test_pki
from firmware.lab.ports import LOOPBACK, free_port
from firmware.lab.process import ManagedProcess, ProcessOwner

_SAFE_DOMAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")
_SAFE_USER = re.compile(r"[a-z0-9][a-z0-9._+-]*")
DEFAULT_MODULES = (
    "roster", "saslauth", "tls", "disco", "carbons", "pep", "vcard4", "vcard_legacy", "smacks", "ping",
)  # fmt: skip
PLUGIN_DIR = Path(__file__).resolve().parent / "prosody_modules"  # the lab's own Prosody modules
SCRAM_ITERATIONS = 4096  # what prosodyctl uses is 10000; 4096 is the RFC 5802 minimum and faster in bulk
RosterEntry = tuple[str, str, tuple[str, ...]]  # (name, subscription, groups)


def _lua_str(value: str) -> str:
    """A Lua string literal (the config and the storage files are Lua)."""
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return '"' + "".join(ch if ch.isprintable() else f"\\{ord(ch):03d}" for ch in out) + '"'


def _encode_host(host: str) -> str:
    """Prosody's storage directory names: '.' and other specials %-encoded (lab.test -> lab%2etest)."""
    return "".join(ch if ch.isascii() and ch.isalnum() else f"%{ord(ch):02x}" for ch in host)


class Prosody(ProcessOwner):
    """One Prosody instance. Ports are picked at the first start() and kept by restart()."""

    def __init__(
        self,
        workdir: Path,
        domain: str = "lab.test",
        *,
        tls_files: TlsFiles | None = None,
        tls: bool = True,
        modules: Iterable[str] = DEFAULT_MODULES,
        binary: str = "prosody",
        log_level: str = "info",
        start_timeout: float = 10.0,
        smacks_hibernation_s: int = 60,
        extra_config: str = "",
        muc_av_uris: Mapping[str, str] | None = None,
    ) -> None:
        """``tls=False`` serves no TLS at all (no certificates, ``tls`` module off, encryption not
        required): for testing that clients refuse such a server, or plaintext clients.
        ``modules``: the modules of the host (e.g. ("roster", "saslauth", "vcard") for a
        vcard-temp-only server without XEP-0292)."""
        if not _SAFE_DOMAIN.fullmatch(domain):
            raise LabError(f"lab domain must be a host name: {domain!r}")
        self.workdir = Path(workdir).resolve()
        self._domain = domain
        self._tls_files = tls_files
        self._tls = tls
        self._modules = tuple(m for m in modules if tls or m != "tls")
        self._binary = binary
        self._log_level = log_level
        self._start_timeout = start_timeout
        self._hibernation = smacks_hibernation_s
        self._extra = extra_config
        # RFC 7081 section 4: rooms whose disco#info names a SIP conference (mod_muc_av_uri.lua).
        self._av_uris = dict(muc_av_uris or {})
        self._ports: tuple[int, int] | None = None
        self._proc: ManagedProcess | None = None
        self.passwords: dict[str, str] = {}
        self.start_seconds: float | None = None
        """Wall time of the last successful start(): exec to "serves a stream"."""

    # ----------------------------------------------------------------- properties
    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def domain(self) -> str:
        return self._domain

    @property
    def tls(self) -> bool:
        """False: a server without TLS (see __init__)."""
        return self._tls

    @property
    def muc_domain(self) -> str:
        return f"conference.{self._domain}"

    def _port(self, index: int) -> int:
        if self._ports is None:
            raise LabError("Prosody ports are chosen by start(); call it first")
        return self._ports[index]

    @property
    def c2s_port(self) -> int:
        """Client port, STARTTLS (like 5222)."""
        return self._port(0)

    @property
    def direct_tls_port(self) -> int:
        """Client port, TLS from the first byte (XEP-0368, like 5223)."""
        return self._port(1)

    @property
    def tls_files(self) -> TlsFiles:
        if self._tls_files is None:
            self._tls_files = make_test_pki(
                self.workdir / "certs", extra_dns_names=(self._domain, self.muc_domain)
            )
        return self._tls_files

    @property
    def ca_cert(self) -> Path:
        return self.tls_files.ca_cert

    @property
    def log_path(self) -> Path:
        return self.workdir / "prosody.log"

    @property
    def config_path(self) -> Path:
        return self.workdir / "prosody.cfg.lua"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    def jid(self, user: str) -> str:
        return f"{user}@{self._domain}"

    # ----------------------------------------------------------------- config
    def _write_config(self) -> None:
        run = self.workdir / "run"
        run.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        lines = [
            "-- generated by firmware/lab/prosody.py: edits are lost at the next start",
            f"pidfile = {_lua_str(str(run / 'prosody.pid'))}",
            f"data_path = {_lua_str(str(self.data_dir))}",
            f"run_as_root = {'true' if os.geteuid() == 0 else 'false'}",
            f'log = {{ {{ levels = {{ min = "{self._log_level}" }}, to = "console" }} }}',
            f'interfaces = {{ "{LOOPBACK}" }}',
            f'local_interfaces = {{ "{LOOPBACK}" }}',
            f"c2s_ports = {{ {self.c2s_port} }}",
            f"c2s_direct_tls_ports = {{ {self.direct_tls_port} }}"
            if self._tls
            else "c2s_direct_tls_ports = { }",
            "legacy_ssl_ports = { }",
            "s2s_ports = { }",
            "component_ports = { }",
            "http_ports = { }",
            "https_ports = { }",
            f"admin_socket = {_lua_str(str(run / 'prosody.sock'))}",
            f"modules_enabled = {{ {', '.join(_lua_str(m) for m in self._modules)} }}",
            'modules_disabled = { "s2s", "http" }',
            'authentication = "internal_hashed"',
            'storage = "internal"',
            f"c2s_require_encryption = {'true' if self._tls else 'false'}",
            "allow_unencrypted_plain_auth = false",
            f"smacks_hibernation_time = {self._hibernation}",
            "muc_room_locking = false",
        ]
        if self._tls:
            tls = self.tls_files
            ssl_block = (
                f"{{ certificate = {_lua_str(str(tls.server_cert))}, key = {_lua_str(str(tls.server_key))} }}"
            )
            lines += [f"certificates = {_lua_str(str(tls.server_cert.parent))}", f"ssl = {ssl_block}"]
        if self._av_uris:
            lines.append(f"plugin_paths = {{ {_lua_str(str(PLUGIN_DIR))} }}")
        lines += [self._extra, f"VirtualHost {_lua_str(self._domain)}"]
        if self._tls:
            lines.append(f"  ssl = {ssl_block}")
        lines.append(f'Component {_lua_str(self.muc_domain)} "muc"')
        if self._av_uris:
            rooms = "; ".join(f"[{_lua_str(r)}] = {_lua_str(u)}" for r, u in self._av_uris.items())
            lines += ['  modules_enabled = { "muc_av_uri" }', f"  muc_av_uris = {{ {rooms} }}"]
        if self._tls:
            lines.append(f"  ssl = {ssl_block}")
        self.config_path.write_text("\n".join(lines) + "\n")

    # ----------------------------------------------------------------- accounts and rosters
    def _host_dir(self, store: str, host: str | None = None) -> Path:
        path = self.data_dir / _encode_host(host or self._domain) / store
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    @staticmethod
    def _check_user(user: str) -> None:
        if not _SAFE_USER.fullmatch(user):
            raise LabError(f"lab user names are lower-case [a-z0-9._+-]: {user!r}")

    def add_user(self, user: str, password: str) -> None:
        """Create or update an account with prosodyctl (works whether Prosody runs or not)."""
        self._check_user(user)
        if self._ports is None:
            self._ports = (free_port(), free_port())
        self._write_config()
        proc = subprocess.run(
            ["prosodyctl", "--config", str(self.config_path), "register", user, self._domain, password],
            capture_output=True, text=True, check=False, timeout=30,
        )  # fmt: skip
        if proc.returncode != 0:
            raise LabError(f"prosodyctl register {user} failed: {proc.stdout}{proc.stderr}")
        self.passwords[user] = password

    def add_users(self, users: Mapping[str, str]) -> None:
        """Many accounts at once: Prosody's internal_hashed account files (SCRAM-SHA-1), written
        directly. Use for users that are not logged in (Prosody caches nothing for them)."""
        accounts = self._host_dir("accounts")
        for user, password in users.items():
            self._check_user(user)
            salt = secrets.token_hex(12)
            salted = hashlib.pbkdf2_hmac("sha1", password.encode(), salt.encode(), SCRAM_ITERATIONS)
            client_key = hmac.new(salted, b"Client Key", "sha1").digest()
            stored_key = hashlib.sha1(client_key).hexdigest()  # noqa: S324 - SCRAM-SHA-1 is what it is
            server_key = hmac.new(salted, b"Server Key", "sha1").hexdigest()
            (accounts / f"{_encode_host(user)}.dat").write_text(
                "return {\n"
                f'\t["salt"] = {_lua_str(salt)};\n'
                f'\t["iteration_count"] = {SCRAM_ITERATIONS};\n'
                f'\t["stored_key"] = "{stored_key}";\n'
                f'\t["server_key"] = "{server_key}";\n'
                "};\n"
            )
            self.passwords[user] = password

    def set_roster(self, user: str, items: Mapping[str, RosterEntry]) -> None:
        """Replace ``user``'s roster: {bare JID: (name, subscription, groups)}. Written to the
        storage file, so ``user`` must not be logged in (Prosody keeps online users' rosters in
        memory). Subscriptions: none, to, from, both."""
        self._check_user(user)
        parts = ['return {\n\t[false] = {\n\t\t["version"] = 1;\n\t\t["pending"] = {};\n\t};\n']
        for jid, (name, subscription, groups) in items.items():
            if subscription not in ("none", "to", "from", "both"):
                raise LabError(f"bad subscription {subscription!r} for {jid}")
            group_set = "".join(f"[{_lua_str(g)}] = true; " for g in groups)
            name_field = f'["name"] = {_lua_str(name)}; ' if name else ""
            parts.append(
                f'\t[{_lua_str(jid)}] = {{ {name_field}["subscription"] = "{subscription}"; '
                f'["groups"] = {{ {group_set}}}; }};\n'
            )
        parts.append("};\n")
        (self._host_dir("roster") / f"{_encode_host(user)}.dat").write_text("".join(parts))

    def make_contacts(self, user: str, contacts: Mapping[str, str], *, both_ways: bool = True) -> None:
        """``user`` gets every local user in ``contacts`` ({user: roster name}) with subscription
        "both", and (both_ways) each of them gets ``user`` back: presence then flows both ways.
        Storage writes: nobody involved may be logged in. Replaces those users' rosters."""
        self.set_roster(user, {self.jid(c): (name, "both", ()) for c, name in contacts.items()})
        if both_ways:
            for contact in contacts:
                self.set_roster(contact, {self.jid(user): ("", "both", ())})

    def subscribe(self, user: str, contact: str, timeout: float = 10.0) -> None:
        """Make two users mutual contacts ("both") through the protocol, while Prosody runs:
        each asks, the other approves once the request has arrived (approving before the request
        arrives leaves the subscription at "to")."""
        from firmware.lab.xmpp_peer import run_sync, subscribe_pair

        run_sync(subscribe_pair(self, user, contact, timeout), timeout + 5)

    def set_vcard(
        self, user: str, *, vcard4: str | None = None, vcard_temp: str | None = None, timeout: float = 10.0
    ) -> None:
        """Publish ``user``'s vCard as XML text: vCard4 (XEP-0292, stored in the PEP node
        urn:xmpp:vcard4 by mod_vcard4) and/or vcard-temp (XEP-0054), logged in as ``user``."""
        from firmware.lab.xmpp_peer import publish_vcards, run_sync

        run_sync(publish_vcards(self, user, vcard4, vcard_temp, timeout), timeout + 5)

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> Self:
        """Write the config and start Prosody; return when it serves a stream. Raises LabError."""
        if self.running:
            return self
        if shutil.which(self._binary) is None:
            raise LabError(f"{self._binary} not found (Debian package 'prosody')")
        first = self._ports is None or self.start_seconds is None
        for attempt in range(3):
            if self._ports is None or (first and attempt > 0):
                self._ports = (free_port(), free_port())
            try:
                self._launch()
                return self
            except LabError as exc:
                # A port may be taken between our probe and Prosody's bind: new ports, but only
                # on a first start (restart() promises the same ports).
                if not (first and attempt < 2 and "port" in str(exc).lower()):
                    raise
        raise AssertionError("unreachable")

    def _launch(self) -> None:
        self._write_config()
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        argv = [self._binary, "-F", "--config", str(self.config_path)]
        proc = ManagedProcess("prosody", argv, self.log_path, cwd=self.workdir)
        t0 = time.monotonic()
        proc.start()
        self._proc = proc
        try:
            self._wait_ready(t0, offset)
        except LabError:
            proc.stop(timeout=2.0)
            raise
        self.start_seconds = time.monotonic() - t0

    def _fail(self, why: str) -> LabError:
        return LabError(f"prosody: {why} (log {self.log_path}):\n{self.log_tail()}")

    def _log_since(self, offset: int) -> str:
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(offset)
                return fh.read(256_000).decode("utf-8", "replace")
        except OSError:
            return ""

    def _wait_ready(self, t0: float, offset: int) -> None:
        deadline = t0 + self._start_timeout
        while True:
            assert self._proc is not None
            text = self._log_since(offset)
            if "Failed to open server port" in text or "Failed to open port" in text:
                raise self._fail("could not open a port")  # Prosody keeps running without it
            if (code := self._proc.returncode()) is not None:
                raise self._fail(f"exited with status {code} during start")
            if self._serves_stream():
                break
            if time.monotonic() > deadline:
                raise self._fail(f"no XMPP stream on {self.host}:{self.c2s_port}")
            time.sleep(0.02)
        if self._tls:
            self._check_direct_tls(deadline)

    def _serves_stream(self) -> bool:
        """THIS run's c2s port answers a stream header for our domain with stream features."""
        header = (
            f"<?xml version='1.0'?><stream:stream to='{self._domain}' version='1.0' "
            "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
        )
        try:
            with socket.create_connection((self.host, self.c2s_port), timeout=1.0) as sock:
                sock.sendall(header.encode())
                data = b""
                while b"stream:features" not in data and len(data) < 65536:
                    chunk = sock.recv(4096)
                    if not chunk:
                        return False
                    data += chunk
                return (b"starttls" in data) == self._tls
        except OSError:
            return False

    def _check_direct_tls(self, deadline: float) -> None:
        ours = ssl.PEM_cert_to_DER_cert(self.tls_files.server_cert.read_text())
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        while True:
            try:
                with (
                    socket.create_connection((self.host, self.direct_tls_port), timeout=1.0) as raw,
                    ctx.wrap_socket(raw, server_hostname=self._domain) as conn,
                ):
                    presented = conn.getpeercert(binary_form=True)
                if presented != ours:
                    raise self._fail(f"port {self.direct_tls_port} presents another certificate")
                return
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise self._fail(f"direct TLS on port {self.direct_tls_port} failed: {exc}") from exc
                time.sleep(0.02)

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate Prosody (SIGTERM: clients get a system-shutdown stream error; then SIGKILL)."""
        if self._proc is not None:
            self._proc.stop(timeout)

    def kill(self) -> None:
        """SIGKILL, to simulate a crash: clients see their TCP connections close. Ports are kept."""
        if self._proc is not None:
            self._proc.kill()

    def freeze(self) -> None:
        """SIGSTOP: the server hangs with its connections open (a dead link, as far as clients can
        tell: only a keepalive notices). thaw() lets it go on."""
        if self._proc is not None and self._proc.pid is not None:
            os.killpg(self._proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self._proc is not None and self._proc.pid is not None:
            os.killpg(self._proc.pid, signal.SIGCONT)

    def restart(self) -> Self:
        """Stop (if running) and start again on the same ports; accounts, rosters and PEP data are
        kept (they are files), sessions are not."""
        self.stop()
        return self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
