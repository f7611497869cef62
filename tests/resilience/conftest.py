"""Fixtures for the resilience and security suite (issue 7): the e2e Kamailio and phone factory,
the XMPP suite's Prosody, and phones with both SIP and XMPP accounts (RFC 7081 CUSAX).

The long variants are behind environment variables (a `--soak` option would need a top-level
conftest): DESKPHONE_SOAK_CALLS (default 50) for tests/resilience/test_soak.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware.chat_store import SUFFIX, decode
from firmware.lab.kamailio import Kamailio
from firmware.lab.phone import PhoneAgent, connect, phone_config
from firmware.lab.prosody import Prosody
from firmware.provisioning.store import StoredProfile
from tests.e2e.conftest import ACCOUNTS, kamailio, make_phone, registrar
from tests.xmpp.conftest import prosody, users

__all__ = ["ACCOUNTS", "kamailio", "make_phone", "prosody", "registrar", "users"]

ChatPhoneFactory = Callable[..., PhoneAgent]


def chat_config(
    registrar: Kamailio, server: Prosody, sip_user: str, jid_user: str, **sip: Any
) -> dict[str, Any]:
    """A phone config with SIP on `registrar` and XMPP on `server` (the lab CA of each)."""
    doc = phone_config(registrar, sip_user, ACCOUNTS[sip_user], **sip)
    doc["xmpp"] = {
        "jid": server.jid(jid_user),
        "password": server.passwords[jid_user],
        "host": server.host,
        "port": server.c2s_port,
        "ca_file": str(server.ca_cert),
        "login_timeout_s": 5.0,
    }
    return doc


@pytest.fixture
def chat_phone(registrar: Kamailio, prosody: Prosody, tmp_path: Path) -> Iterator[ChatPhoneFactory]:
    """chat_phone("1001", "alice7") -> a started agent, registered and online on XMPP."""
    phones: list[PhoneAgent] = []

    def make(sip_user: str, jid_user: str, wait: bool = True, **sip: Any) -> PhoneAgent:
        doc = chat_config(registrar, prosody, sip_user, jid_user, **sip)
        phone = PhoneAgent(tmp_path / f"phone-{sip_user}", sip_user, doc).start()
        phones.append(phone)
        if wait:
            phone.wait(registration="registered", timeout=8)
            phone.wait(timeout=10, **{"chat.state": "online"})
        return phone

    yield make
    for phone in phones:
        phone.stop()


def until(
    check: Callable[[], bool], timeout: float = 10.0, what: str = "condition", every: float = 0.05
) -> float:
    """Poll `check` until true; returns the seconds it took. Raises AssertionError on timeout."""
    t0 = time.monotonic()
    while not check():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(every)
    return time.monotonic() - t0


def packets_grow(phone: PhoneAgent, window: float = 0.5) -> tuple[dict[str, Any], dict[str, Any]]:
    """RTP rx and tx counters both rise over `window` seconds; returns the two samples."""
    until(lambda: _both_nonzero(phone.request("stats")), timeout=3, what="first RTP packets")
    first = phone.request("stats")
    time.sleep(window)
    second = phone.request("stats")
    assert second["rx_packets"] > first["rx_packets"] > 0, (first, second)
    assert second["tx_packets"] > first["tx_packets"] > 0, (first, second)
    return first, second


def _both_nonzero(stats: dict[str, Any] | None) -> bool:
    return stats is not None and stats["rx_packets"] > 0 and stats["tx_packets"] > 0


def still_calls(a: PhoneAgent, b: PhoneAgent, number: str) -> None:
    """The proof of life after every fault: A calls B, media flows, both hang up to idle."""
    if a.state()["phase"] != "idle":
        a.hang_up()
        a.wait(phase="idle", timeout=8)
    connect(a, b, number)
    packets_grow(a, 0.2)
    a.hang_up()
    b.wait(phase="ended")
    b.hang_up()
    a.wait(phase="idle")
    b.wait(phase="idle")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def check_state_dir(state: Path) -> dict[str, int]:
    """Every state file the phone keeps parses: chat history, vCard cache, provisioning records."""
    counts = {"chats": 0, "vcards": 0, "profile": 0}
    for path in sorted((state / "chat").glob(f"*{SUFFIX}")):
        decode(path.read_bytes())  # raises on a torn or corrupt file
        counts["chats"] += 1
    vcards = state / "xmpp" / "vcards.json"
    if vcards.exists():
        json.loads(vcards.read_bytes())
        counts["vcards"] = 1
    prov = state / "provisioning"
    if (prov / "profile.json").exists():
        StoredProfile.from_json((prov / "profile.json").read_bytes())
        counts["profile"] = 1
    for name in ("credentials.json", "status.json"):
        if (prov / name).exists():
            json.loads((prov / name).read_bytes())
    return counts
