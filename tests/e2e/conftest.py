"""Fixtures for end-to-end tests: a real Kamailio on loopback and real phones (pjsua2 in agent processes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware.lab.kamailio import Kamailio
from firmware.lab.phone import PhoneAgent, phone_config

ACCOUNTS = {f"10{n:02d}": f"secret-{n:02d}-pw" for n in range(1, 10)}


@pytest.fixture(scope="session")
def kamailio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kamailio]:
    k = Kamailio(tmp_path_factory.mktemp("kamailio"))
    for user, password in ACCOUNTS.items():
        k.add_account(user, password)
    k.start()
    yield k
    k.stop()


@pytest.fixture
def registrar(kamailio: Kamailio) -> Iterator[Kamailio]:
    """The shared Kamailio, running and with no bindings left from an earlier test."""
    if not kamailio.running:
        kamailio.start()
    kamailio.clear_registrations()
    yield kamailio
    if not kamailio.running:
        kamailio.start()
    kamailio.clear_registrations()


PhoneFactory = Callable[..., PhoneAgent]


@pytest.fixture
def make_phone(registrar: Kamailio, tmp_path: Path) -> Iterator[PhoneFactory]:
    phones: list[PhoneAgent] = []

    def make(
        user: str, transport: str = "udp", password: str | None = None, wait: bool = True, **sip: Any
    ) -> PhoneAgent:
        config = phone_config(
            registrar, user, ACCOUNTS[user] if password is None else password, transport, **sip
        )
        phone = PhoneAgent(tmp_path / f"phone-{user}", user, config).start()
        phones.append(phone)
        if wait:
            phone.wait(registration="registered")
        return phone

    yield make
    for phone in phones:
        phone.stop()
