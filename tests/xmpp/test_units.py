"""Unit tests of the XMPP engine's pure parts: vCard parsing, the cache, text limits, the token
bucket, presence coalescing, the vCard store, stanza readers, entity caps, the dispatcher's chat
commands. (The protocol itself is tested against a real Prosody in the other files.)"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware import commands as c
from firmware.dispatcher import Dispatcher, Timers
from firmware.events import Event, PresencesChanged, VCardLoaded
from firmware.xmpp import features, stanzas
from firmware.xmpp.cache import VCardCache
from firmware.xmpp.model import OFFLINE, Presence, Show, Tel, VCard
from firmware.xmpp.roster import Presences
from firmware.xmpp.stats import XmppStats
from firmware.xmpp.text import Buckets, DropLog, TokenBucket, clean_text
from firmware.xmpp.vcard import MAX_NAME, MAX_TELS, card_hash, parse_vcard_xml
from firmware.xmpp.vcards import Unavailable, VCards

V4 = "urn:ietf:params:xml:ns:vcard-4.0"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------- vCards


def test_vcard4_keeps_types_including_video() -> None:
    parsed = parse_vcard_xml(
        f"<vcard xmlns='{V4}'><fn><text> Bob\n Builder </text></fn>"
        "<tel><parameters><type><text>WORK</text><text>video</text></type></parameters>"
        "<uri>sip:bob@example.org</uri></tel><tel><text>+49 30 1234</text></tel></vcard>",
        "bob@example.org",
    )
    assert parsed is not None and parsed.dropped == 0
    assert parsed.card.full_name == "Bob Builder"
    assert parsed.card.tels == (
        Tel("sip:bob@example.org", "sip:bob@example.org", frozenset({"work", "video"})),
        Tel("tel:+49301234", "tel:+49301234", frozenset()),
    )


def test_vcard_temp_flags_and_name_from_n() -> None:
    parsed = parse_vcard_xml(
        "<vCard xmlns='vcard-temp'><N><GIVEN>Carol</GIVEN><FAMILY>C</FAMILY></N>"
        "<TEL><WORK/><VIDEO/><NUMBER>sip:carol@example.org</NUMBER></TEL>"
        "<TEL><CELL/><NUMBER>+1 555 0100</NUMBER></TEL><TEL><NUMBER>not a number</NUMBER></TEL></vCard>",
        "carol@example.org",
    )
    assert parsed is not None
    assert parsed.card.full_name == "Carol C"
    assert [(t.uri, t.kinds) for t in parsed.card.tels] == [
        ("sip:carol@example.org", {"work", "video"}),
        ("tel:+15550100", {"cell"}),
    ]
    assert parsed.dropped == 1


def test_500_tels_are_bounded_and_duplicates_merged() -> None:
    tels = "".join(f"<tel><uri>tel:+1555{i:07d}</uri></tel>" for i in range(500))
    dupes = "<tel><parameters><type><text>voice</text></type></parameters><uri>tel:+1-555-0000000</uri></tel>"
    parsed = parse_vcard_xml(f"<vcard xmlns='{V4}'>{dupes}{tels}</vcard>", "x@y")
    assert parsed is not None
    assert len(parsed.card.tels) == MAX_TELS and parsed.dropped == 500 - MAX_TELS  # 501 tels, 500 distinct
    assert parsed.card.tels[0].kinds == {"voice"}  # the duplicate merged into the first


@pytest.mark.parametrize(
    "broken",
    ["<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><tel>", "not xml at all", "<a><b></a>", "", "\x00",
     "<!DOCTYPE x [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;&a;&a;'>]><x>&b;</x>", "<foo xmlns='urn:x'/>"],
)  # fmt: skip
def test_broken_or_foreign_xml_gives_none_and_a_log_line(
    broken: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert parse_vcard_xml(broken, "x@y") is None
    assert "vCard of x@y ignored" in caplog.text


def test_names_are_bounded_and_cleaned() -> None:
    parsed = parse_vcard_xml(
        f"<vcard xmlns='{V4}'><fn><text>{'A' * 500}\x7f\u0085</text></fn></vcard>", "x@y"
    )
    assert parsed is not None and parsed.card.full_name == "A" * MAX_NAME


def test_card_hash_ignores_tel_order_but_not_content() -> None:
    a = VCard("x@y", "X", (Tel("tel:1", "tel:1"), Tel("tel:2", "tel:2", frozenset({"video"}))))
    b = VCard("x@y", "X", (a.tels[1], a.tels[0]))
    assert card_hash(a) == card_hash(b)
    assert card_hash(a) != card_hash(VCard("x@y", "X", (a.tels[0],)))


# ---------------------------------------------------------------- cache


def _card(jid: str, n: int = 1) -> VCard:
    return VCard(jid, f"Name {n}", (Tel(f"tel:+4930{n}", f"tel:+4930{n}", frozenset({"work"})),))


def test_cache_round_trip_is_atomic_and_private(tmp_path: Path) -> None:
    path = tmp_path / "xmpp" / "vcards.json"
    cache = VCardCache(path, account="me@x")
    cache.put("bob@x", _card("bob@x"), "vcard4", photo="abc")
    cache.put("eve@x", VCard("eve@x"), "none")
    cache.save()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not list(path.parent.glob(".*tmp"))  # no temporary file left behind
    again = VCardCache(path, account="me@x")
    assert again.load() == 2
    bob = again.get("bob@x")
    assert bob is not None and bob.card == _card("bob@x") and bob.photo == "abc" and bob.source == "vcard4"
    assert VCardCache(path, account="someone-else@x").load() == 0  # another account's cache is not used


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[]", b'{"version": 99, "cards": {}}', b"\xff\xfe", b'{"version": 1, "cards": 5}'],
)
def test_a_corrupt_cache_is_ignored_with_a_log_line(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "vcards.json"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        assert VCardCache(path, account="me@x").load() == 0
    assert "vCard cache" in caplog.text and "ignored" in caplog.text


def test_bad_entries_are_skipped_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "vcards.json"
    good = {"s": "vcard4", "t": 1.0, "fn": "Bob", "tels": [["tel:+1", ["work"]]]}
    doc = {
        "version": 1,
        "account": "me@x",
        "cards": {
            "bob@x": good,
            "bad1@x": {"s": "weird", "t": 1.0},
            "bad2@x": {**good, "tels": [["javascript:alert(1)", []]]},
            "bad3@x": {**good, "tels": "nope"},
        },
    }
    path.write_text(json.dumps(doc))
    cache = VCardCache(path, account="me@x")
    assert cache.load() == 1 and "bob@x" in cache


def test_cache_is_bounded_oldest_first(tmp_path: Path) -> None:
    clock = FakeClock()
    cache = VCardCache(tmp_path / "v.json", account="me@x", max_entries=3, wall=clock)
    for n in range(5):
        clock.now = float(n)
        cache.put(f"c{n}@x", _card(f"c{n}@x", n), "vcard4")
    assert len(cache) == 3 and "c0@x" not in cache and "c4@x" in cache
    assert cache.retain(["c4@x"]) == 2 and len(cache) == 1


def test_stale_entries(tmp_path: Path) -> None:
    clock = FakeClock()
    cache = VCardCache(tmp_path / "v.json", account="me@x", wall=clock)
    card = cache.put("a@x", _card("a@x"), "vcard4")
    none = cache.put("b@x", VCard("b@x"), "none")
    assert not card.stale(86400.0 * 2) and none.stale(86400.0 * 2)
    assert card.stale(86400.0 * 8) and card.stale(-5.0)  # a clock that went backwards: refresh


# ---------------------------------------------------------------- text, token bucket, drop log


def test_clean_text_keeps_newlines_rtl_and_emoji() -> None:
    text, cut = clean_text("a\tb\r\nc\x00\x1b[2J\x7f\x85\u202e\u05e9\U0001f600", 100, newlines=True)
    assert (text, cut) == ("ab\nc[2J\u202e\u05e9\U0001f600", 0)
    assert clean_text("x" * 10, 4) == ("xxxx", 6)
    assert clean_text("y" * 1_000_000, 2000) == ("y" * 2000, 1_000_000 - 2000)


@given(st.text(max_size=500), st.integers(min_value=1, max_value=100))
def test_clean_text_is_bounded_and_control_free(text: str, limit: int) -> None:
    out, cut = clean_text(text, limit, newlines=True)
    assert len(out) <= limit and cut >= 0
    assert all(ch == "\n" or not (ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F) for ch in out)


def test_token_bucket_rate_and_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, 20.0, clock)
    assert sum(bucket.take() for _ in range(100)) == 20  # the burst, then nothing
    clock.now = 1.0
    assert sum(bucket.take() for _ in range(100)) == 10  # one second refills 10
    clock.now = 100.0
    assert sum(bucket.take() for _ in range(100)) == 20  # never more than the burst saved up


def test_buckets_are_per_key_and_bounded() -> None:
    clock = FakeClock()
    buckets = Buckets(1.0, 2.0, clock, max_keys=3)
    assert [buckets.take("a") for _ in range(3)] == [True, True, False]
    assert buckets.take("b")  # another contact is not affected
    for key in "cdef":
        buckets.take(key)
    assert len(buckets) == 3


def test_drop_log_summarises(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    drops = DropLog(logging.getLogger("test.drops"), interval=5.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="test.drops"):
        for _ in range(100):
            drops.dropped("dropped %s", "x")
        clock.now = 6.0
        drops.dropped("dropped %s", "x")
    assert len(caplog.records) == 2 and "+99 more" in caplog.records[1].getMessage() and drops.total == 101


# ---------------------------------------------------------------- presence coalescing


def test_presences_are_coalesced_into_bounded_batches() -> None:
    posted: list[Event] = []

    async def scenario() -> None:
        presences = Presences(posted.append, flush_s=0.05, batch_max=200)
        for i in range(990):
            presences.update(f"c{i}@x", "r", Presence(Show.AVAILABLE))
        presences.update("c989@x", "r", OFFLINE)  # online and offline again within the batch window
        await asyncio.sleep(0.1)
        presences.close()

    asyncio.run(scenario())
    batches = [e for e in posted if isinstance(e, PresencesChanged)]
    assert len(batches) == 5 and all(len(b.updates) <= 200 for b in batches)
    shown = {jid: p for b in batches for jid, p in b.updates}
    assert len(shown) == 989 and "c989@x" not in shown  # its online-offline never reached the phone


def test_presence_is_the_best_resource_and_repeats_are_not_posted() -> None:
    posted: list[Event] = []

    async def scenario() -> None:
        presences = Presences(posted.append, flush_s=0.01)
        presences.update("a@x", "phone", Presence(Show.AWAY, "out"), priority=0)
        presences.update("a@x", "laptop", Presence(Show.DND, "busy"), priority=5)
        await asyncio.sleep(0.03)
        presences.update("a@x", "laptop", Presence(Show.DND, "busy"), priority=5)  # same again
        await asyncio.sleep(0.03)
        presences.update("a@x", "laptop", OFFLINE)
        await asyncio.sleep(0.03)
        presences.all_offline()
        await asyncio.sleep(0.03)

    asyncio.run(scenario())
    updates = [u for e in posted if isinstance(e, PresencesChanged) for u in e.updates]
    assert updates == [
        ("a@x", Presence(Show.DND, "busy")),
        ("a@x", Presence(Show.AWAY, "out")),
        ("a@x", OFFLINE),
    ]


# ---------------------------------------------------------------- the vCard store


class FakeSource:
    def __init__(self, cards: dict[str, str]) -> None:
        self.cards = cards
        self.requests: list[str] = []
        self.in_flight = self.max_in_flight = 0

    async def vcard4(self, jid: str) -> ET.Element | None:
        self.requests.append(jid)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        if jid == "down@x":
            raise Unavailable("timeout")
        xml = self.cards.get(jid)
        return None if xml is None else ET.fromstring(xml)

    async def vcard_temp(self, jid: str) -> ET.Element | None:
        self.requests.append("temp:" + jid)
        return None


def test_vcard_store_bounds_concurrency_dedupes_and_uses_the_cache(tmp_path: Path) -> None:
    card = f"<vcard xmlns='{V4}'><fn><text>C</text></fn><tel><uri>tel:+1</uri></tel></vcard>"
    source = FakeSource({f"c{i}@x": card for i in range(20)})
    posted: list[Event] = []
    stats = XmppStats()
    cache = VCardCache(tmp_path / "v.json", account="me@x")
    cache.put("cached@x", _card("cached@x"), "vcard4")

    async def scenario() -> None:
        store = VCards(cache, source, posted.append, stats, concurrency=3, rate=1000.0, start_delay=0.0)
        store.start()
        store.online([f"c{i}@x" for i in range(20)] + ["nobody@x", "cached@x", "c1@x"])
        vcard = ET.fromstring(card)
        store.on_pep("c0@x", vcard, "id1")  # a notification makes the request unnecessary
        store.on_pep("c0@x", vcard, "id1")  # Prosody's double notification
        for _ in range(200):
            await asyncio.sleep(0.01)
            if not store.queued and not store.in_flight:
                break
        await store.stop()

    asyncio.run(scenario())
    assert source.max_in_flight <= 3
    assert "c0@x" not in source.requests and "cached@x" not in source.requests
    assert source.requests.count("c1@x") == 1 and "temp:nobody@x" in source.requests
    assert stats.vcard_cache_hits == 1 and stats.pep_duplicates == 1
    loaded = [e for e in posted if isinstance(e, VCardLoaded)]
    assert len(loaded) == 20  # c0..c19 once each; nobody has none (nothing to post)
    assert cache.get("nobody@x") is not None and cache.get("nobody@x").source == "none"  # type: ignore[union-attr]


# ---------------------------------------------------------------- stanza readers and caps


def test_roster_items_from_the_raw_element() -> None:
    query = ET.fromstring(
        "<query xmlns='jabber:iq:roster'>"
        "<item jid='Bob@Example.org' name='Bob\x7f' subscription='both'>"
        "<group>Team</group><group>Team</group></item>"
        "<item jid='gone@example.org' subscription='remove'/>"
        "<item jid='@@bad' subscription='both'/><item jid='odd@example.org' subscription='sideways'/></query>"
    )

    def bare(jid: str) -> str | None:
        return None if jid.startswith("@") else jid.lower()

    items, invalid = stanzas.roster_items(query, bare)
    assert invalid == 1 and items["gone@example.org"] is None
    bob = items["bob@example.org"]
    assert bob is not None and (bob.name, bob.subscription, bob.groups) == ("Bob", "both", ("Team",))
    odd = items["odd@example.org"]
    assert odd is not None and odd.subscription == "none"


def test_pep_notifications_and_photo_hash() -> None:
    ev = "http://jabber.org/protocol/pubsub#event"
    msg = ET.fromstring(
        f"<message xmlns='jabber:client'><event xmlns='{ev}'><items node='urn:xmpp:vcard4'>"
        f"<item id='current'><vcard xmlns='{V4}'/></item><retract id='old'/></items></event></message>"
    )
    found = stanzas.pep_vcards(msg)
    assert [(i, v is not None, r) for i, v, r in found] == [("current", True, False), ("old", False, True)]
    other = ET.fromstring(
        f"<message xmlns='jabber:client'><event xmlns='{ev}'>"
        "<items node='urn:xmpp:avatar:metadata'/></event></message>"
    )
    assert stanzas.pep_vcards(other) == []
    pres = ET.fromstring(
        "<presence xmlns='jabber:client'><x xmlns='vcard-temp:x:update'><photo> abc </photo></x></presence>"
    )
    assert stanzas.photo_hash(pres) == "abc"
    assert stanzas.photo_hash(ET.fromstring("<presence xmlns='jabber:client'/>")) is None


def test_caps_verification_string_matches_xep_0115_example() -> None:
    identity = ("client", "pc", "", "Exodus 0.9.1")
    feats = (
        "http://jabber.org/protocol/caps",
        "http://jabber.org/protocol/disco#info",
        "http://jabber.org/protocol/disco#items",
        "http://jabber.org/protocol/muc",
    )
    assert features.caps_ver(identity, feats) == "QgayPKawpkPSDYmwT/WM94uAlu0="


def test_no_jingle_is_advertised() -> None:
    assert not any("jingle" in f for f in features.FEATURES)
    assert "urn:xmpp:vcard4+notify" in features.FEATURES


# ---------------------------------------------------------------- dispatcher


class FakeChat:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def send_chat(self, peer: str, body: str, groupchat: bool = False) -> bool:
        self.calls.append(("send", peer, body, groupchat))
        return True

    def set_presence(self, show: Show, status: str = "") -> None:
        self.calls.append(("presence", show, status))


class NoSip:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"SIP not expected: {name}")


def test_dispatcher_routes_chat_commands_and_drops_them_without_an_account(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        dispatcher = Dispatcher(NoSip(), NoSip(), Timers(loop, lambda e: None))  # type: ignore[arg-type]
        with caplog.at_level(logging.WARNING):
            assert dispatcher.run((c.SendChat("bob@x", "hi"),)) == []
        assert "no XMPP account" in caplog.text
        chat = FakeChat()
        dispatcher.chat = chat
        assert (
            dispatcher.run((c.SendChat("room@x", "hi", groupchat=True), c.SetPresence(Show.DND, "busy")))
            == []
        )
        assert chat.calls == [("send", "room@x", "hi", True), ("presence", Show.DND, "busy")]

    asyncio.run(scenario())


def test_a_changed_photo_hash_asks_for_the_card_again(tmp_path: Path) -> None:
    cache = VCardCache(tmp_path / "v.json", account="me@x")
    cache.put("bob@x", _card("bob@x"), "vcard4")

    async def scenario() -> list[str]:
        store = VCards(cache, FakeSource({}), lambda e: None, XmppStats(), start_delay=0.0)
        store.on_photo("bob@x", "h1")  # first hash seen: remembered, nothing fetched
        first = store.queued
        store.on_photo("bob@x", "h1")
        store.on_photo("bob@x", "h2")  # changed: the card may have changed too
        return [str(first), str(store.queued)]

    assert asyncio.run(scenario()) == ["0", "1"]
    entry = cache.get("bob@x")
    assert entry is not None and entry.photo == "h2"
