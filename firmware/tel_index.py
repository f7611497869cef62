"""Who has this number: vCard tels (and reachability addresses) indexed by their match key.

RFC 7081 section 3.5: an incoming SIP call is matched to the roster contact whose vCard lists the
caller. Iterating over the roster and its vCards at call time is what the RFC warns against; the
phone keeps this index instead, patched whenever a contact's tels change (RosterLoaded,
RosterChanged, VCardLoaded; PresencesChanged for XEP-0152 addresses), so matching a caller is one
dict lookup whatever the roster's size.

Keys are `firmware.xmpp.tel.tel_key` values (`tel:+4930123`, `sip:alice@example.org`); a key maps
to the JIDs that list it, in the order they were indexed (a shared office number can belong to
several contacts: a Call-Info hint then says which one). Immutable like the rest of the state:
an update copies the dict (C speed, ~40 us for 10,000 keys) and shares the untouched tuples.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from firmware.frozen import FrozenMap

MAX_JIDS_PER_KEY = 16  # a number claimed by more contacts than this is not an identity


def _empty() -> FrozenMap[str, tuple[str, ...]]:
    return FrozenMap()


@dataclass(frozen=True, slots=True)
class TelIndex:
    by_key: FrozenMap[str, tuple[str, ...]] = field(default_factory=_empty)

    def __len__(self) -> int:
        return len(self.by_key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_key)

    def get(self, key: str) -> tuple[str, ...]:
        """The JIDs whose entries have this key (empty for "" or an unknown key)."""
        if not key:
            return ()
        return self.by_key.get(key, ())

    @staticmethod
    def build(entries: Iterable[tuple[str, Iterable[str]]]) -> TelIndex:
        """From (jid, keys) pairs: a whole roster at login."""
        data: dict[str, tuple[str, ...]] = {}
        for jid, keys in entries:
            for key in dict.fromkeys(keys):
                if key:
                    _add(data, key, jid)
        return TelIndex(FrozenMap.of_dict(data))

    def patched(self, changes: Mapping[str, tuple[frozenset[str], frozenset[str]]]) -> TelIndex:
        """{jid: (keys before, keys after)} applied: one copy of the map for the whole batch."""
        if not any(before != after for before, after in changes.values()):
            return self
        data = self.by_key.copy_dict()
        for jid, (before, after) in changes.items():
            for key in before - after:
                jids = data.get(key)
                if jids is not None and jid in jids:
                    rest = tuple(j for j in jids if j != jid)
                    if rest:
                        data[key] = rest
                    else:
                        del data[key]
            for key in after - before:
                if key:
                    _add(data, key, jid)
        return TelIndex(FrozenMap.of_dict(data))


def _add(data: dict[str, tuple[str, ...]], key: str, jid: str) -> None:
    jids = data.get(key, ())
    if jid not in jids and len(jids) < MAX_JIDS_PER_KEY:
        data[key] = (*jids, jid)


EMPTY_INDEX = TelIndex()
