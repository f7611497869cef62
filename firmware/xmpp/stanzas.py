"""Reading the parts of stanzas the engine needs, straight from the XML elements.

slixmpp's stanza objects are convenient but slow on big inputs (a 5,000-item roster through
`iq['roster']['items']` costs a noticeable fraction of a second on the phone's only loop); the
element tree is already parsed, so these helpers walk it directly. Pure functions: unit-tested.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from firmware.xmpp.roster import MAX_CONTACTS, Item

ROSTER_NS = "jabber:iq:roster"
PUBSUB_NS = "http://jabber.org/protocol/pubsub"
PUBSUB_EVENT_NS = "http://jabber.org/protocol/pubsub#event"
VCARD4_NS = "urn:ietf:params:xml:ns:vcard-4.0"
VCARD_TEMP_NS = "vcard-temp"
VCARD_UPDATE_NS = "vcard-temp:x:update"
VCARD4_NODE = "urn:xmpp:vcard4"
MAX_PHOTO_HASH = 128

BareJid = Callable[[str], str | None]  # normalises a JID to its bare form, None when invalid


def roster_items(query: ET.Element | None, bare: BareJid) -> tuple[dict[str, Item | None], int]:
    """<query xmlns='jabber:iq:roster'> -> ({bare JID: Item, or None when removed}, invalid count)."""
    items: dict[str, Item | None] = {}
    invalid = 0
    if query is None:
        return items, invalid
    for index, el in enumerate(query.iterfind(f"{{{ROSTER_NS}}}item")):
        if index >= MAX_CONTACTS * 2:
            invalid += 1
            continue
        jid = bare(el.get("jid", ""))
        if jid is None:
            invalid += 1
            continue
        sub = el.get("subscription", "none")
        if sub == "remove":
            items[jid] = None
            continue
        groups = [g.text or "" for g in el.iterfind(f"{{{ROSTER_NS}}}group")]
        items[jid] = Item.parse({"name": el.get("name", ""), "subscription": sub, "groups": groups})
    return items, invalid


def pep_vcards(message: ET.Element) -> list[tuple[str, ET.Element | None, bool]]:
    """A PEP notification message -> [(item id, vCard4 element or None, removed)] for the
    `urn:xmpp:vcard4` node. `removed`: retracted, deleted or purged. An item without a vCard
    payload (a node configured without payloads) gives (id, None, False): fetch it."""
    found: list[tuple[str, ET.Element | None, bool]] = []
    event = message.find(f"{{{PUBSUB_EVENT_NS}}}event")
    if event is None:
        return found
    for child in event:
        if child.get("node") != VCARD4_NODE:
            continue
        tag = child.tag.rpartition("}")[2]
        if tag in ("delete", "purge"):
            found.append(("", None, True))
        elif tag == "items":
            for item in child:
                if item.tag == f"{{{PUBSUB_EVENT_NS}}}retract":
                    found.append((item.get("id", ""), None, True))
                elif item.tag == f"{{{PUBSUB_EVENT_NS}}}item":
                    found.append((item.get("id", ""), item.find(f"{{{VCARD4_NS}}}vcard"), False))
    return found


def pubsub_vcard(result: ET.Element) -> ET.Element | None:
    """The vCard4 in the answer to a PEP items request, if any."""
    return result.find(f"{{{PUBSUB_NS}}}pubsub/{{{PUBSUB_NS}}}items/{{{PUBSUB_NS}}}item/{{{VCARD4_NS}}}vcard")


def vcard_temp(result: ET.Element) -> ET.Element | None:
    return result.find(f"{{{VCARD_TEMP_NS}}}vCard")


def photo_hash(presence: ET.Element) -> str | None:
    """XEP-0153 `<x xmlns='vcard-temp:x:update'><photo>HASH</photo></x>`; None when absent."""
    photo = presence.find(f"{{{VCARD_UPDATE_NS}}}x/{{{VCARD_UPDATE_NS}}}photo")
    if photo is None:
        return None
    text = (photo.text or "").strip()
    return text if len(text) <= MAX_PHOTO_HASH else None
