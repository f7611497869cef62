"""The lab: real SIP servers and peers on free loopback ports, for integration tests and the demo.

    from firmware.lab import Lab

    with Lab(tmp_path) as lab:
        alice = lab.add_account("alice")                 # Account(user, password, aor, domain)
        bob = lab.baresip("bob", transport="tls")        # started, registration under way
        bob.wait_registered()
        # a pjsua2 phone registers to lab.kamailio.registrar_uri("tls") as alice.aor

Modules: kamailio (registrar/proxy), baresip (peer UA), certs (test PKI), ports, process.
Everything a run writes stays under the lab's workdir for post-mortem reading.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from firmware.errors import LabError
from firmware.lab.baresip import AnswerMode, Baresip, BaresipEvent, Transport
from firmware.lab.certs import TlsFiles, make_foreign_server_cert, make_test_pki
from firmware.lab.kamailio import Kamailio

__all__ = [
    "Account",
    "AnswerMode",
    "Baresip",
    "BaresipEvent",
    "Kamailio",
    "Lab",
    "LabError",
    "TlsFiles",
    "Transport",
    "make_foreign_server_cert",
    "make_test_pki",
]


@dataclass(frozen=True)
class Account:
    """A SIP account of the lab domain: register as ``aor`` with ``user``/``password``."""

    user: str
    password: str
    domain: str

    @property
    def aor(self) -> str:
        return f"sip:{self.user}@{self.domain}"


class Lab:
    """One Kamailio plus the baresip peers started through it; stop() stops them all."""

    def __init__(self, workdir: Path, domain: str = "lab.test", **kamailio_options: Any) -> None:
        """``kamailio_options`` go to :class:`Kamailio` (tls_files, debug, fr_timer_ms...)."""
        self.workdir = Path(workdir)
        self.kamailio = Kamailio(self.workdir / "kamailio", domain, **kamailio_options)
        self.peers: list[Baresip] = []
        self._accounts: dict[str, Account] = {}

    @property
    def domain(self) -> str:
        return self.kamailio.domain

    def start(self) -> Self:
        self.kamailio.start()
        return self

    def stop(self) -> None:
        """Stop every peer, then Kamailio. Logs and configs stay in workdir."""
        errors: list[str] = []
        for peer in reversed(self.peers):
            try:
                peer.stop()
            except LabError as exc:
                errors.append(str(exc))
        self.peers.clear()
        self.kamailio.stop()
        if errors:
            raise LabError("stopping lab peers failed:\n" + "\n".join(errors))

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def add_account(self, user: str, password: str | None = None) -> Account:
        """Create (or update) a subscriber; a random password is made when none is given."""
        account = Account(user, password if password is not None else secrets.token_urlsafe(12), self.domain)
        self.kamailio.add_account(account.user, account.password)
        self._accounts[user] = account
        return account

    def account(self, user: str) -> Account:
        """The account created for ``user`` (created with a random password if missing)."""
        return self._accounts.get(user) or self.add_account(user)

    def baresip(
        self,
        user: str,
        *,
        password: str | None = None,
        transport: Transport = "udp",
        answer: AnswerMode = "auto",
        start: bool = True,
        **options: Any,
    ) -> Baresip:
        """A baresip peer for ``user`` (account created if needed), started unless start=False.

        ``password`` overrides the account's (to test refusals); ``options`` go to :class:`Baresip`.
        Its workdir is ``<lab>/baresip-<user>[-n]``.
        """
        acc = self.account(user)
        name = f"baresip-{user}"
        n = sum(1 for p in self.peers if p.user == user)
        if n:
            name += f"-{n + 1}"
        peer = Baresip(
            self.workdir / name,
            user,
            acc.password if password is None else password,
            self.kamailio,
            transport=transport,
            answer=answer,
            **options,
        )
        self.peers.append(peer)
        if start:
            peer.start()
        return peer

    def reset(self) -> None:
        """Stop all peers and forget every registration (between phases of a long test)."""
        for peer in self.peers:
            peer.stop()
        self.peers.clear()
        self.kamailio.clear_registrations()
