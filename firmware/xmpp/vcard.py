"""vCards of contacts: XEP-0292 (vCard4 in XML, preferred) and XEP-0054 (vcard-temp, fallback).

Only what the phone uses is kept: the full name and every "tel" (SIP URIs, tel: URIs, plain
numbers) with its TYPE values, `video` included (RFC 7081 section 3.3). XEP-0054 as served by
Prosody's vcard_legacy loses types such as video, which is why vCard4 is asked first.

The input comes from contacts and is bounded here: at most MAX_TELS tels and MAX_KINDS types per
tel are kept, names are cut to MAX_NAME characters, control characters are removed; a card that
is not a vCard at all gives an empty one. What was dropped is counted so the engine can log it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from firmware.xmpp.model import Tel, VCard
from firmware.xmpp.tel import tel_key, tel_uri
from firmware.xmpp.text import clean_text

log = logging.getLogger(__name__)

VCARD4_NS = "urn:ietf:params:xml:ns:vcard-4.0"
VCARD_TEMP_NS = "vcard-temp"
MAX_TELS = 32
MAX_KINDS = 8
MAX_NAME = 80
MAX_SCANNED = 2000  # children looked at: a 256 KiB stanza cannot make us walk more than this
_KIND = re.compile(r"[a-z0-9][a-z0-9-]{0,19}")
# XEP-0054 TEL flags (empty elements) that are TYPE values in vCard4 terms.
_TEMP_FLAGS = frozenset(
    {"home", "work", "voice", "fax", "pager", "msg", "cell", "video", "bbs", "modem", "isdn", "pcs", "pref"}
)


@dataclass(frozen=True, slots=True)
class Parsed:
    card: VCard
    dropped: int = 0  # tels beyond MAX_TELS or not usable as an address


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _text(el: ET.Element | None) -> str:
    return "".join(el.itertext()) if el is not None else ""


def _name(raw: str) -> str:
    name, _cut = clean_text(" ".join(raw.split()), MAX_NAME)
    return name


def _kinds(values: list[str]) -> frozenset[str]:
    kinds = []
    for value in values:
        kind = value.strip().lower()
        if _KIND.fullmatch(kind) and kind not in kinds:
            kinds.append(kind)
        if len(kinds) == MAX_KINDS:
            break
    return frozenset(kinds)


class _Tels:
    """Collects tels: deduplicated by match key (kinds merged), bounded, unusable ones counted."""

    def __init__(self, default_domain: str | None) -> None:
        self._domain = default_domain
        self._by_key: dict[str, Tel] = {}
        self.dropped = 0

    def add(self, value: str, kinds: frozenset[str]) -> None:
        uri = tel_uri(value)
        key = tel_key(uri, self._domain) if uri else ""
        if not uri or not key:
            self.dropped += 1
            return
        old = self._by_key.get(key)
        if old is not None:
            merged = frozenset(sorted(old.kinds | kinds)[:MAX_KINDS])
            self._by_key[key] = Tel(old.uri, key, merged)
        elif len(self._by_key) >= MAX_TELS:
            self.dropped += 1
        else:
            self._by_key[key] = Tel(uri, key, kinds)

    def result(self) -> tuple[Tel, ...]:
        return tuple(self._by_key.values())


def parse_vcard4(vcard: ET.Element, jid: str, default_domain: str | None = None) -> Parsed:
    """A `<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'>` element (XEP-0292 / RFC 6351)."""
    full_name = ""
    tels = _Tels(default_domain)
    for index, child in enumerate(vcard):
        if index >= MAX_SCANNED:
            tels.dropped += len(vcard) - index
            break
        if child.tag == _q(VCARD4_NS, "fn") and not full_name:
            full_name = _name(_text(child.find(_q(VCARD4_NS, "text"))))
        elif child.tag == _q(VCARD4_NS, "tel"):
            value = child.find(_q(VCARD4_NS, "uri"))
            if value is None:
                value = child.find(_q(VCARD4_NS, "text"))
            types = child.findall(
                f"{_q(VCARD4_NS, 'parameters')}/{_q(VCARD4_NS, 'type')}/{_q(VCARD4_NS, 'text')}"
            )
            tels.add(_text(value), _kinds([_text(t) for t in types[: MAX_KINDS * 2]]))
    return Parsed(VCard(jid, full_name, tels.result()), tels.dropped)


def parse_vcard_temp(vcard: ET.Element, jid: str, default_domain: str | None = None) -> Parsed:
    """A `<vCard xmlns='vcard-temp'>` element (XEP-0054)."""
    full_name = _name(_text(vcard.find(_q(VCARD_TEMP_NS, "FN"))))
    if not full_name:
        n = vcard.find(_q(VCARD_TEMP_NS, "N"))
        if n is not None:
            parts = [_text(n.find(_q(VCARD_TEMP_NS, p))) for p in ("GIVEN", "MIDDLE", "FAMILY")]
            full_name = _name(" ".join(p for p in parts if p.strip()))
    tels = _Tels(default_domain)
    for index, child in enumerate(vcard):
        if index >= MAX_SCANNED:
            tels.dropped += len(vcard) - index
            break
        if child.tag != _q(VCARD_TEMP_NS, "TEL"):
            continue
        flags = [
            sub.tag.rpartition("}")[2].lower()
            for sub in child
            if sub.tag.rpartition("}")[2].lower() in _TEMP_FLAGS
        ]
        tels.add(_text(child.find(_q(VCARD_TEMP_NS, "NUMBER"))), _kinds(flags))
    return Parsed(VCard(jid, full_name, tels.result()), tels.dropped)


def parse_any(element: ET.Element, jid: str, default_domain: str | None = None) -> Parsed | None:
    """Either format, by its element name; None when the element is neither."""
    if element.tag == _q(VCARD4_NS, "vcard"):
        return parse_vcard4(element, jid, default_domain)
    if element.tag == _q(VCARD_TEMP_NS, "vCard"):
        return parse_vcard_temp(element, jid, default_domain)
    return None


def parse_vcard_xml(data: str | bytes, jid: str, default_domain: str | None = None) -> Parsed | None:
    """A vCard serialised as XML (files, tools, tests). Broken XML gives None and a log line.

    Python's expat refuses external entities and, since expat 2.4, entity-expansion bombs.
    """
    if len(data) > 512 * 1024:
        log.warning("vCard of %s ignored: %d bytes of XML is more than a vCard", jid, len(data))
        return None
    try:
        element = ET.fromstring(data)  # noqa: S314 - bounded input, expat limits expansion
    except ET.ParseError as err:
        log.warning("vCard of %s ignored: not well-formed XML (%s)", jid, err)
        return None
    parsed = parse_any(element, jid, default_domain)
    if parsed is None:
        log.warning("vCard of %s ignored: <%s> is not a vCard", jid, element.tag)
    return parsed


def card_hash(card: VCard) -> str:
    """A stable digest of what the phone uses of a card: unchanged hash, nothing to tell the phone."""
    canonical = json.dumps(
        [card.full_name, sorted([t.uri, sorted(t.kinds)] for t in card.tels)],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
