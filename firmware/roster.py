"""The XMPP roster as an immutable value that stays fast with thousands of contacts.

Contacts, presences and vCards are `FrozenMap`s updated copy-on-write (a 5,000-entry dict copy
is ~15 us). The display order -- online first by `Show` order (chat, available, away, xa, dnd),
then offline, each by label case-insensitively, JID last as the tie-break -- is a sorted list of
keys computed lazily once per roster value and then *carried over* to the next value: a
presence push or a roster push of up to INCREMENTAL_MAX contacts removes and re-inserts just
those keys (bisect, ~15 us each with 5,000 contacts) instead of sorting again (~4 ms). So
drawing the roster never sorts: a frame costs O(log n) to find the cursor plus the visible rows.

Only online presences are stored (absent means offline): a roster of 5,000 mostly-offline
contacts costs nothing for them, and losing the connection is one empty map.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from firmware.frozen import FrozenMap
from firmware.xmpp.model import OFFLINE, Contact, Presence, Show, VCard

MAX_CONTACTS = 10_000  # a hostile or broken server cannot grow the state beyond this
INCREMENTAL_MAX = 64  # changed contacts up to which the sorted order is patched rather than rebuilt
LABEL_KEY_CHARS = 48  # how much of a label takes part in sorting (bounds the work per contact)

SortKey = tuple[int, str, str]  # (show rank, folded label, jid)
RANK = {show: i for i, show in enumerate(Show)}
_OFFLINE_RANK = RANK[Show.OFFLINE]


def _empty_contacts() -> FrozenMap[str, Contact]:
    return FrozenMap()


def _empty_presences() -> FrozenMap[str, Presence]:
    return FrozenMap()


def _empty_cards() -> FrozenMap[str, VCard]:
    return FrozenMap()


@dataclass(frozen=True, slots=True)
class Roster:
    contacts: FrozenMap[str, Contact] = field(default_factory=_empty_contacts)
    presences: FrozenMap[str, Presence] = field(default_factory=_empty_presences)  # online only
    cards: FrozenMap[str, VCard] = field(default_factory=_empty_cards)
    # Cache of the display order; not part of the value (compare/hash/repr ignore it).
    _order: list[SortKey] | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    # --- reading ------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.contacts)

    def __contains__(self, jid: object) -> bool:
        return jid in self.contacts

    def label(self, jid: str) -> str:
        """The roster name, else the vCard's full name, else the JID."""
        contact = self.contacts.get(jid)
        if contact is not None and contact.name:
            return contact.name
        card = self.cards.get(jid)
        if card is not None and card.full_name:
            return card.full_name
        return jid

    def contact(self, jid: str) -> Contact | None:
        """The roster entry with what its vCard adds (name if the roster has none; the card's tels)."""
        contact = self.contacts.get(jid)
        if contact is None:
            return None
        card = self.cards.get(jid)
        if card is None:
            return contact
        return replace(contact, name=self.label(jid), tels=card.tels or contact.tels)

    def presence(self, jid: str) -> Presence:
        return self.presences.get(jid, OFFLINE)

    def sort_key(self, jid: str) -> SortKey:
        return (RANK[self.presence(jid).show], self.label(jid)[:LABEL_KEY_CHARS].casefold(), jid)

    def order(self) -> list[SortKey]:
        """The display order (cached; callers must not modify the list)."""
        order = self._order
        if order is None:
            order = sorted(self.sort_key(jid) for jid in self.contacts)
            object.__setattr__(self, "_order", order)
        return order

    def at(self, index: int) -> str:
        return self.order()[index][2]

    def window(self, start: int, count: int) -> list[str]:
        return [key[2] for key in self.order()[max(0, start) : max(0, start) + count]]

    def index(self, jid: str) -> int | None:
        """Where `jid` is in the display order, in O(log n); None if it is not in the roster."""
        if jid not in self.contacts:
            return None
        order = self.order()
        key = self.sort_key(jid)
        i = bisect_left(order, key)
        return i if i < len(order) and order[i] == key else None

    @property
    def online(self) -> int:
        """How many contacts are online: O(log n) when the order is known, else a count (never a sort)."""
        if self._order is not None:
            return bisect_left(self._order, (_OFFLINE_RANK, "", ""))
        return sum(1 for jid in self.presences if jid in self.contacts)

    # --- copy-on-write updates --------------------------------------------------------------

    def loaded(self, contacts: Iterable[Contact]) -> Roster:
        """The whole roster replaced (after login). Presences and cards are kept."""
        data: dict[str, Contact] = {}
        for contact in contacts:
            if len(data) >= MAX_CONTACTS and contact.jid not in data:
                continue
            data[contact.jid] = contact
        return Roster(FrozenMap.of_dict(data), self.presences, self.cards)

    def changed(self, changed: Iterable[Contact], removed: Iterable[str]) -> Roster:
        data = self.contacts.copy_dict()
        touched: set[str] = set()
        for jid in removed:
            if data.pop(jid, None) is not None:
                touched.add(jid)
        for contact in changed:
            if len(data) >= MAX_CONTACTS and contact.jid not in data:
                continue
            data[contact.jid] = contact
            touched.add(contact.jid)
        return self._patched(Roster(FrozenMap.of_dict(data), self.presences, self.cards), touched)

    def with_presences(self, updates: Iterable[tuple[str, Presence]]) -> Roster:
        data = self.presences.copy_dict()
        moved: set[str] = set()
        for jid, presence in updates:
            old = data.get(jid, OFFLINE)
            if presence.show is Show.OFFLINE:
                data.pop(jid, None)
            elif jid in self.contacts or jid in data or len(data) < MAX_CONTACTS:
                data[jid] = presence
            else:
                continue
            if old.show is not presence.show and jid in self.contacts:
                moved.add(jid)
        return self._patched(Roster(self.contacts, FrozenMap.of_dict(data), self.cards), moved)

    def with_card(self, card: VCard) -> Roster:
        if card.jid not in self.cards and card.jid not in self.contacts and len(self.cards) >= MAX_CONTACTS:
            return self
        new = Roster(self.contacts, self.presences, self.cards.set(card.jid, card))
        return self._patched(new, {card.jid} if card.jid in self.contacts else set())

    def all_offline(self) -> Roster:
        """The connection is gone: nobody's presence is known any more."""
        if not self.presences:
            return self
        return Roster(self.contacts, FrozenMap(), self.cards)

    def _patched(self, new: Roster, touched: set[str]) -> Roster:
        """`new` with this roster's order carried over, patched for the `touched` JIDs."""
        old_order = self._order
        if old_order is None or len(touched) > INCREMENTAL_MAX:
            return new  # sorted lazily, when someone looks
        if not touched:
            object.__setattr__(new, "_order", old_order)  # never modified in place: share it
            return new
        order = old_order.copy()
        for jid in touched:
            before = self.sort_key(jid) if jid in self.contacts else None
            after = new.sort_key(jid) if jid in new.contacts else None
            if before == after:
                continue
            if before is not None:
                i = bisect_left(order, before)
                if i < len(order) and order[i] == before:
                    del order[i]
            if after is not None:
                insort(order, after)
        object.__setattr__(new, "_order", order)
        return new


EMPTY_ROSTER = Roster()
