"""A whole phone (agent process: real pjsua2, sim board) with a chat account: SIP on Kamailio, XMPP on
Prosody, as RFC 7081 has it. The XMPP protocol itself is tested in tests/xmpp; this checks the
wiring: the app starts the XMPP engine once SIP registered (C11), and chat flows through it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from firmware.lab.kamailio import Kamailio
from firmware.lab.phone import PhoneAgent, phone_config
from firmware.lab.prosody import Prosody
from firmware.lab.xmpp_peer import XmppPeer
from tests.e2e.conftest import ACCOUNTS

pytestmark = pytest.mark.integration


def _wait_stats(phone: PhoneAgent, test: Any, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stats: dict[str, Any] | None = phone.request("xmpp_stats")
        if stats is not None and test(stats):
            return stats
        if time.monotonic() > deadline:
            raise AssertionError(f"xmpp_stats not as expected within {timeout} s: {stats}")
        time.sleep(0.05)


def test_phone_logs_in_to_xmpp_after_sip_and_chats(registrar: Kamailio, tmp_path: Path) -> None:
    with Prosody(tmp_path / "xmpp") as server:
        server.add_users({"alice": "pw-alice", "bob": "pw-bob"})
        server.make_contacts("alice", {"bob": "Bob"})
        server.set_vcard("bob", vcard4=(
            "<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Bob</text></fn>"
            "<tel><parameters><type><text>video</text></type></parameters><uri>sip:1002@lab.test</uri></tel>"
            "</vcard>"
        ))  # fmt: skip
        doc = phone_config(registrar, "1001", ACCOUNTS["1001"])
        doc["phone"]["state_dir"] = str(tmp_path / "state")
        doc["xmpp"] = {
            "jid": server.jid("alice"),
            "password": "pw-alice",
            "host": server.host,
            "port": server.c2s_port,
            "ca_file": str(server.ca_cert),
            "after_sip_registered": True,
        }
        with PhoneAgent(tmp_path / "phone", "1001", doc) as phone:
            phone.wait(registration="registered")
            stats = _wait_stats(phone, lambda s: s["state"] == "online" and s["roster_size"] == 1)
            print(
                f"phone: XMPP login {stats['login_s'] * 1000:.0f} ms,"
                f" roster {stats['roster_s'] * 1000:.1f} ms after it"
            )
            _wait_stats(phone, lambda s: s["cached_vcards"] == 1)

            async def chat() -> None:
                async with XmppPeer.for_user(server, "bob") as bob:
                    bob.send_chat(server.jid("alice"), "are you there?")
                    await asyncio.sleep(0.5)

            asyncio.run(chat())
            _wait_stats(phone, lambda s: s["messages_received"] == 1)
        assert (tmp_path / "state" / "xmpp" / "vcards.json").exists()
