"""The lab's Prosody itself: free ports kept across restarts, its own certificate on both ports,
accounts through prosodyctl and in bulk, subscriptions made through the protocol."""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path

import pytest
from slixmpp.jid import JID

from firmware.errors import LabError
from firmware.lab.prosody import Prosody
from firmware.lab.xmpp_peer import XmppPeer

pytestmark = pytest.mark.integration


def test_prosody_lifecycle_accounts_and_subscriptions(tmp_path: Path) -> None:
    server = Prosody(tmp_path / "xmpp")
    server.add_user("alice", "pw-alice")  # prosodyctl, before the first start
    with server:
        assert server.running and server.start_seconds is not None and server.start_seconds < 5
        ports = (server.c2s_port, server.direct_tls_port)
        assert 5222 not in ports and 5223 not in ports
        ctx = ssl.create_default_context(cafile=str(server.ca_cert))
        with (
            socket.create_connection((server.host, server.direct_tls_port), timeout=2) as raw,
            ctx.wrap_socket(raw, server_hostname=server.domain) as tls,
        ):
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
        server.add_users({"bob": "pw-bob"})  # bulk account files, while running
        server.subscribe("alice", "bob")  # ask, approve on arrival, both ways: "both"

        async def roster_of(user: str) -> dict[str, str]:
            async with XmppPeer.for_user(server, user, resource="check") as peer:
                iq = await peer.xmpp.get_roster()
                assert iq is not None
                return {str(jid): item["subscription"] for jid, item in iq["roster"]["items"].items()}

        assert asyncio.run(roster_of("alice")) == {"bob@lab.test": "both"}
        print(f"prosody answered {server.start_seconds * 1000:.0f} ms after exec")
        server.kill()
        assert not server.running
        server.start()
        assert (server.c2s_port, server.direct_tls_port) == ports  # restart keeps the ports
        assert asyncio.run(roster_of("bob")) == {"alice@lab.test": "both"}  # data survives
        server.restart()
        assert server.running
    assert not server.running
    with pytest.raises(LabError):
        server.set_roster("Not Valid", {})
    assert JID(server.jid("alice")).bare == "alice@lab.test"
