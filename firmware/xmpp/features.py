"""What the phone tells other XMPP entities about itself: disco#info, entity caps, reachability.

Only what is real is advertised. No Jingle (`urn:xmpp:jingle:*`): RFC 7081 section 2 puts audio
and video on SIP, so an XMPP client must not offer the phone for Jingle calls. The phone's SIP
address is published as a XEP-0152 reachability address in its presence instead.

`urn:xmpp:vcard4+notify` in the caps (XEP-0115) is what makes the server's PEP service push the
contacts' vCard4 changes (XEP-0163); Prosody learns it by asking disco#info of the caps node.
"""

from __future__ import annotations

import base64
import hashlib
import xml.etree.ElementTree as ET
from typing import Any

from firmware.xmpp.model import Show

CAPS_NS = "http://jabber.org/protocol/caps"
REACH_NS = "urn:xmpp:reach:0"
VCARD4_NODE = "urn:xmpp:vcard4"
CAPS_NODE = "https://github.com/cusax-deskphone"
IDENTITY = ("client", "phone", "", "CUSAX desk phone")  # category, type, xml:lang, name

_SHOW_OUT = {Show.CHAT: "chat", Show.AWAY: "away", Show.XA: "xa", Show.DND: "dnd"}

FEATURES: tuple[str, ...] = (
    "http://jabber.org/protocol/disco#info",
    CAPS_NS,
    "urn:xmpp:ping",  # XEP-0199: we answer pings
    "urn:xmpp:carbons:2",  # XEP-0280: copies of what our other clients send and receive
    "http://jabber.org/protocol/muc",  # XEP-0045: we join rooms
    REACH_NS,  # XEP-0152: our presence carries our SIP address
    VCARD4_NODE + "+notify",  # XEP-0292 via PEP: push contacts' vCard changes to us
)


def caps_ver(identity: tuple[str, str, str, str] = IDENTITY, features: tuple[str, ...] = FEATURES) -> str:
    """XEP-0115 verification string (sha-1) of our disco#info."""
    category, itype, lang, name = identity
    text = f"{category}/{itype}/{lang}/{name}<" + "".join(f"{f}<" for f in sorted(set(features)))
    return base64.b64encode(hashlib.sha1(text.encode()).digest()).decode()  # noqa: S324 - XEP-0115 mandates sha-1


def caps_element(ver: str) -> ET.Element:
    return ET.Element(f"{{{CAPS_NS}}}c", {"hash": "sha-1", "node": CAPS_NODE, "ver": ver})


def reach_element(sip_aor: str) -> ET.Element:
    """`<reach xmlns='urn:xmpp:reach:0'><addr uri='sip:...'/></reach>` (XEP-0152)."""
    reach = ET.Element(f"{{{REACH_NS}}}reach")
    ET.SubElement(reach, f"{{{REACH_NS}}}addr", {"uri": sip_aor})
    return reach


async def advertise(xmpp: Any, ver: str) -> None:
    """Our disco#info (replacing what slixmpp's plugins added), the same for the caps node the
    server asks about when it sees our presence (XEP-0115)."""
    disco = xmpp.plugin["xep_0030"]
    for node in (None, f"{CAPS_NODE}#{ver}"):
        await disco.set_identities(node=node, identities={IDENTITY})
        await disco.set_features(node=node, features=set(FEATURES))


def send_presence(xmpp: Any, show: Show, status: str, ver: str, sip_aor: str | None) -> None:
    """Our presence with caps and our SIP address (XEP-0152); OFFLINE sends unavailable."""
    if show is Show.OFFLINE:
        xmpp.send_presence(ptype="unavailable")
        return
    pres = xmpp.make_presence(pshow=_SHOW_OUT.get(show), pstatus=status or None)
    pres.append(caps_element(ver))
    if sip_aor:
        pres.append(reach_element(sip_aor))
    pres.send()


def send_room_presence(xmpp: Any, occupant: str, show: Show, status: str) -> None:
    """Our presence in a joined room (XEP-0045 7.7: a status change is sent to our occupant JID)."""
    if show is Show.OFFLINE:
        return
    xmpp.send_presence(pto=occupant, pshow=_SHOW_OUT.get(show), pstatus=status or None)
