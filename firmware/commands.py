"""Typed commands returned by the state machine; the dispatcher carries them out."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from firmware.events import Timer
from firmware.xmpp.model import ChatMessage, Show
from hal.types import AudioPath


class Tone(enum.Enum):
    DIAL = "dial"  # 350+440 Hz continuous
    RINGBACK = "ringback"  # 440+480 Hz, 2 s on 4 s off
    BUSY = "busy"  # 480+620 Hz, 0.5 s on/off
    ERROR = "error"  # reorder / fast busy


@dataclass(frozen=True, slots=True)
class PlayTone:
    tone: Tone


@dataclass(frozen=True, slots=True)
class StopTone:
    pass


@dataclass(frozen=True, slots=True)
class StartRinger:
    pass


@dataclass(frozen=True, slots=True)
class StopRinger:
    pass


@dataclass(frozen=True, slots=True)
class MakeCall:
    """Place a call. Outgoing call ids are chosen by the state machine (positive); the SIP engine
    numbers incoming calls itself with negative ids, so the two never collide."""

    call_id: int
    uri: str
    headers: tuple[tuple[str, str], ...] = ()  # extra SIP headers, e.g. Call-Info (RFC 7081 S6)


@dataclass(frozen=True, slots=True)
class Answer:
    call_id: int


@dataclass(frozen=True, slots=True)
class Hangup:
    """End a call in any state; code is used for an unanswered incoming call (486 busy, 603 decline)."""

    call_id: int
    code: int = 0


@dataclass(frozen=True, slots=True)
class SendDtmf:
    call_id: int
    digit: str


@dataclass(frozen=True, slots=True)
class Hold:
    call_id: int


@dataclass(frozen=True, slots=True)
class Resume:
    call_id: int


@dataclass(frozen=True, slots=True)
class SetRoute:
    path: AudioPath


@dataclass(frozen=True, slots=True)
class SetVolume:
    path: AudioPath
    percent: int


@dataclass(frozen=True, slots=True)
class StartTimer:
    timer: Timer
    seconds: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    timer: Timer


@dataclass(frozen=True, slots=True)
class Log:
    """Something worth a log line that only the state machine knows (e.g. an ignored key)."""

    level: str
    message: str


@dataclass(frozen=True, slots=True)
class SendChat:
    """Send a chat message (one-to-one, or to a room when groupchat)."""

    peer: str
    body: str
    groupchat: bool = False


@dataclass(frozen=True, slots=True)
class SetPresence:
    """The phone's own XMPP presence."""

    show: Show
    status: str = ""


@dataclass(frozen=True, slots=True)
class JoinRoom:
    """Join a group chat (XEP-0045): the room linked to a conference call (RFC 7081 section 4)."""

    room: str


@dataclass(frozen=True, slots=True)
class PersistChat:
    """Keep this conversation on disk (its last messages and unread count); no messages: forget it.

    The store coalesces: only the latest PersistChat per peer is written, a moment later."""

    peer: str
    messages: tuple[ChatMessage, ...]
    unread: int = 0


@dataclass(frozen=True, slots=True)
class ReprovisionNow:
    """Ask the provisioning server now (the status screen's "Update now")."""

    reason: str = "keypad"


@dataclass(frozen=True, slots=True)
class SubmitCredentials:
    """The user ID and password typed in the sign-in dialog, for the provisioning server. The
    password is left out of repr(), so no log line (a failed command is logged) can show it."""

    user: str
    password: str = field(repr=False)


Command = (
    PlayTone
    | StopTone
    | StartRinger
    | StopRinger
    | MakeCall
    | Answer
    | Hangup
    | SendDtmf
    | Hold
    | Resume
    | SetRoute
    | SetVolume
    | StartTimer
    | CancelTimer
    | SendChat
    | SetPresence
    | JoinRoom
    | PersistChat
    | ReprovisionNow
    | SubmitCredentials
    | Log
)
