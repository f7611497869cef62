"""Typed events fed to the state machine. Everything that happens to the phone is one of these."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from firmware.provisioning.events import ProvState
from firmware.xmpp.model import ChatMessage, ChatState, Contact, Presence, Room, VCard
from hal.types import HookChanged, KeyPressed


class RegState(enum.Enum):
    UNCONFIGURED = "unconfigured"
    REGISTERING = "registering"
    REGISTERED = "registered"
    AUTH_FAILED = "auth_failed"  # wrong user or password: a person must fix it
    UNREACHABLE = "unreachable"  # registrar did not answer / transport error: retried with backoff
    FAILED = "failed"  # any other final error


class Timer(enum.Enum):
    """Timers the state machine asks for; TimerFired comes back when one expires."""

    INTERDIGIT = "interdigit"
    DIALTONE = "dialtone"  # off-hook too long without dialing
    ENDED = "ended"  # how long the 'call ended' reason stays on screen
    NOTICE = "notice"  # how long a transient message stays
    MULTITAP = "multitap"  # text entry: the pause that makes the pending character final
    CHAT_BANNER = "chat_banner"  # how long the "new message" banner stays
    CHAT_IDLE = "chat_idle"  # no key for this long in a chat screen: back to the idle screen
    SIGN_IN_TAP = "sign_in_tap"  # the sign-in dialog's multi-tap pause (firmware/machine_status.py)
    CALL_CHAT = "call_chat"  # how long "Select: chat <name>" stays after a call (machine_cusax)


@dataclass(frozen=True, slots=True)
class TimerFired:
    timer: Timer


@dataclass(frozen=True, slots=True)
class Tick:
    """Wall-clock update (the idle screen shows the time); injected, never read inside step()."""

    now: datetime


@dataclass(frozen=True, slots=True)
class RegistrationChanged:
    state: RegState
    code: int = 0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class IncomingCall:
    call_id: int
    remote_uri: str
    display_name: str = ""
    # RFC 7081 hints from the INVITE's Call-Info headers (firmware/sip/call_info.py): the bare JID
    # of purpose=impp (a cue only, checked against the vCards: section 3.5) and the room of
    # purpose=grouptextchat (section 4).
    call_info_jid: str | None = None
    group_chat: str = ""


@dataclass(frozen=True, slots=True)
class CallRinging:
    """Outgoing call: the far end is alerting (180/183). early_media: audio is flowing from the far end."""

    call_id: int
    early_media: bool


@dataclass(frozen=True, slots=True)
class CallConnected:
    call_id: int
    group_chat: str = ""  # a 200 OK's Call-Info purpose=grouptextchat room (RFC 7081 section 4)


@dataclass(frozen=True, slots=True)
class CallMedia:
    """The call's audio changed: active (RTP flowing) or held (by us or the far end)."""

    call_id: int
    active: bool
    local_hold: bool = False
    remote_hold: bool = False


@dataclass(frozen=True, slots=True)
class CallEnded:
    call_id: int
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class CallFailedToStart:
    """makeCall itself failed (bad URI, no transport): no SIP dialog exists."""

    call_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class DialRequest:
    """Call this target (digits, address or URI) chosen other than by the keypad (a contact, the demo)."""

    target: str


@dataclass(frozen=True, slots=True)
class Notice:
    """A message a person must see (config error, device error); shown until replaced or timed out."""

    text: str


# ---------------------------------------------------------------- XMPP (issue: roster, presence, chat)


@dataclass(frozen=True, slots=True)
class ChatConnectionChanged:
    state: ChatState
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RosterLoaded:
    """The whole roster after login (replaces what the state had)."""

    contacts: tuple[Contact, ...]


@dataclass(frozen=True, slots=True)
class RosterChanged:
    """Roster pushes: contacts added or changed, and JIDs removed."""

    changed: tuple[Contact, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PresencesChanged:
    """Presence of contacts, coalesced by the engine (a login brings thousands at once)."""

    updates: tuple[tuple[str, Presence], ...]


@dataclass(frozen=True, slots=True)
class VCardLoaded:
    card: VCard


@dataclass(frozen=True, slots=True)
class MessageReceived:
    message: ChatMessage


@dataclass(frozen=True, slots=True)
class RoomJoined:
    room: Room


@dataclass(frozen=True, slots=True)
class SavedChat:
    """One conversation as kept on disk (firmware/chat_store.py): its last messages and unread count."""

    peer: str
    messages: tuple[ChatMessage, ...]
    unread: int = 0


@dataclass(frozen=True, slots=True)
class ChatHistoryLoaded:
    """The message history read from disk at start, least recently active conversation first."""

    chats: tuple[SavedChat, ...]


# ---------------------------------------------------------------- provisioning (issue 4: status, sign-in)


@dataclass(frozen=True, slots=True)
class ProvisioningChanged:
    """The provisioner's status for the status screen (built by firmware.provisioning.runtime from
    ProvisioningStatus): never carries credentials (the URL is shown without user info or query)."""

    state: ProvState
    version: int = 0  # profile version in force; 0: none yet
    last_update: datetime | None = None  # when the profile in force was fetched
    last_check: datetime | None = None  # when the server was last asked
    error: str = ""  # why the last check failed
    warnings: tuple[str, ...] = ()  # e.g. unknown keys ignored in the profile in force
    url: str = ""  # host and path, for a person


@dataclass(frozen=True, slots=True)
class CredentialsRequested:
    """The provisioning server answered 401: ask the person for a user ID and password."""

    realm: str
    rejected: bool = False  # credentials were sent and refused


Event = (
    KeyPressed
    | HookChanged
    | TimerFired
    | Tick
    | RegistrationChanged
    | IncomingCall
    | CallRinging
    | CallConnected
    | CallMedia
    | CallEnded
    | CallFailedToStart
    | DialRequest
    | Notice
    | ChatConnectionChanged
    | RosterLoaded
    | RosterChanged
    | PresencesChanged
    | VCardLoaded
    | MessageReceived
    | RoomJoined
    | ChatHistoryLoaded
    | ProvisioningChanged
    | CredentialsRequested
)
