"""The roster value (firmware/roster.py) and the frozen map under it (firmware/frozen.py).

The sorted display order is patched incrementally from one roster value to the next; the
hypothesis test checks after every random operation that it equals a full sort.
"""

from __future__ import annotations

import copy
import pickle
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.frozen import FrozenMap
from firmware.roster import INCREMENTAL_MAX, MAX_CONTACTS, RANK, Roster
from firmware.xmpp.model import Contact, Presence, Show, Tel, VCard

JIDS = [f"u{i}@example.org" for i in range(12)]


def full_sort(roster: Roster) -> list[tuple[int, str, str]]:
    return sorted(roster.sort_key(jid) for jid in roster.contacts)


def big_roster(n: int = 5000) -> Roster:
    contacts = [Contact(f"user{i:05d}@example.org", f"Name {(i * 7919) % n:05d}") for i in range(n)]
    online = [(c.jid, Presence(list(Show)[i % 5], "busy")) for i, c in enumerate(contacts[: n // 3])]
    return Roster().loaded(contacts).with_presences(online)


# --- FrozenMap --------------------------------------------------------------------------------


def test_frozen_map_is_a_hashable_value() -> None:
    a = FrozenMap({"x": 1, "y": 2})
    b = FrozenMap([("y", 2), ("x", 1)])
    assert a == b and hash(a) == hash(b)
    assert a.set("z", 3) == FrozenMap({"x": 1, "y": 2, "z": 3})
    assert a == FrozenMap({"x": 1, "y": 2})  # unchanged
    assert a.without("x") == FrozenMap({"y": 2})
    assert a.without("nope") is a
    assert list(a.moved_to_end("x", 5)) == ["y", "x"]
    assert list(reversed(a)) == ["y", "x"]
    assert a.get("nope", 0) == 0 and "x" in a and len(a) == 2
    assert copy.deepcopy(a) == a and pickle.loads(pickle.dumps(a)) == a
    assert FrozenMap({"x": 1}) == {"x": 1} and FrozenMap() != {"x": 1}  # equal as mappings


# --- reading ------------------------------------------------------------------------------------


def test_order_online_first_by_show_then_label() -> None:
    roster = Roster().loaded(
        [
            Contact("z@x", "zed"),
            Contact("a@x", "Anna"),
            Contact("b@x", "bob"),
            Contact("c@x", ""),
            Contact("d@x", "Dora"),
        ]
    )
    roster = roster.with_presences(
        [("d@x", Presence(Show.AWAY)), ("z@x", Presence(Show.CHAT)), ("b@x", Presence(Show.AVAILABLE))]
    )
    assert [roster.at(i) for i in range(len(roster))] == ["z@x", "b@x", "d@x", "a@x", "c@x"]
    assert roster.online == 3
    assert roster.index("d@x") == 2 and roster.index("nobody@x") is None
    assert roster.window(1, 2) == ["b@x", "d@x"]


def test_vcard_names_and_tels_fill_in() -> None:
    roster = Roster().loaded([Contact("a@x"), Contact("b@x", "Bee", tels=(Tel("sip:1@x", "1"),))])
    assert roster.label("a@x") == "a@x"
    card = VCard("a@x", "Alice", (Tel("tel:+1", "+1", frozenset({"video"})),))
    roster = roster.with_card(card)
    assert roster.label("a@x") == "Alice"
    merged = roster.contact("a@x")
    assert merged is not None and merged.name == "Alice" and merged.tels == card.tels
    assert roster.contact("b@x") == Contact("b@x", "Bee", tels=(Tel("sip:1@x", "1"),))
    assert roster.with_card(VCard("b@x", "Other")).label("b@x") == "Bee"  # the roster name wins
    assert roster.contact("nobody@x") is None


def test_offline_presences_are_not_stored() -> None:
    roster = Roster().loaded([Contact("a@x")]).with_presences([("a@x", Presence(Show.AWAY, "out"))])
    assert roster.presence("a@x") == Presence(Show.AWAY, "out")
    roster = roster.with_presences([("a@x", Presence(Show.OFFLINE, "gone"))])
    assert len(roster.presences) == 0 and roster.presence("a@x").show is Show.OFFLINE


def test_losing_the_connection_makes_everyone_offline() -> None:
    roster = big_roster(100)
    assert roster.online > 0
    offline = roster.all_offline()
    assert offline.online == 0 and len(offline) == 100
    assert offline.all_offline() is offline


def test_roster_is_bounded() -> None:
    many = [Contact(f"u{i}@x") for i in range(MAX_CONTACTS + 50)]
    roster = Roster().loaded(many)
    assert len(roster) == MAX_CONTACTS
    assert len(roster.changed([Contact("extra@x")], ())) == MAX_CONTACTS
    strangers = [(f"s{i}@x", Presence(Show.AVAILABLE)) for i in range(MAX_CONTACTS + 50)]
    assert len(Roster().with_presences(strangers).presences) == MAX_CONTACTS


def test_roster_value_semantics() -> None:
    a = big_roster(50)
    b = big_roster(50)
    a.order()  # a cache, not part of the value
    assert a == b and hash(a) == hash(b)
    assert copy.deepcopy(a) == a


# --- incremental order == full sort ---------------------------------------------------------------

contacts = st.builds(
    Contact,
    st.sampled_from(JIDS),
    st.sampled_from(["", "alice", "Alice", "bob", "Zoe", "\u00e9mile", "\u202eevil"]),
)
presences = st.builds(Presence, st.sampled_from(list(Show)), st.sampled_from(["", "lunch"]))
operations = st.one_of(
    st.tuples(st.just("load"), st.lists(contacts, max_size=8)),
    st.tuples(st.just("change"), st.lists(contacts, max_size=4), st.lists(st.sampled_from(JIDS), max_size=3)),
    st.tuples(st.just("presence"), st.lists(st.tuples(st.sampled_from(JIDS), presences), max_size=6)),
    st.tuples(st.just("card"), st.builds(VCard, st.sampled_from(JIDS), st.sampled_from(["", "Card", "aaa"]))),
    st.tuples(st.just("offline")),
    st.tuples(st.just("look")),
)


def apply(roster: Roster, op: tuple[Any, ...]) -> Roster:
    kind = op[0]
    if kind == "load":
        return roster.loaded(op[1])
    if kind == "change":
        return roster.changed(op[1], op[2])
    if kind == "presence":
        return roster.with_presences(op[1])
    if kind == "card":
        return roster.with_card(op[1])
    if kind == "offline":
        return roster.all_offline()
    roster.order()  # someone looked: the order is cached and carried over from here
    return roster


@settings(max_examples=400, deadline=None)
@given(st.lists(operations, max_size=25))
def test_incremental_order_matches_a_full_sort(ops: list[tuple[Any, ...]]) -> None:
    roster = Roster()
    for op in ops:
        roster = apply(roster, op)
        uncached = Roster(roster.contacts, roster.presences, roster.cards)
        assert uncached.online == sum(1 for k in full_sort(roster) if k[0] != RANK[Show.OFFLINE])
        assert uncached._order is None  # counting online contacts never sorts
        assert roster.order() == full_sort(roster)
        for i, key in enumerate(roster.order()):
            assert roster.index(key[2]) == i
        assert roster.online == sum(1 for k in roster.order() if k[0] != RANK[Show.OFFLINE])


# --- 5,000 contacts ----------------------------------------------------------------------------------


def test_presence_flood_on_5000_contacts_is_patched_not_resorted() -> None:
    roster = big_roster()
    roster.order()
    jids = list(roster.contacts)
    start = time.perf_counter()
    for i in range(200):  # 200 coalesced presence pushes of 10 contacts each
        batch = [(jids[(i * 37 + k) % 5000], Presence(list(Show)[(i + k) % 6])) for k in range(10)]
        roster = roster.with_presences(batch)
        assert roster._order is not None  # carried over: drawing never sorts
        roster.index(jids[i])
    per_update = (time.perf_counter() - start) / 200
    assert roster.order() == full_sort(roster)
    assert per_update < 0.005, f"{per_update * 1e3:.2f} ms per presence push"


def test_a_big_batch_falls_back_to_a_lazy_sort() -> None:
    roster = big_roster()
    roster.order()
    batch = [(jid, Presence(Show.OFFLINE)) for jid in list(roster.contacts)[: INCREMENTAL_MAX + 1]]
    new = roster.with_presences(batch)
    assert new._order is None
    start = time.perf_counter()
    assert new.order() == full_sort(new)
    assert time.perf_counter() - start < 0.2


@pytest.mark.parametrize("n", [0, 1, 5000])
def test_index_and_window_on_any_size(n: int) -> None:
    roster = big_roster(n) if n else Roster()
    assert len(roster.window(0, 5)) == min(5, n)
    if n:
        assert roster.index(roster.at(n - 1)) == n - 1
