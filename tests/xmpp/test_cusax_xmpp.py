"""The XMPP side of RFC 7081: reachability addresses read from presence (C12), a room's audio/video
URI read from its disco#info and occupants followed (section 4), the refused engine (section 8)."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

from firmware.events import ChatConnectionChanged, Event, RoomJoined
from firmware.xmpp import features
from firmware.xmpp.conference import MAX_REACH, Occupants, av_uri, reach_addresses
from firmware.xmpp.model import ChatState, Room, Show, Tel
from firmware.xmpp.refused import RefusedChat

REACH = "urn:xmpp:reach:0"
DATA = "jabber:x:data"


def presence(*uris: str) -> ET.Element:
    pres = ET.Element("{jabber:client}presence")
    reach = ET.SubElement(pres, f"{{{REACH}}}reach")
    for uri in uris:
        ET.SubElement(reach, f"{{{REACH}}}addr", {"uri": uri})
    return pres


def test_reachability_addresses_become_tels_with_match_keys() -> None:
    tels = reach_addresses(
        presence("sip:1002@lab.test", "tel:+49 30 123", "mailto:x@y", "sip:1002@lab.test"), "lab.test"
    )
    assert tels == (Tel("sip:1002@lab.test", "tel:1002"), Tel("tel:+4930123", "tel:+4930123"))
    assert reach_addresses(ET.Element("{jabber:client}presence"), None) == ()
    many = reach_addresses(presence(*(f"sip:u{i}@x.y" for i in range(1000))), None)
    assert len(many) == MAX_REACH


def disco(*fields: tuple[str, str], form_type: str = "http://jabber.org/protocol/muc#roominfo") -> ET.Element:
    query = ET.Element("{http://jabber.org/protocol/disco#info}query")
    form = ET.SubElement(query, f"{{{DATA}}}x", {"type": "result"})
    for var, value in (("FORM_TYPE", form_type), *fields):
        field = ET.SubElement(form, f"{{{DATA}}}field", {"var": var})
        ET.SubElement(field, f"{{{DATA}}}value").text = value
    return query


def test_a_rooms_audio_video_uri_is_read_from_its_roominfo_form() -> None:
    assert av_uri(disco(("muc#roominfo_audio_video_uri", "sip:conf@lab.test"))) == "sip:conf@lab.test"
    assert av_uri(disco(("muc#roominfo_audio-video-uri", " SIP:conf@Lab.Test "))) == "sip:conf@lab.test"
    assert av_uri(disco(("muc#roominfo_audio_video_uri", "http://evil"))) == ""
    assert av_uri(disco(("muc#roominfo_audio_video_uri", "sip:" + "x" * 1000 + "@y"))) == ""
    assert av_uri(disco(("muc#roominfo_audio_video_uri", "sip:conf@lab.test"), form_type="urn:other")) == ""
    assert av_uri(disco(("muc#roominfo_occupants", "3"))) == ""
    assert av_uri(None) == ""


def test_occupants_are_followed_and_those_on_the_phone_marked() -> None:
    posted: list[Event] = []
    rooms = Occupants(posted.append)
    rooms.on_presence("conf@x", "bob", True, "")  # before the join: ignored
    assert posted == []
    rooms.joined(Room("conf@x", "me", "conf", ("bob",)))
    rooms.linked("conf@x", "sip:conf@x")
    rooms.on_presence("conf@x", "carol", True, "On the phone")
    rooms.on_presence("conf@x", "me", True, "On the phone")  # ourselves: not an occupant
    rooms.on_presence("conf@x", "bob", False, "")
    rooms.on_presence("conf@x", "carol", True, "On the phone")  # no change: nothing posted
    rooms_posted = [e.room for e in posted if isinstance(e, RoomJoined)]
    assert len(rooms_posted) == 4
    assert rooms_posted[-1] == Room("conf@x", "me", "conf", ("carol",), "sip:conf@x", ("carol",))


def test_room_presence_is_sent_to_the_occupant_jid() -> None:
    sent: list[dict[str, object]] = []

    class Client:
        def send_presence(self, **kwargs: object) -> None:
            sent.append(kwargs)

    features.send_room_presence(Client(), "conf@x/me", Show.AWAY, "On the phone")
    features.send_room_presence(Client(), "conf@x/me", Show.OFFLINE, "")
    assert sent == [{"pto": "conf@x/me", "pshow": "away", "pstatus": "On the phone"}]


def test_the_refused_engine_says_why_and_does_nothing() -> None:
    posted: list[Event] = []
    engine = RefusedChat(posted.append, "refused: plaintext")
    engine.start()
    assert posted == [ChatConnectionChanged(ChatState.FAILED, "refused: plaintext")]
    assert engine.send_chat("a@b", "hi") is False
    engine.set_presence(Show.AWAY)
    engine.join_room("r@x")
    asyncio.run(engine.stop())
