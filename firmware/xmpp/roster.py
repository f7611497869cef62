"""The roster (RFC 6121) and the contacts' presence, turned into the phone's events.

A login brings the whole roster in one IQ and then one presence per online resource of every
contact, thousands at once on a big roster. Presence is therefore coalesced: updates are kept by
contact and posted as one PresencesChanged per FLUSH_S (or every BATCH_MAX contacts), and only
when what the phone shows (the best resource's show and status) actually changed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from firmware.events import Event, PresencesChanged
from firmware.xmpp.cache import VCardCache
from firmware.xmpp.model import OFFLINE, Contact, Presence, Show
from firmware.xmpp.text import clean_text

log = logging.getLogger(__name__)

MAX_CONTACTS = 10_000
MAX_GROUPS = 8
MAX_GROUP_NAME = 40
MAX_NAME = 80
MAX_STATUS = 140
MAX_RESOURCES = 16  # per contact: a contact with more online clients than this is not a person
FLUSH_S = 0.05
BATCH_MAX = 500
SUBSCRIPTIONS = frozenset({"none", "to", "from", "both"})
_SHOWS = {"chat": Show.CHAT, "away": Show.AWAY, "xa": Show.XA, "dnd": Show.DND}
_RANK = {show: rank for rank, show in enumerate(Show)}


@dataclass(frozen=True, slots=True)
class Item:
    """What the server's roster says about one contact."""

    name: str = ""
    subscription: str = "none"
    groups: tuple[str, ...] = ()

    @staticmethod
    def parse(raw: Mapping[str, object]) -> Item:
        name, _ = clean_text(" ".join(str(raw.get("name") or "").split()), MAX_NAME)
        sub = str(raw.get("subscription") or "none")
        groups_raw = raw.get("groups")
        listed = (
            list(groups_raw)[:MAX_GROUPS] if isinstance(groups_raw, list | tuple | set | frozenset) else []
        )
        groups = dict.fromkeys(clean_text(" ".join(str(g).split()), MAX_GROUP_NAME)[0] for g in listed)
        return Item(name, sub if sub in SUBSCRIPTIONS else "none", tuple(g for g in groups if g))


class Roster:
    """Roster items by bare JID plus what the vCard cache knows: builds the Contact values."""

    def __init__(self, cache: VCardCache) -> None:
        self._cache = cache
        self.items: dict[str, Item] = {}
        self.dropped = 0

    def __contains__(self, jid: str) -> bool:
        return jid in self.items

    def __len__(self) -> int:
        return len(self.items)

    def contact(self, jid: str) -> Contact:
        item = self.items.get(jid, Item())
        cached = self._cache.get(jid)
        tels = cached.card.tels if cached else ()
        name = item.name or (cached.card.full_name if cached else "")
        return Contact(jid, name, item.subscription, item.groups, tels)

    def load(self, items: Mapping[str, Item]) -> tuple[Contact, ...]:
        """The full roster from the server replaces ours."""
        self.items = {}
        for jid, item in items.items():
            if len(self.items) >= MAX_CONTACTS:
                self.dropped = len(items) - MAX_CONTACTS
                log.warning("roster: %d contacts over the %d limit ignored", self.dropped, MAX_CONTACTS)
                break
            self.items[jid] = item
        return tuple(self.contact(jid) for jid in self.items)

    def push(self, items: Mapping[str, Item | None]) -> tuple[tuple[Contact, ...], tuple[str, ...]]:
        """A roster push: None means removed. Returns (changed contacts, removed JIDs)."""
        changed: list[Contact] = []
        removed: list[str] = []
        for jid, item in items.items():
            if item is None:
                if self.items.pop(jid, None) is not None:
                    removed.append(jid)
            elif jid in self.items or len(self.items) < MAX_CONTACTS:
                if self.items.get(jid) != item:
                    self.items[jid] = item
                    changed.append(self.contact(jid))
            else:
                self.dropped += 1
                log.warning("roster push for %s ignored: roster is at its %d limit", jid, MAX_CONTACTS)
        return tuple(changed), tuple(removed)

    def can_see_card(self, jid: str) -> bool:
        """Subscribed to the contact's presence: their PEP vCard (access model presence) is ours to read."""
        item = self.items.get(jid)
        return item is not None and item.subscription in ("to", "both")


def parse_presence(ptype: str, status: str) -> Presence:
    """Stanza type ('available', 'away'..., 'unavailable') + status -> the model's Presence."""
    if ptype == "unavailable":
        return OFFLINE
    show = _SHOWS.get(ptype, Show.AVAILABLE)
    text, _cut = clean_text(" ".join(status.split()), MAX_STATUS)
    return Presence(show, text)


class Presences:
    """Per-contact, per-resource presence; posts coalesced PresencesChanged batches."""

    def __init__(
        self,
        post: Callable[[Event], None],
        *,
        flush_s: float = FLUSH_S,
        batch_max: int = BATCH_MAX,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._post = post
        self._flush_s, self._batch_max = flush_s, batch_max
        self._on_batch = on_batch
        self._resources: dict[str, dict[str, tuple[int, Presence]]] = {}
        self._shown: dict[str, Presence] = {}  # what the phone was last told
        self._pending: dict[str, Presence] = {}
        self._timer: asyncio.TimerHandle | None = None

    def shown(self, jid: str) -> Presence:
        return self._shown.get(jid, OFFLINE)

    def update(self, jid: str, resource: str, presence: Presence, priority: int = 0) -> None:
        resources = self._resources.setdefault(jid, {})
        if presence.show is Show.OFFLINE:
            resources.pop(resource, None)
        elif resource in resources or len(resources) < MAX_RESOURCES:
            resources[resource] = (priority, presence)
        if not resources:
            del self._resources[jid]
        self._changed(jid)

    def _best(self, jid: str) -> Presence:
        resources = self._resources.get(jid)
        if not resources:
            return OFFLINE
        _prio, best = max(resources.values(), key=lambda pp: (pp[0], -_RANK[pp[1].show]))
        return best

    def _changed(self, jid: str) -> None:
        best = self._best(jid)
        if best == self._shown.get(jid, OFFLINE):
            self._pending.pop(jid, None)  # back to what the phone shows: nothing to tell
            return
        self._pending[jid] = best
        if len(self._pending) >= self._batch_max:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._flush_s, self.flush)

    def forget(self, jids: Iterable[str]) -> None:
        """Contacts removed from the roster: offline, and no more state kept for them."""
        for jid in jids:  # RosterChanged(removed=...) tells the phone; no presence update needed
            self._resources.pop(jid, None)
            self._pending.pop(jid, None)
            self._shown.pop(jid, None)

    def all_offline(self) -> None:
        """The session ended: nobody's presence is known any more."""
        self._resources.clear()
        for jid in list(self._shown):
            self._changed(jid)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        updates = tuple(self._pending.items())
        self._pending = {}
        for jid, presence in updates:
            if presence.show is Show.OFFLINE:
                self._shown.pop(jid, None)
            else:
                self._shown[jid] = presence
        self._post(PresencesChanged(updates))
        if self._on_batch is not None:
            self._on_batch(len(updates))

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pending.clear()
