"""Values that cross between the XMPP engine and the state machine. Frozen, hashable, no I/O.

The XMPP engine (firmware/xmpp/client.py) produces the events in firmware/events.py built from
these; the state machine keeps them in PhoneState and the screens draw them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class ChatState(enum.Enum):
    """The XMPP connection as the idle screen's "Chat" indicator shows it (RFC 7081 section 2)."""

    DISABLED = "disabled"  # no XMPP account configured
    WAITING = "waiting"  # policy: log in only after SIP registered (RFC 7081 C11)
    CONNECTING = "connecting"
    ONLINE = "online"
    AUTH_FAILED = "auth_failed"  # wrong JID or password: a person must fix it
    TLS_FAILED = "tls_failed"  # certificate not trusted / TLS required but not offered
    UNREACHABLE = "unreachable"  # server down, DNS, timeout: retried with backoff
    FAILED = "failed"


class Show(enum.Enum):
    """XMPP presence <show/> plus 'offline' for unavailable; order = sort order on the roster."""

    CHAT = "chat"
    AVAILABLE = "available"
    AWAY = "away"
    XA = "xa"
    DND = "dnd"
    OFFLINE = "offline"

    @property
    def online(self) -> bool:
        return self is not Show.OFFLINE


@dataclass(frozen=True, slots=True)
class Presence:
    show: Show = Show.OFFLINE
    status: str = ""  # free text, already bounded and sanitised by the engine
    # XEP-0152 reachability addresses the contact's presence carries (RFC 7081 C12): hints only,
    # never an identity unless the contact's vCard lists the same address.
    reach: tuple[Tel, ...] = ()


OFFLINE = Presence()


@dataclass(frozen=True, slots=True)
class Tel:
    """One telephone entry of a vCard.

    `uri` is what the card says, normalised to a URI (`sip:alice@example.org`, `tel:+4930123`);
    `key` is the match key used to find a caller in O(1) (see firmware/xmpp/tel.py);
    `kinds` are the vCard TYPE values in lower case (voice, video, cell, work, home, ...).
    """

    uri: str
    key: str
    kinds: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Contact:
    """A roster entry (RFC 6121) with what its vCard told us."""

    jid: str  # bare JID, lower-cased local and domain parts
    name: str = ""  # roster name, else the vCard's full name, else ""
    subscription: str = "none"  # none | to | from | both
    groups: tuple[str, ...] = ()
    tels: tuple[Tel, ...] = ()

    @property
    def label(self) -> str:
        return self.name or self.jid


@dataclass(frozen=True, slots=True)
class VCard:
    jid: str
    full_name: str = ""
    tels: tuple[Tel, ...] = ()


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One chat line. `peer` is the bare JID of the contact, or the room's JID for group chat."""

    peer: str
    body: str  # already bounded (engine truncates) and sanitised of control characters
    at: datetime
    outgoing: bool = False
    groupchat: bool = False
    sender: str = ""  # nick in a room; empty for one-to-one chat
    id: str = ""
    truncated: bool = False  # the engine cut a longer body


@dataclass(frozen=True, slots=True)
class Room:
    """A joined multi-user chat (XEP-0045)."""

    jid: str
    nick: str
    name: str = ""
    occupants: tuple[str, ...] = field(default=())
    # RFC 7081 section 4: the SIP URI of the room's audio/video conference (its disco#info
    # muc#roominfo form), and the occupants whose room presence says they are on the phone.
    av_uri: str = ""
    on_phone: tuple[str, ...] = field(default=())
