"""Group chats linked to SIP conferences (RFC 7081 section 4), and contacts' reachability addresses.

- A room (XEP-0045) may advertise the SIP URI of its audio/video conference in its disco#info
  `muc#roominfo` form (XEP-0128). No XEP registers the field; RFC 7081 calls it
  'audio-video-uri', so every spelling of that name is read (`muc#roominfo_audio_video_uri`,
  the one the lab's Prosody module firmware/lab/prosody_modules/mod_muc_av_uri.lua writes).
- `Occupants` follows who is in each joined room after the join (presence from the room), and
  which occupants say they are on the phone (status "On the phone", which this phone and other
  CUSAX phones send to their rooms while in a call): as far as an XMPP client can know, those are
  the participants on audio. The SIP conference itself does not tell (no RFC 4575 subscription).
- `reach_addresses`: the XEP-0152 `<reach>` element of a contact's presence (C12), as Tels with
  their match key; only hints (firmware/machine_cusax.py).

Pure parsing plus one small stateful tracker; the session (firmware/xmpp/session.py) calls them.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from firmware.cusax import ON_THE_PHONE
from firmware.events import Event, RoomJoined
from firmware.xmpp.model import Room, Tel
from firmware.xmpp.tel import tel_key, tel_uri
from firmware.xmpp.text import clean_text

log = logging.getLogger(__name__)

DISCO_INFO_NS = "http://jabber.org/protocol/disco#info"
DATA_NS = "jabber:x:data"
ROOMINFO = "http://jabber.org/protocol/muc#roominfo"
REACH_NS = "urn:xmpp:reach:0"
AV_URI_FIELDS = frozenset(
    {
        "muc#roominfo_audio_video_uri",
        "muc#roominfo_audio-video-uri",
        "muc#roominfo_avuri",
        "audio-video-uri",
        "audio_video_uri",
    }
)
MAX_URI = 256
MAX_REACH = 8  # addresses per presence
MAX_OCCUPANTS = 100
MAX_NICK = 40


def av_uri(disco_info: ET.Element | None) -> str:
    """The audio/video URI in a room's disco#info answer (`<query>`), "" when there is none."""
    if disco_info is None:
        return ""
    for form in disco_info.iterfind(f"{{{DATA_NS}}}x"):
        fields = {f.get("var", ""): f for f in form.iterfind(f"{{{DATA_NS}}}field")}
        form_type = fields.get("FORM_TYPE")
        if form_type is None or (form_type.findtext(f"{{{DATA_NS}}}value") or "").strip() != ROOMINFO:
            continue
        for var, el in fields.items():
            if var.lower() in AV_URI_FIELDS:
                value = (el.findtext(f"{{{DATA_NS}}}value") or "").strip()
                uri = tel_uri(value) if value and len(value) <= MAX_URI else None
                if uri is not None and uri.lower().startswith(("sip:", "sips:")):
                    return uri
    return ""


async def room_av_uri(xmpp: Any, room: str, timeout: float) -> str:
    """Ask a room's disco#info for its audio/video URI ("" when it has none or does not answer)."""
    from slixmpp.exceptions import IqError, IqTimeout

    iq = xmpp.make_iq_get(ito=room)
    iq.append(ET.Element(f"{{{DISCO_INFO_NS}}}query"))
    try:
        result = await iq.send(timeout=timeout)
    except (IqError, IqTimeout) as err:
        log.info("room %s: no disco#info (%s)", room, getattr(err, "condition", "") or "no answer")
        return ""
    return av_uri(result.xml.find(f"{{{DISCO_INFO_NS}}}query"))


def reach_addresses(presence: ET.Element, default_domain: str | None) -> tuple[Tel, ...]:
    """XEP-0152 `<reach xmlns='urn:xmpp:reach:0'><addr uri='sip:...'/></reach>` -> Tels (bounded)."""
    reach = presence.find(f"{{{REACH_NS}}}reach")
    if reach is None:
        return ()
    found: dict[str, Tel] = {}
    for index, addr in enumerate(reach.iterfind(f"{{{REACH_NS}}}addr")):
        if index >= MAX_REACH * 4 or len(found) >= MAX_REACH:
            break
        uri = tel_uri(addr.get("uri", ""))
        key = tel_key(uri, default_domain) if uri is not None else ""
        if uri is not None and key:
            found.setdefault(key, Tel(uri, key))
    return tuple(found.values())


def nick(text: str) -> str:
    return clean_text(text, MAX_NICK)[0]


@dataclass
class _Tracked:
    room: Room
    present: dict[str, bool] = field(default_factory=dict)  # nick -> on the phone


class Occupants:
    """Joined rooms and their occupants; posts RoomJoined with the updated Room on each change."""

    def __init__(self, post: Callable[[Event], None]) -> None:
        self._post = post
        self._rooms: dict[str, _Tracked] = {}

    def joined(self, room: Room) -> None:
        tracked = _Tracked(room, dict.fromkeys(room.occupants[:MAX_OCCUPANTS], False))
        self._rooms[room.jid] = tracked
        self._publish(tracked)

    def linked(self, room: str, uri: str) -> None:
        """The room's disco#info names its audio/video conference."""
        tracked = self._rooms.get(room)
        if tracked is not None and tracked.room.av_uri != uri:
            tracked.room = replace(tracked.room, av_uri=uri)
            self._publish(tracked)

    def left(self, room: str) -> None:
        self._rooms.pop(room, None)

    def on_presence(self, room: str, who: str, available: bool, status: str) -> None:
        tracked = self._rooms.get(room)
        if tracked is None or not who or who == tracked.room.nick:
            return
        who = nick(who)
        before = dict(tracked.present)
        if not available:
            tracked.present.pop(who, None)
        elif who in tracked.present or len(tracked.present) < MAX_OCCUPANTS:
            tracked.present[who] = status.strip() == ON_THE_PHONE
        if tracked.present != before:
            self._publish(tracked)

    def _publish(self, tracked: _Tracked) -> None:
        nicks = tuple(sorted(tracked.present))
        on_phone = tuple(n for n in nicks if tracked.present[n])
        tracked.room = replace(tracked.room, occupants=nicks, on_phone=on_phone)
        self._post(RoomJoined(tracked.room))
