"""Everything about contacts and chat inside a logged-in XMPP session (the engine owns one).

The engine (firmware/xmpp/client.py) owns the connection; this object turns what arrives on it
into the phone's events: the roster and its pushes, contacts' presence (coalesced), vCards
(cached, notified, fetched), chat lines, carbons, rooms; and answers subscription requests
(accepted from roster contacts only, others logged and ignored).
"""

from __future__ import annotations

import asyncio
import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout, PresenceError
from slixmpp.jid import JID, InvalidJID

from firmware.events import Event, RosterChanged, RosterLoaded
from firmware.xmpp import conference, stanzas
from firmware.xmpp.cache import VCardCache
from firmware.xmpp.chat import Chat, delay_stamp
from firmware.xmpp.model import Room
from firmware.xmpp.roster import Presences, Roster, parse_presence
from firmware.xmpp.stats import XmppStats
from firmware.xmpp.text import Clock, DropLog, clean_text
from firmware.xmpp.transport import PacedClient
from firmware.xmpp.vcards import Unavailable, VCards

log = logging.getLogger(__name__)

IQ_TIMEOUT_S = 15.0  # a server answering thousands of presence probes answers requests late
ROOM_JOIN_TIMEOUT_S = 10.0
MAX_OCCUPANTS = 100
_PRESENCE_TYPES = frozenset({"available", "unavailable", "chat", "away", "xa", "dnd"})


def bare_jid(jid: str) -> str | None:
    """The normalised bare JID (stringprep'd, lower-case), None when it is not a JID."""
    try:
        bare = JID(jid).bare
    except InvalidJID:
        return None
    return bare or None


async def send_iq(iq: Any, timeout: float = IQ_TIMEOUT_S) -> Any:
    """Send an IQ and wait for its result (IqError on an error answer, IqTimeout without one)."""
    return await iq.send(timeout=timeout)


class CardRequests:
    """The vCard requests as VCards asks for them (firmware/xmpp/vcards.py CardSource)."""

    def __init__(self, client: Callable[[], slixmpp.ClientXMPP | None]) -> None:
        self._client = client

    async def _get(self, jid: str, payload: ET.Element) -> Any:
        xmpp = self._client()
        if xmpp is None:
            raise Unavailable("not connected")
        iq = xmpp.make_iq_get(ito=jid)
        iq.append(payload)
        try:
            return await send_iq(iq)
        except IqTimeout:
            raise Unavailable("no answer") from None
        except IqError as err:
            log.debug("vCard request to %s: %s", jid, err.condition)
            return None

    async def vcard4(self, jid: str) -> ET.Element | None:
        pubsub = ET.Element(f"{{{stanzas.PUBSUB_NS}}}pubsub")
        attrs = {"node": stanzas.VCARD4_NODE, "max_items": "1"}
        ET.SubElement(pubsub, f"{{{stanzas.PUBSUB_NS}}}items", attrs)
        result = await self._get(jid, pubsub)
        return None if result is None else stanzas.pubsub_vcard(result.xml)

    async def vcard_temp(self, jid: str) -> ET.Element | None:
        result = await self._get(jid, ET.Element(f"{{{stanzas.VCARD_TEMP_NS}}}vCard"))
        return None if result is None else stanzas.vcard_temp(result.xml)


class Session:
    def __init__(
        self,
        own_jid: str,
        post: Callable[[Event], None],
        stats: XmppStats,
        client: Callable[[], slixmpp.ClientXMPP | None],
        *,
        cache_path: Path,
        clock: Clock,
        default_domain: str | None,
        vcard_start_delay: float,
    ) -> None:
        self._own, self._post, self._stats, self._client = own_jid, post, stats, client
        self.cache = VCardCache(cache_path, account=own_jid, default_domain=default_domain)
        self.roster = Roster(self.cache)
        self.presences = Presences(post, on_batch=self._count_batch)
        self.vcards = VCards(
            self.cache, CardRequests(client), post, stats,
            default_domain=default_domain, start_delay=vcard_start_delay,
        )  # fmt: skip
        self.chat = Chat(post, stats, clock)
        self.rooms: dict[str, str] = {}  # joined room -> our nick there
        self.occupants = conference.Occupants(post)  # who is in each room, who is on the phone
        self._domain = default_domain
        self._strangers = DropLog(log, clock=clock)

    def _count_batch(self, updates: int) -> None:
        self._stats.presence_events += 1
        self._stats.presence_updates += updates

    # ------------------------------------------------------------------ set-up after login

    async def load_roster(self, xmpp: PacedClient, t0: float) -> None:
        """The whole roster (no roster versioning: nothing of it is kept across runs) -> RosterLoaded,
        then the vCards of contacts whose presence we see: cached, notified or fetched."""
        try:
            query = await xmpp.fetch_roster(send_iq)
        except (IqError, IqTimeout) as err:
            log.warning("XMPP roster not loaded: %s", err)
            return
        items, invalid = stanzas.roster_items(query, bare_jid)
        if invalid:
            log.warning("roster: %d items with an invalid JID ignored", invalid)
        contacts = self.roster.load({jid: item for jid, item in items.items() if item is not None})
        self.cache.retain(self.roster.items)
        self._stats.roster_size = len(contacts)
        self._stats.roster_events += 1
        self._post(RosterLoaded(contacts))
        self._stats.roster_s = asyncio.get_running_loop().time() - t0
        self.vcards.online(jid for jid in self.roster.items if self.roster.can_see_card(jid))

    async def join_rooms(self, xmpp: slixmpp.ClientXMPP, rooms: list[str], nick: str) -> None:
        for room in rooms:
            await self.join_room(xmpp, room, nick)

    async def join_room(self, xmpp: slixmpp.ClientXMPP, room: str, nick: str) -> None:
        """Join one room; its disco#info may name a linked SIP conference (RFC 7081 section 4)."""
        room_jid = bare_jid(room)
        if room_jid is None:
            log.warning("room %r is not a JID: not joined", room)
            return
        try:
            pres, _subject, occupants, _history = await xmpp.plugin["xep_0045"].join_muc_wait(
                JID(room_jid), nick, maxstanzas=0, timeout=ROOM_JOIN_TIMEOUT_S
            )
        except (TimeoutError, PresenceError) as err:
            log.warning("room %s not joined: %s", room_jid, getattr(err, "condition", "") or "no answer")
            return
        mine = str(pres["from"].resource)
        self.rooms[room_jid] = mine
        others = sorted({clean_text(str(p["from"].resource), 40)[0] for p in occupants} - {mine})
        self._stats.rooms_joined += 1
        name = room_jid.partition("@")[0]
        self.occupants.joined(Room(room_jid, mine, name, tuple(others[:MAX_OCCUPANTS])))
        av_uri = await conference.room_av_uri(xmpp, room_jid, ROOM_JOIN_TIMEOUT_S)
        if av_uri:
            self.occupants.linked(room_jid, av_uri)

    def on_room_presence(self, pres: Any) -> None:
        """Occupants coming, going, or saying they are on the phone (after our join)."""
        sender = pres["from"]
        available = pres["type"] not in ("unavailable", "error")
        self.occupants.on_presence(str(sender.bare), str(sender.resource), available, str(pres["status"]))

    # ------------------------------------------------------------------ incoming stanzas

    def on_roster_push(self, iq: Any) -> None:
        if iq["type"] != "set":
            return  # slixmpp checked the push comes from our own account and answers it
        items, _invalid = stanzas.roster_items(iq.xml.find(f"{{{stanzas.ROSTER_NS}}}query"), bare_jid)
        changed, removed = self.roster.push(items)
        if removed:
            self.presences.forget(removed)
            self.vcards.forget(removed)
        if changed or removed:
            self._stats.roster_events += 1
            self._post(RosterChanged(changed, removed))
        for contact in changed:
            if self.roster.can_see_card(contact.jid) and contact.jid not in self.cache:
                self.vcards.want(contact.jid)

    def on_presence(self, pres: Any) -> None:
        ptype = str(pres["type"])
        sender = pres["from"]
        if ptype not in _PRESENCE_TYPES or sender.bare not in self.roster:
            return  # subscriptions, errors, rooms, ourselves, strangers
        self._stats.presence_stanzas += 1
        try:
            priority = max(-128, min(127, int(pres["priority"] or 0)))
        except ValueError:
            priority = 0
        presence = parse_presence(ptype, str(pres["status"]))
        reach = conference.reach_addresses(pres.xml, self._domain)  # XEP-0152 (RFC 7081 C12)
        if reach and presence.show.online:
            presence = replace(presence, reach=reach)
        self.presences.update(sender.bare, str(sender.resource), presence, priority)
        photo = stanzas.photo_hash(pres.xml)
        if photo is not None:
            self.vcards.on_photo(sender.bare, photo)

    def on_subscribe(self, pres: Any) -> None:
        jid = str(pres["from"].bare)
        xmpp = self._client()
        if jid in self.roster and xmpp is not None:
            xmpp.send_presence(pto=jid, ptype="subscribed")
            self._stats.subscriptions_accepted += 1
            log.info("subscription request from contact %s accepted", jid)
        else:
            self._stats.subscriptions_ignored += 1
            self._strangers.dropped("subscription request from %s ignored: not in the roster", jid)

    def on_message(self, msg: Any) -> None:
        if msg["type"] not in ("chat", "normal"):
            return  # groupchat: on_groupchat; errors and headlines are not chat
        sender = msg["from"]
        if not sender.bare or sender.bare == self._own:
            return
        room_pm = sender.bare in self.rooms  # a private message from a room occupant
        self.chat.incoming(
            str(sender.bare), str(msg["body"]), sender=str(sender.resource) if room_pm else "",
            msg_id=str(msg["id"]), at=delay_stamp(msg.xml),
        )  # fmt: skip

    def on_groupchat(self, msg: Any) -> None:
        sender = msg["from"]
        room, nick = str(sender.bare), str(sender.resource)
        if room not in self.rooms or not nick or not msg["body"]:
            return  # subject changes, room notices
        self.chat.incoming(
            room, str(msg["body"]), groupchat=True, sender=nick, outgoing=nick == self.rooms[room],
            msg_id=str(msg["id"]), at=delay_stamp(msg.xml),
        )  # fmt: skip

    def on_carbon(self, inner: Any, *, outgoing: bool) -> None:
        """A carbon copy (XEP-0280; slixmpp checked that it comes from our own account)."""
        if inner["type"] not in ("chat", "normal") or not inner["body"]:
            return
        peer = inner["to"].bare if outgoing else inner["from"].bare
        if peer and peer != self._own:
            self.chat.incoming(str(peer), str(inner["body"]), outgoing=outgoing, msg_id=str(inner["id"]))

    def on_pep(self, msg: Any) -> None:
        jid = str(msg["from"].bare)
        if jid not in self.roster:
            return
        for item_id, vcard, removed in stanzas.pep_vcards(msg.xml):
            if vcard is None and not removed:
                self.vcards.want(jid)  # a notification without payload: ask for the card
            else:
                self.vcards.on_pep(jid, vcard, f"{msg['id']}/{item_id}")
