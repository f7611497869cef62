"""Hostile XMPP input from a contact (issue 7): a huge message, deep nesting, odd and invalid
characters, a flood, bogus presence and vCards, odd message types. The phone (agent process,
SIP + XMPP) stays online, its chat state and history files are sane, and it still places a call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from firmware.lab.prosody import Prosody
from firmware.lab.xmpp_peer import XmppPeer
from tests.e2e.conftest import PhoneFactory
from tests.resilience.conftest import ChatPhoneFactory, check_state_dir, still_calls

pytestmark = pytest.mark.integration

FLOOD = 500
NS = "urn:example:hostile"


def _nested(depth: int) -> str:
    return f"<x xmlns='{NS}'>" + "<x>" * depth + "deep" + "</x>" * depth + "</x>"


def _hostile_vcard4(n_tels: int) -> str:
    tels = "".join(
        f"<tel><uri>{uri}</uri></tel>"
        for uri in (
            [
                "sip:;;;@",
                "tel:",
                "javascript:alert(1)",
                "sip:" + "9" * 5000 + "@lab.test",
                "sip:1001@lab.test",
            ]
            + [f"tel:+1555{n:07d}" for n in range(n_tels)]
        )
    )
    return (
        "<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'>"
        f"<fn><text>{'Bob' * 3000}</text></fn>{tels}"
        f"<impp><uri>xmpp:{'a' * 3000}@lab.test</uri></impp></vcard>"
    )


def test_hostile_stanzas_from_a_contact(
    chat_phone: ChatPhoneFactory,
    make_phone: PhoneFactory,
    prosody: Prosody,
    users: Callable[..., list[str]],
    tmp_path: Path,
) -> None:
    alice, bob = users("alice", "bob")
    prosody.make_contacts(alice, {bob: "Bob"})
    a = chat_phone("1001", alice)
    b = make_phone("1002")
    to, frm = prosody.jid(alice), prosody.jid(bob)
    sent: dict[str, int] = {}

    async def attack() -> None:
        async with XmppPeer.for_user(prosody, bob) as peer:
            peer.send_chat(to, "H" * (200 * 1024))  # ~200 KiB: under Prosody's 256 KiB stanza limit
            sent["huge"] = 1
            for depth in (100, 1000):
                peer.send_raw(
                    f"<message to='{to}' type='chat'><body>nested {depth}</body>{_nested(depth)}</message>"
                )
            peer.send_chat(
                to, "\u202eevil\u202c \u200b\u200d" + "e\u0301" * 2000 + "\U0001f4a5" * 500 + "\ufffd"
            )
            peer.send_raw(
                f"<message to='{to}' type='chat'><body>&#xD7FF;&#xE000;&#xFFFD;&#x10FFFF;</body></message>"
            )
            peer.send_raw(
                f"<message to='{to}' type='chat'><body xml:lang='en'>one</body>"
                f"<body xml:lang='de'>zwei</body>"
                "<thread>t</thread><subject>s</subject></message>"
            )
            for mtype in ("error", "headline", "groupchat", "normal", "bogus"):
                peer.send_raw(f"<message to='{to}' type='{mtype}'><body>type {mtype}</body></message>")
            peer.send_raw(f"<message to='{to}' type='chat'/>")
            peer.send_raw(
                f"<message to='{to}/nonexistent-resource' type='chat'><body>to a resource</body></message>"
            )
            peer.send_raw(
                f"<message to='{to}' type='chat'><body/><html xmlns='http://jabber.org/protocol/xhtml-im'>"
                "<body xmlns='http://www.w3.org/1999/xhtml'><script>alert(1)</script></body></html></message>"
            )
            # Bogus presence: unknown type/show, absurd priority, a huge status, a vCard-update hash.
            peer.send_raw("<presence type='bogus'/>")
            peer.send_raw(
                "<presence><show>nonsense</show><priority>999999999999</priority>"
                f"<status>{'s' * 10000}</status></presence>"
            )
            peer.send_raw(
                "<presence><priority>-129</priority><x xmlns='vcard-temp:x:update'>"
                f"<photo>{'f' * 5000}</photo></x></presence>"
            )
            peer.send_raw(f"<presence to='{to}' type='subscribed'/>")
            peer.send_raw(f"<presence to='{to}' type='unsubscribe'/>")
            peer.send_raw(f"<presence to='{to}' type='subscribe'/>")
            peer.send_raw(f"<iq to='{to}/whatever' type='get' id='q1'><query xmlns='{NS}'/></iq>")
            peer.send_raw(
                f"<iq to='{to}' type='set' id='q2'><query xmlns='jabber:iq:roster'>"
                f"<item jid='{'z' * 3000}@evil.test' subscription='both'/></query></iq>"
            )
            await peer.publish_vcard4(_hostile_vcard4(300))  # bogus vCard: junk URIs, 300 tels, huge names
            peer.set_presence(None, "vcard changed")
            for n in range(FLOOD):
                peer.send_chat(to, f"flood {n}")
                if n % 50 == 0:
                    await asyncio.sleep(0)
            sent["flood"] = FLOOD
            peer.set_presence(None, "back to normal")
            await asyncio.sleep(0.2)
        # Not XML at all (U+FFFE is no XML Char; slixmpp sends it as is): Prosody drops the sender's
        # stream without a word, so it never reaches the phone. A new connection sends the sentinel.
        async with XmppPeer.for_user(prosody, bob, resource="second") as peer:
            peer.send_chat(to, "not XML: \ufffe")
        async with XmppPeer.for_user(prosody, bob, resource="third") as peer:
            peer.send_chat(to, "still here?")
            await asyncio.sleep(0.2)

    t0 = time.monotonic()
    asyncio.run(attack())
    state = a.wait(timeout=20, **{"chat.last": {frm: "still here?"}})
    took = time.monotonic() - t0
    chat = state["chat"]
    assert chat["state"] == "online" and state["registration"] == "registered", chat
    assert chat["conversations"] == 1 and chat["unread_by_peer"].get(frm, 0) >= 1, chat
    stats = a.request("xmpp_stats")
    assert stats is not None and stats["state"] == "online", stats
    assert stats["messages_received"] + stats["messages_dropped"] >= FLOOD, (
        stats
    )  # all seen, none lost silently
    a.press("menu")  # the chat list renders with the hostile contact in it
    screen = a.screen()
    assert screen and all(len(line) < 200 for line in screen), screen
    a.press("back", "back", "back")
    still_calls(a, b, "1002")
    a.stop()  # a clean stop writes the history
    kept = check_state_dir(tmp_path / "phone-1001" / "state")
    assert kept["chats"] == 1, kept
    print(
        f"hostile XMPP: ~200 KiB message, nesting 1000, odd characters, {FLOOD}-message flood, bogus "
        f"presence/vCard/iq handled in {took:.1f} s; online, history parses, call OK; "
        + ", ".join(
            f"{k} {stats[k]}"
            for k in (
                "messages_received",
                "messages_dropped",
                "messages_truncated",
                "tels_dropped",
                "presence_stanzas",
                "logins",
            )
        )
    )
