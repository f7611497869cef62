"""The phone's whole state: an immutable value the state machine maps to the next one."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime

from firmware.events import RegState
from hal.types import AudioPath

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Phase(enum.Enum):
    IDLE = "idle"
    DIALTONE = "dialtone"  # off-hook (or speaker), nothing dialled yet
    DIALING = "dialing"  # digits entered, waiting for '#' or the inter-digit timeout
    CALLING = "calling"  # outgoing INVITE sent, no answer yet (ringback / early media)
    RINGING = "ringing"  # incoming call alerting
    IN_CALL = "in_call"
    ENDED = "ended"  # a call ended or failed: the reason stays on screen until on-hook or timeout


class Direction(enum.Enum):
    OUTGOING = "outgoing"
    INCOMING = "incoming"


@dataclass(frozen=True, slots=True)
class CallView:
    call_id: int
    direction: Direction
    remote: str  # SIP URI
    display_name: str = ""
    ringing: bool = False  # outgoing: far end alerting
    early_media: bool = False
    media_active: bool = False
    local_hold: bool = False
    remote_hold: bool = False
    connected_at: datetime | None = None

    @property
    def party(self) -> str:
        """What a person recognises: the display name, else the user part of the URI."""
        if self.display_name:
            return self.display_name
        uri = self.remote.strip("<>")
        if ":" in uri:
            uri = uri.split(":", 1)[1]
        return uri.split(";", 1)[0]


@dataclass(frozen=True, slots=True)
class Registration:
    state: RegState = RegState.UNCONFIGURED
    code: int = 0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Settings:
    """The parts of the configuration the state machine needs (pure values, no I/O)."""

    domain: str = "localhost"
    interdigit_s: float = 4.0
    dialtone_s: float = 30.0
    ended_s: float = 4.0
    notice_s: float = 6.0
    volume_step: int = 10
    handset_volume: int = 70
    speaker_volume: int = 60


@dataclass(frozen=True, slots=True)
class PhoneState:
    settings: Settings = field(default_factory=Settings)
    phase: Phase = Phase.IDLE
    off_hook: bool = False  # handset lifted
    route: AudioPath = AudioPath.HANDSET  # SPEAKER while hands-free
    digits: str = ""
    call: CallView | None = None
    registration: Registration = field(default_factory=Registration)
    last_dialed: str = ""
    ended_reason: str = ""  # shown in ENDED
    notice: str = ""  # transient error a person must see (bad URI, device error)
    handset_volume: int = 70
    speaker_volume: int = 60
    now: datetime = EPOCH
    next_call_id: int = 1

    @property
    def active(self) -> bool:
        """Audio path open: handset lifted or hands-free on."""
        return self.off_hook or self.route is AudioPath.SPEAKER

    @property
    def volume(self) -> int:
        return self.speaker_volume if self.route is AudioPath.SPEAKER else self.handset_volume
