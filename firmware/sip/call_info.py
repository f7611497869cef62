"""Call-Info headers (RFC 3261 section 20.9) carrying RFC 7081 hints, read from a SIP message's text.

    Call-Info: <xmpp:alice@example.org>;purpose=impp                          (RFC 6993, S6)
    Call-Info: <xmpp:room@conference.example.org?join>;purpose=grouptextchat  (section 4)

`impp` names the caller's XMPP address: only a cue, the phone confirms it against the contact's
vCard before showing the caller as that contact (firmware/machine_cusax.py). `grouptextchat`
names the group chat of a conference.

The message comes from the network: everything here is bounded (MAX_MESSAGE characters of the
head are read, MAX_VALUES values, MAX_VALUE characters each) and anything malformed (no angle
brackets, an unterminated quote, a URI that is not an xmpp: bare JID, control characters, a
JID part too long) is skipped, never raised. Pure functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

MAX_MESSAGE = 65536
MAX_VALUES = 16
MAX_VALUE = 1024
MAX_PART = 1023  # RFC 7622: localpart and domainpart are at most 1023 bytes each
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9.\-]*[a-z0-9])?|\[[0-9a-f:.]+\]")
_LOCAL_FORBIDDEN = re.compile(r"[\s\"&'/:<>@\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class CallInfo:
    impp: str | None = None  # bare JID of the first purpose=impp xmpp: URI
    group_chat: str = ""  # bare JID of the first purpose=grouptextchat xmpp: URI


def header_values(message: str, name: str = "call-info") -> list[str]:
    """The values of every `name` header in the message head (folded lines joined, commas split
    outside <...> and quotes), at most MAX_VALUES."""
    head = message[:MAX_MESSAGE].replace("\r\n", "\n").split("\n\n", 1)[0]
    lines: list[str] = []
    for line in head.split("\n")[1:]:
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += " " + line.strip()  # a folded continuation line (RFC 3261 7.3.1)
        else:
            lines.append(line)
    values: list[str] = []
    for line in lines:
        hname, sep, value = line.partition(":")
        if sep and hname.strip().lower() == name:
            values += _split(value)
            if len(values) >= MAX_VALUES:
                break
    return values[:MAX_VALUES]


def _split(value: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth, quoted = 0, False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "<":
            depth += 1
        elif not quoted and ch == ">":
            depth = max(0, depth - 1)
        if ch == "," and not quoted and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def _purpose_and_uri(value: str) -> tuple[str, str] | None:
    if len(value) > MAX_VALUE or not value.startswith("<") or ">" not in value:
        return None
    uri, _, params = value[1:].partition(">")
    purpose = ""
    for param in params.split(";"):
        pname, _, pvalue = param.partition("=")
        if pname.strip().lower() == "purpose":
            purpose = pvalue.strip().strip('"').lower()
    return purpose, uri.strip()


def xmpp_jid(uri: str) -> str | None:
    """`xmpp:alice@example.org` (or `xmpp://...`, `?join`, %-escapes) -> the bare JID, lower-case;
    None when it is not an xmpp: URI of a bare or full JID."""
    scheme, colon, rest = uri.partition(":")
    if not colon or scheme.strip().lower() != "xmpp":
        return None
    rest = rest.removeprefix("//").split("?", 1)[0].split("#", 1)[0]
    try:
        jid = unquote(rest, errors="strict")
    except UnicodeDecodeError:
        return None
    jid = jid.split("/", 1)[0].strip()  # a full JID: its bare part
    local, at, domain = jid.rpartition("@")
    domain = domain.lower().rstrip(".")
    if not domain or len(domain) > MAX_PART or not _DOMAIN.fullmatch(domain):
        return None
    if at and (not local or len(local.encode()) > MAX_PART or _LOCAL_FORBIDDEN.search(local)):
        return None
    return f"{local.lower()}@{domain}" if at else domain


def parse_call_info(message: str) -> CallInfo:
    """The RFC 7081 hints in a SIP message's Call-Info headers."""
    impp: str | None = None
    group = ""
    for value in header_values(message):
        parsed = _purpose_and_uri(value)
        if parsed is None:
            continue
        purpose, uri = parsed
        jid = xmpp_jid(uri)
        if jid is None or "@" not in jid:
            continue
        if purpose == "impp" and impp is None:
            impp = jid
        elif purpose == "grouptextchat" and not group:
            group = jid
    return CallInfo(impp, group)
