"""Contacts' vCards: cached, refreshed on change, fetched with bounded concurrency and rate.

Sources, cheapest first:
1. the cache (firmware/xmpp/cache.py): a restart fetches nothing that is still fresh;
2. PEP notifications of the `urn:xmpp:vcard4` node: the server pushes the current card of every
   contact once our presence says we want them (`+notify` in our caps) and again when it changes.
   Prosody 0.12 sends each notification twice with the same id: duplicates are dropped by id, and
   a card whose digest equals the cached one posts nothing;
3. requests: XEP-0292 (PEP items of `urn:xmpp:vcard4`) first, XEP-0054 vcard-temp when there is
   none; at most `concurrency` in flight and `rate` per second, starting `start_delay` after login
   (the notifications of step 2 arrive first and make most requests unnecessary, and a server
   answering thousands of presence probes answers the first request only ~1.5 s later anyway).
A XEP-0153 photo hash in a contact's presence that differs from the last one seen is a hint that
the card changed: it is fetched again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Protocol

from firmware.events import Event, VCardLoaded
from firmware.xmpp.cache import Source, VCardCache
from firmware.xmpp.model import VCard
from firmware.xmpp.stats import XmppStats
from firmware.xmpp.vcard import Parsed, parse_vcard4, parse_vcard_temp

log = logging.getLogger(__name__)

CONCURRENCY = 4
RATE_PER_S = 20.0
START_DELAY_S = 1.0
MAX_QUEUE = 20_000
SEEN_IDS = 512
UNAVAILABLE_PAUSE_S = 2.0


class Unavailable(Exception):
    """The request cannot be answered now (offline, timed out): the JID is tried again later."""


class CardSource(Protocol):
    """How the store asks the network (the engine's slixmpp requests; a fake in unit tests).
    Each returns the vCard element, or None when the contact has none in that format."""

    async def vcard4(self, jid: str) -> ET.Element | None: ...
    async def vcard_temp(self, jid: str) -> ET.Element | None: ...


class VCards:
    def __init__(
        self,
        cache: VCardCache,
        source: CardSource,
        post: Callable[[Event], None],
        stats: XmppStats,
        *,
        default_domain: str | None = None,
        concurrency: int = CONCURRENCY,
        rate: float = RATE_PER_S,
        start_delay: float = START_DELAY_S,
        on_card: Callable[[str], None] | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._cache, self._source, self._post, self._stats = cache, source, post, stats
        self._domain = default_domain
        self._concurrency, self._interval, self._start_delay = concurrency, 1.0 / rate, start_delay
        self._on_card = on_card
        self._wall = wall
        self._queue: OrderedDict[str, None] = OrderedDict()
        self._ready = asyncio.Event()  # queue not empty
        self._online = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._opener: asyncio.Task[None] | None = None
        self._next_slot = 0.0
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self.in_flight = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._workers = [
            loop.create_task(self._work(), name=f"vcard-fetch-{i}") for i in range(self._concurrency)
        ]

    async def stop(self) -> None:
        tasks = [*self._workers, *([self._opener] if self._opener else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers, self._opener = [], None

    def online(self, jids: Iterable[str]) -> None:
        """Logged in: queue every contact whose card is missing or stale, start fetching soon."""
        loop = asyncio.get_running_loop()
        now = self._wall()
        for jid in jids:
            cached = self._cache.get(jid)
            if cached is not None and not cached.stale(now):
                self._stats.vcard_cache_hits += 1
            else:
                self.want(jid)
        if self._opener is not None:
            self._opener.cancel()
        self._opener = loop.create_task(self._open_later(), name="vcard-open")

    async def _open_later(self) -> None:
        await asyncio.sleep(self._start_delay)
        self._online.set()

    def offline(self) -> None:
        self._online.clear()
        if self._opener is not None:
            self._opener.cancel()
            self._opener = None

    def want(self, jid: str) -> None:
        if jid in self._queue:
            return
        if len(self._queue) >= MAX_QUEUE:
            log.warning("vCard queue full (%d): %s not fetched", MAX_QUEUE, jid)
            return
        self._queue[jid] = None
        self._ready.set()

    def forget(self, jids: Iterable[str]) -> None:
        for jid in jids:
            self._queue.pop(jid, None)

    @property
    def queued(self) -> int:
        return len(self._queue)

    # ------------------------------------------------------------------ notifications

    def on_pep(self, jid: str, item: ET.Element | None, notification_id: str) -> None:
        """A PEP notification for the vcard4 node: the item's vcard, or None when retracted/deleted."""
        self._stats.pep_notifications += 1
        if notification_id:
            key = (jid, notification_id)
            if key in self._seen:
                self._stats.pep_duplicates += 1
                return
            self._seen[key] = None
            if len(self._seen) > SEEN_IDS:
                self._seen.popitem(last=False)
        self._queue.pop(jid, None)  # what a request would have brought
        if item is None:
            self.apply(jid, Parsed(VCard(jid)), "none")
        else:
            self.apply(jid, parse_vcard4(item, jid, self._domain), "vcard4")

    def on_photo(self, jid: str, photo: str) -> None:
        """XEP-0153: a presence carried the hash of the contact's avatar."""
        cached = self._cache.get(jid)
        if cached is None:
            return  # the card is queued anyway
        if cached.photo and cached.photo != photo:
            log.info("vCard of %s: photo hash changed, fetching the card again", jid)
            self.want(jid)
        self._cache.set_photo(jid, photo)

    def apply(self, jid: str, parsed: Parsed, source: Source) -> None:
        if parsed.dropped:
            self._stats.tels_dropped += parsed.dropped
            log.warning(
                "vCard of %s: %d tel entries dropped (unusable or over the limit)", jid, parsed.dropped
            )
        old = self._cache.get(jid)
        entry = self._cache.put(jid, parsed.card, source)
        if old is not None and old.hash == entry.hash:
            self._stats.pep_unchanged += 1
            return
        if old is None and source == "none":
            return  # no card before, none now: nothing for the phone
        self._stats.vcard_events += 1
        self._post(VCardLoaded(parsed.card))
        if self._on_card is not None:
            self._on_card(jid)

    # ------------------------------------------------------------------ requests

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._online.wait()
            if not self._queue:
                self._ready.clear()
                await self._ready.wait()
                continue
            jid, _ = self._queue.popitem(last=False)
            wait = self._next_slot - loop.time()
            self._next_slot = max(self._next_slot, loop.time()) + self._interval
            if wait > 0:
                await asyncio.sleep(wait)
            self.in_flight += 1
            try:
                await self._fetch(jid)
            except Unavailable as err:
                log.info("vCard of %s not fetched now (%s); queued again", jid, err)
                self.want(jid)
                await asyncio.sleep(UNAVAILABLE_PAUSE_S)  # offline() closes the gate if the link is gone
            except Exception:  # a bug must not kill the worker: the other cards still come
                log.exception("vCard of %s: fetch failed", jid)
            finally:
                self.in_flight -= 1

    async def _fetch(self, jid: str) -> None:
        self._stats.vcard4_requests += 1
        element = await self._source.vcard4(jid)
        if element is not None:
            self.apply(jid, parse_vcard4(element, jid, self._domain), "vcard4")
            return
        self._stats.vcard_temp_requests += 1
        element = await self._source.vcard_temp(jid)
        if element is not None and len(element):
            self.apply(jid, parse_vcard_temp(element, jid, self._domain), "vcard-temp")
        else:
            self.apply(jid, Parsed(VCard(jid)), "none")
