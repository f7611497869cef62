"""Roster, presence, subscriptions, vCards (and their cache), chat, carbons, rooms and what the phone
advertises, against a real Prosody with real second parties (slixmpp clients). No XMPP mocks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from slixmpp.jid import JID

from firmware.events import (
    MessageReceived,
    PresencesChanged,
    RoomJoined,
    RosterChanged,
    RosterLoaded,
    VCardLoaded,
)
from firmware.lab.prosody import Prosody
from firmware.xmpp.model import Presence, Show
from firmware.xmpp.tel import tel_key
from tests.xmpp.conftest import Harness, account, peer, run

pytestmark = pytest.mark.integration

VCARD4 = """<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Bob Builder</text></fn>
  <tel><parameters><type><text>work</text><text>video</text></type></parameters>
       <uri>sip:+49 30 1234@lab.test;user=phone</uri></tel>
  <tel><parameters><type><text>cell</text></type></parameters><uri>tel:+49-170-555</uri></tel>
  <tel><uri>sip:bob@lab.test</uri></tel></vcard>"""
VCARD_TEMP = """<vCard xmlns='vcard-temp'><FN>Carol</FN>
  <TEL><WORK/><VIDEO/><NUMBER>sip:carol@lab.test</NUMBER></TEL>
  <TEL><HOME/><NUMBER>+49 30 999</NUMBER></TEL></vCard>"""


def _presence(h: Harness, jid: str) -> Presence | None:
    found = None
    for event in h.of(PresencesChanged):
        for who, presence in event.updates:
            if who == jid:
                found = presence
    return found


def test_roster_presence_and_roster_pushes(
    prosody: Prosody, users: Callable[..., list[str]], tmp_path: Path
) -> None:
    alice, bob, dave = users("alice", "bob", "dave")
    prosody.make_contacts(alice, {bob: "Bob"})
    bob_jid, dave_jid = prosody.jid(bob), prosody.jid(dave)

    async def scenario() -> None:
        async with Harness(account(prosody, alice), tmp_path) as h:
            await h.wait_event(RosterLoaded)
            async with peer(prosody, bob) as b:
                await h.wait(lambda: _presence(h, bob_jid) == Presence(Show.AVAILABLE), what="bob online")
                b.set_presence("dnd", "in a call\x7f\u0085 now")
                await h.wait(lambda: _presence(h, bob_jid) == Presence(Show.DND, "in a call now"), what="dnd")
            await h.wait(lambda: _presence(h, bob_jid) == Presence(Show.OFFLINE), what="bob offline")
            # Alice's other client edits the roster: the server pushes the change to the phone.
            async with peer(prosody, alice, resource="laptop") as other:
                await other.xmpp.update_roster(JID(dave_jid), name="Dave", groups=["Team"])
                changed = await h.wait_event(RosterChanged)
                assert [(c.jid, c.name, c.groups) for c in changed.changed] == [(dave_jid, "Dave", ("Team",))]
                await other.xmpp.del_roster_item(JID(dave_jid))
                removed = await h.wait_event(RosterChanged, lambda e: bool(e.removed))
                assert removed.removed == (dave_jid,)

    run(scenario())


def test_subscription_requests_accepted_from_contacts_only(
    prosody: Prosody, users: Callable[..., list[str]], tmp_path: Path
) -> None:
    alice, bob, mallory = users("alice", "bob", "mallory")
    # Alice has bob with subscription "to": bob asking to see alice is accepted; mallory is nobody.
    prosody.set_roster(alice, {prosody.jid(bob): ("Bob", "to", ())})
    prosody.set_roster(bob, {prosody.jid(alice): ("", "from", ())})

    async def scenario() -> None:
        async with Harness(account(prosody, alice), tmp_path) as h:
            await h.wait_event(RosterLoaded)
            async with peer(prosody, bob) as b, peer(prosody, mallory) as m:
                await m.ask_subscription(prosody.jid(alice))
                await b.ask_subscription(prosody.jid(alice))
                await h.poll(lambda: h.engine.stats.subscriptions_accepted == 1, what="bob accepted")
                await h.poll(lambda: h.engine.stats.subscriptions_ignored == 1, what="mallory ignored")
                pushed = await h.wait_event(RosterChanged)
                assert pushed.changed[0].subscription == "both"

    run(scenario())


def test_chat_round_trip_and_carbons(
    prosody: Prosody, users: Callable[..., list[str]], tmp_path: Path
) -> None:
    alice, bob = users("alice", "bob")
    prosody.make_contacts(alice, {bob: "Bob"})
    alice_jid, bob_jid = prosody.jid(alice), prosody.jid(bob)

    async def scenario() -> None:
        async with Harness(account(prosody, alice), tmp_path) as h, peer(prosody, bob) as b:
            await h.wait_event(RosterLoaded)
            assert h.engine.send_chat(bob_jid, "Call you back")
            got = await b.next_message()
            assert got["body"] == "Call you back" and got["type"] == "chat"
            t0 = time.monotonic()
            b.send_chat(alice_jid, "shalom \u05e9\u05dc\u05d5\u05dd \U0001f600\nsecond line")
            event = await h.wait_event(MessageReceived)
            latency = time.monotonic() - t0
            message = event.message
            assert message.peer == bob_jid and not message.outgoing and not message.groupchat
            assert message.body == "shalom \u05e9\u05dc\u05d5\u05dd \U0001f600\nsecond line"
            print(f"chat: peer -> MessageReceived in {latency * 1000:.1f} ms")
            # A message alice sends from another client reaches the phone as a carbon copy.
            await asyncio.sleep(0.3)  # carbons are enabled right after the roster
            async with peer(prosody, alice, resource="laptop") as laptop:
                laptop.send_chat(bob_jid, "from my laptop")
                copy = await h.wait_event(MessageReceived, lambda e: e.message.outgoing)
                assert copy.message.peer == bob_jid and copy.message.body == "from my laptop"
            assert not h.engine.send_chat("not a jid@@", "x") and not h.engine.send_chat(bob_jid, "   ")

    run(scenario())


def test_vcard_tels_from_vcard4_and_vcard_temp(
    prosody: Prosody, users: Callable[..., list[str]], tmp_path: Path
) -> None:
    alice, bob, carol = users("alice", "bob", "carol")
    prosody.make_contacts(alice, {bob: "", carol: ""})
    prosody.set_vcard(bob, vcard4=VCARD4)
    prosody.set_vcard(carol, vcard_temp=VCARD_TEMP)
    bob_jid, carol_jid = prosody.jid(bob), prosody.jid(carol)

    async def scenario() -> None:
        async with Harness(account(prosody, alice), tmp_path, sip_aor="sip:1001@lab.test") as h:
            await h.wait(lambda: len(h.of(VCardLoaded)) == 2, what="both cards")
            cards = {e.card.jid: e.card for e in h.of(VCardLoaded)}
            bob_card = cards[bob_jid]
            assert bob_card.full_name == "Bob Builder"
            tels = {t.key: t for t in bob_card.tels}
            assert tels["tel:+49301234"].kinds == {"work", "video"}  # vCard4 keeps "video"
            assert tels["tel:+49301234"].uri == "sip:+49301234@lab.test;user=phone"
            assert tels["tel:+49170555"].kinds == {"cell"}
            assert "sip:bob@lab.test" in tels
            # An incoming caller, however written, finds the card in one dict lookup.
            index = {t.key: card.jid for card in cards.values() for t in card.tels}
            for caller in ("sip:+49-30-1234@lab.test;user=phone", "tel:+49 30 1234", "<sip:Bob@LAB.test>"):
                assert index[tel_key(caller, "lab.test")] == bob_jid, caller
            # Carol wrote vcard-temp; Prosody's vcard_legacy serves it as vCard4 (tel:sip:... fixed
            # here) and loses its VIDEO flag on the way, as the design notes say.
            carol_tels = {t.uri: t.kinds for t in cards[carol_jid].tels}
            assert carol_tels == {"sip:carol@lab.test": {"work"}, "tel:+4930999": {"home"}}
            # The phone shows the vCard name when the roster has none.
            roster = h.of(RosterLoaded)[0]
            assert {c.jid for c in roster.contacts} == {bob_jid, carol_jid}
            # Bob changes his card: one VCardLoaded (Prosody notifies twice: deduplicated).
            before = len(h.of(VCardLoaded))
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: prosody.set_vcard(bob, vcard4=VCARD4.replace("Builder", "B."))
            )
            changed = await h.wait_event(VCardLoaded, lambda e: e.card.full_name == "Bob B.")
            await asyncio.sleep(0.5)
            assert len(h.of(VCardLoaded)) == before + 1, h.of(VCardLoaded)[before:]
            assert {t.key for t in changed.card.tels} == set(tels)
            stats = h.engine.stats
            print(
                f"vCards: {stats.vcard4_requests} vCard4 + {stats.vcard_temp_requests} vcard-temp requests,"
                f" {stats.pep_notifications} PEP notifications ({stats.pep_unchanged} unchanged,"
                f" {stats.pep_duplicates} same-id duplicates)"
            )

    run(scenario())


def test_vcard_temp_fallback_keeps_video_without_vcard4(tmp_path: Path) -> None:
    """A server without XEP-0292 (Prosody with mod_vcard only): the vCard4 request fails, vcard-temp
    answers, and a raw vcard-temp keeps its VIDEO flag (plaintext server: a second lab variant)."""
    modules = ("roster", "saslauth", "disco", "ping", "vcard")
    with Prosody(tmp_path / "legacy", tls=False, modules=modules) as server:
        server.add_users({"alice": "pw-alice", "carol": "pw-carol"})
        server.make_contacts("alice", {"carol": ""})
        server.set_vcard("carol", vcard_temp=VCARD_TEMP)

        async def scenario() -> None:
            config = account(server, "alice", tls="plaintext")
            async with Harness(config, tmp_path / "cache", vcard_start_delay=0.1) as h:
                card = (await h.wait_event(VCardLoaded)).card
                assert {t.uri: t.kinds for t in card.tels} == {
                    "sip:carol@lab.test": {"work", "video"},
                    "tel:+4930999": {"home"},
                }
                stats = h.engine.stats
                assert stats.vcard4_requests == 1 and stats.vcard_temp_requests == 1

        run(scenario())


def test_vcard_cache_spares_requests_on_restart(
    prosody: Prosody, users: Callable[..., list[str]], tmp_path: Path
) -> None:
    names = users("alice", *[f"c{i}x" for i in range(8)])
    alice, contacts = names[0], names[1:]
    prosody.make_contacts(alice, dict.fromkeys(contacts, ""))
    for i, contact in enumerate(contacts[:4]):  # half have a card, half none
        prosody.set_vcard(contact, vcard4=VCARD4.replace("Bob Builder", f"Contact {i}"))

    async def session() -> tuple[int, int, int, int]:
        async with Harness(account(prosody, alice), tmp_path, vcard_start_delay=0.1) as h:
            await h.wait_event(RosterLoaded)
            await h.poll(
                lambda: len(h.engine.session.cache) == 8 and h.engine.session.vcards.in_flight == 0,
                what="every contact looked at",
            )
            await asyncio.sleep(0.3)
            s = h.engine.stats
            return (
                s.vcard4_requests + s.vcard_temp_requests,
                s.vcard_cache_hits,
                len(h.of(VCardLoaded)),
                len(h.of(RosterLoaded)[0].contacts),
            )

    first = run(session())
    second = run(session())
    print(f"first start: {first[0]} requests; restart: {second[0]} requests, {second[1]} cache hits")
    assert first[0] >= 4 and first[2] == 4  # the four without a card cost two requests each
    assert second[0] == 0 and second[1] == 8 and second[2] == 0  # nothing fetched, nothing re-posted
    # ... and the restarted phone has the tels at once, in the roster itself.
    assert second[3] == 8


def test_disco_advertises_no_jingle_and_presence_carries_the_sip_address(
    prosody: Prosody, users: Callable[..., list[str]], tmp_path: Path
) -> None:
    alice, bob = users("alice", "bob")
    prosody.make_contacts(alice, {bob: ""})

    async def scenario() -> None:
        async with (
            peer(prosody, bob) as b,
            Harness(account(prosody, alice), tmp_path, sip_aor="sip:1001@lab.test") as h,
        ):
            await h.wait_event(RosterLoaded)
            client = h.engine.client
            assert client is not None
            features = await b.disco_features(str(client.boundjid))
            assert {"urn:xmpp:ping", "urn:xmpp:carbons:2", "http://jabber.org/protocol/muc"} <= features
            assert "urn:xmpp:vcard4+notify" in features and "urn:xmpp:reach:0" in features
            assert not any("jingle" in f for f in features), features
            async with asyncio.timeout(5):
                while True:
                    pres = await b.presences.get()
                    if pres["from"].bare == prosody.jid(alice) and pres["type"] == "available":
                        break
            addr = pres.xml.find("{urn:xmpp:reach:0}reach/{urn:xmpp:reach:0}addr")
            assert addr is not None and addr.get("uri") == "sip:1001@lab.test"
            h.engine.set_presence(Show.AWAY, "lunch")
            async with asyncio.timeout(5):
                while (pres := await b.presences.get())["type"] != "away":
                    pass
            assert pres["status"] == "lunch"

    run(scenario())


def test_room_join_and_group_chat(prosody: Prosody, users: Callable[..., list[str]], tmp_path: Path) -> None:
    alice, bob = users("alice", "bob")
    room = f"team{alice}@{prosody.muc_domain}"

    async def scenario() -> None:
        async with peer(prosody, bob) as b:
            await b.join_room(room, "bob")
            async with Harness(account(prosody, alice, rooms=[room], nick="Alice"), tmp_path) as h:
                joined = await h.wait_event(RoomJoined)
                assert (
                    joined.room.jid == room and joined.room.nick == "Alice" and "bob" in joined.room.occupants
                )
                b.send_chat(room, "standup in 5", mtype="groupchat")
                got = await h.wait_event(MessageReceived, lambda e: e.message.groupchat)
                assert got.message.peer == room and got.message.sender == "bob" and not got.message.outgoing
                assert h.engine.send_chat(room, "on my way", groupchat=True)
                echo = await h.wait_event(MessageReceived, lambda e: e.message.outgoing)
                assert echo.message.sender == "Alice" and echo.message.body == "on my way"
                async with asyncio.timeout(5):
                    while (await b.next_message())["body"] != "on my way":
                        pass

    run(scenario())
