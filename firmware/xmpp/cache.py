"""The vCard cache: what the phone knew about its contacts' cards, kept across restarts.

A restart must not fetch every card again (a big roster would cost thousands of requests and the
server seconds of work), so each card is kept with a digest of what the phone uses of it. A PEP
notification (or a fetch) with the same digest changes nothing; a different one replaces the card.

The file is JSON, written atomically (temporary file, fsync, rename, fsync of the directory) with
mode 0600 (it holds the contacts' numbers), and bounded: at most `max_entries` cards, and a file
larger than MAX_FILE_BYTES is not read. A file that cannot be read or parsed is ignored with a log
line: the cache is a cache, the server has the truth.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from firmware.fsutil import atomic_write
from firmware.xmpp.model import Tel, VCard
from firmware.xmpp.tel import tel_key, tel_uri
from firmware.xmpp.text import clean_text
from firmware.xmpp.vcard import MAX_KINDS, MAX_NAME, MAX_TELS, card_hash

log = logging.getLogger(__name__)

CACHE_VERSION = 1
MAX_ENTRIES = 10_000
MAX_FILE_BYTES = 16 * 1024 * 1024
CARD_TTL_S = 7 * 86400.0  # a card is asked again after a week even if no notification said it changed
NONE_TTL_S = 86400.0  # "this contact has no vCard" is asked again after a day

Source = Literal["vcard4", "vcard-temp", "none"]
_SOURCES: frozenset[str] = frozenset({"vcard4", "vcard-temp", "none"})


@dataclass(frozen=True, slots=True)
class CachedCard:
    card: VCard
    hash: str
    source: Source
    fetched: float  # wall-clock seconds (time.time) of the fetch or notification
    photo: str = ""  # last XEP-0153 photo hash seen in the contact's presence ("" unknown)

    def stale(self, now: float) -> bool:
        ttl = NONE_TTL_S if self.source == "none" else CARD_TTL_S
        return not 0 <= now - self.fetched < ttl


class VCardCache:
    def __init__(
        self,
        path: Path,
        *,
        account: str,
        default_domain: str | None = None,
        max_entries: int = MAX_ENTRIES,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self._account = account
        self._domain = default_domain
        self._max = max_entries
        self._wall = wall
        self._cards: dict[str, CachedCard] = {}
        self.dirty = False

    def __len__(self) -> int:
        return len(self._cards)

    def __contains__(self, jid: str) -> bool:
        return jid in self._cards

    def get(self, jid: str) -> CachedCard | None:
        return self._cards.get(jid)

    def put(self, jid: str, card: VCard, source: Source, *, photo: str | None = None) -> CachedCard:
        old = self._cards.get(jid)
        entry = CachedCard(
            card,
            card_hash(card),
            source,
            self._wall(),
            photo if photo is not None else old.photo if old else "",
        )
        self._cards[jid] = entry
        self.dirty = True
        if len(self._cards) > self._max:
            oldest = min(self._cards, key=lambda j: self._cards[j].fetched)
            del self._cards[oldest]
        return entry

    def set_photo(self, jid: str, photo: str) -> None:
        entry = self._cards.get(jid)
        if entry is not None and entry.photo != photo:
            self._cards[jid] = CachedCard(entry.card, entry.hash, entry.source, entry.fetched, photo)
            self.dirty = True

    def retain(self, jids: Iterable[str]) -> int:
        """Forget the cards of everybody not in `jids` (contacts removed from the roster)."""
        keep = set(jids)
        gone = [jid for jid in self._cards if jid not in keep]
        for jid in gone:
            del self._cards[jid]
        if gone:
            self.dirty = True
        return len(gone)

    # ------------------------------------------------------------------ file

    def load(self) -> int:
        """Read the file; returns the number of cards loaded (0 when absent, unreadable or corrupt)."""
        self._cards.clear()
        self.dirty = False
        try:
            size = self.path.stat().st_size
            if size > MAX_FILE_BYTES:
                log.warning(
                    "vCard cache %s ignored: %d bytes is over the %d limit", self.path, size, MAX_FILE_BYTES
                )
                return 0
            doc = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return 0
        except (OSError, ValueError, RecursionError) as err:  # RecursionError: absurdly deep JSON
            log.warning(
                "vCard cache %s ignored: unreadable (%s); cards will be fetched again", self.path, err
            )
            return 0
        if (
            not isinstance(doc, dict)
            or doc.get("version") != CACHE_VERSION
            or not isinstance(doc.get("cards"), dict)
        ):
            log.warning("vCard cache %s ignored: not a version %d cache file", self.path, CACHE_VERSION)
            return 0
        if doc.get("account") != self._account:
            log.info("vCard cache %s belongs to another account; starting empty", self.path)
            return 0
        bad = 0
        for jid, raw in list(doc["cards"].items())[: self._max]:
            entry = self._decode(jid, raw)
            if entry is None:
                bad += 1
            else:
                self._cards[jid] = entry
        if bad:
            log.warning("vCard cache %s: %d malformed entries skipped", self.path, bad)
        return len(self._cards)

    def _decode(self, jid: object, raw: object) -> CachedCard | None:
        try:
            if not isinstance(jid, str) or not isinstance(raw, dict) or len(jid) > 3071:
                return None
            source, fetched, name = raw["s"], raw["t"], raw.get("fn", "")
            if source not in _SOURCES or not isinstance(fetched, int | float) or not isinstance(name, str):
                return None
            tels: list[Tel] = []
            for uri_raw, kinds_raw in raw.get("tels", [])[:MAX_TELS]:
                uri = tel_uri(uri_raw) if isinstance(uri_raw, str) else None
                key = tel_key(uri, self._domain) if uri else ""
                if not uri or not key or not isinstance(kinds_raw, list):
                    return None
                kinds = frozenset(k for k in kinds_raw[:MAX_KINDS] if isinstance(k, str) and len(k) <= 20)
                tels.append(Tel(uri, key, kinds))
            card = VCard(jid, clean_text(name, MAX_NAME)[0], tuple(tels))
            photo = raw.get("p", "")
            photo = photo if isinstance(photo, str) and len(photo) <= 128 else ""
            return CachedCard(card, card_hash(card), source, float(fetched), photo)
        except (KeyError, TypeError, ValueError):
            return None

    def save(self) -> None:
        """Write the file atomically with mode 0600, now. Errors are logged, never raised."""
        self.write(self.snapshot())

    def snapshot(self) -> bytes:
        """The file's content; cards arriving after this mark the cache dirty again."""
        self.dirty = False
        doc: dict[str, Any] = {
            "version": CACHE_VERSION,
            "account": self._account,
            "cards": {
                jid: {
                    "s": e.source,
                    "t": round(e.fetched, 3),
                    "fn": e.card.full_name,
                    "p": e.photo,
                    "tels": [[t.uri, sorted(t.kinds)] for t in e.card.tels],
                }
                for jid, e in self._cards.items()
            },
        }
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()

    def write(self, data: bytes) -> None:
        """Safe in a worker thread: touches only the file."""
        try:
            atomic_write(self.path, data)
        except OSError as err:
            log.warning("vCard cache %s not written: %s", self.path, err)
            self.dirty = True
