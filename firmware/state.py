"""The phone's whole state: an immutable value the state machine maps to the next one."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime

from firmware.cusax import CusaxPolicy
from firmware.cusax_state import CusaxView
from firmware.events import RegState
from firmware.frozen import FrozenMap
from firmware.multitap import Case, Entry
from firmware.provisioning.events import ProvState
from firmware.roster import EMPTY_ROSTER, Roster
from firmware.xmpp.model import ChatMessage, ChatState, Room
from hal.types import AudioPath

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_CANNED = ("OK", "On my way", "Call you back", "In a meeting", "Thanks!")


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
    # Chat (XMPP). canned_responses: the quick replies offered in a conversation.
    canned_responses: tuple[str, ...] = DEFAULT_CANNED
    multitap_s: float = 1.0  # text entry: the pause that makes a character final
    banner_s: float = 5.0  # how long "new message" stays at the bottom of the idle screens
    chat_idle_s: float = 60.0  # no key for this long in a chat screen: back to the idle screen
    display_size: tuple[int, int] = (128, 64)  # the panel: how many lines a conversation scrolls by
    cusax: CusaxPolicy = field(default_factory=CusaxPolicy)  # RFC 7081 rules (firmware/cusax.py)
    sip_account: str = ""  # user@domain, for the status screen ("" without a SIP account)
    chat_account: str = ""  # the XMPP JID, for the status screen


class View(enum.Enum):
    """What the idle phone shows (only while Phase.IDLE; any call takes the display over)."""

    HOME = "home"  # clock, Phone and Chat status, unread summary
    ROSTER = "roster"  # contacts, online first
    CONTACT = "contact"  # one contact: presence, JID, "Message" and a "Call" per vCard tel
    CHATS = "chats"  # conversations, most recent first, with unread counts
    CONVERSATION = "conversation"  # one conversation's messages
    REPLIES = "replies"  # "Write..." and the canned responses
    COMPOSE = "compose"  # multi-tap text entry
    STATUS = "status"  # Phone, Chat and provisioning status (firmware/machine_status.py)
    CREDENTIALS = "credentials"  # the provisioning server's sign-in dialog: user ID and password


@dataclass(frozen=True, slots=True)
class Nav:
    """Where the person is in the chat screens. Cursors on lists are JIDs (with the last index as a
    fallback), so a presence change that reorders the roster does not move the highlight."""

    view: View = View.HOME
    roster_jid: str = ""  # cursor in the roster
    roster_pos: int = 0
    contact: str = ""  # JID shown in CONTACT
    action: int = 0  # cursor among the contact's actions
    chats_peer: str = ""  # cursor in the chat list
    chats_pos: int = 0
    peer: str = ""  # conversation shown in CONVERSATION, REPLIES, COMPOSE
    came_from: View = View.HOME  # where BACK leaves the conversation to
    scroll: int = 0  # conversation: lines scrolled back from the newest
    reply: int = 0  # cursor among the replies
    entry: Entry = field(default_factory=Entry)  # compose buffer; kept as a draft for draft_peer
    draft_peer: str = ""
    banner: str = ""  # peer whose new message the banner shows ("" none)


def _no_rooms() -> FrozenMap[str, Room]:
    return FrozenMap()


def _no_history() -> FrozenMap[str, tuple[ChatMessage, ...]]:
    return FrozenMap()


def _no_unread() -> FrozenMap[str, int]:
    return FrozenMap()


@dataclass(frozen=True, slots=True)
class ChatView:
    """The XMPP side (RFC 7081 "Chat"): connection, roster and presence, conversations.

    history: per peer (bare JID or room JID) its last messages, oldest first; the map's order is
    the conversations' recency (least recently active first), bounded by firmware.machine_chat.
    unread: only peers with unread messages, each > 0."""

    state: ChatState = ChatState.DISABLED
    reason: str = ""
    roster: Roster = EMPTY_ROSTER
    rooms: FrozenMap[str, Room] = field(default_factory=_no_rooms)
    history: FrozenMap[str, tuple[ChatMessage, ...]] = field(default_factory=_no_history)
    unread: FrozenMap[str, int] = field(default_factory=_no_unread)

    @property
    def enabled(self) -> bool:
        """An XMPP account is configured: the chat screens exist."""
        return self.state is not ChatState.DISABLED

    @property
    def unread_total(self) -> int:
        return sum(self.unread.values())

    @property
    def newest_unread(self) -> str:
        """The most recently active conversation with unread messages ("" if none)."""
        for peer in reversed(self.history):
            if peer in self.unread:
                return peer
        return ""

    def label(self, peer: str) -> str:
        """How a person knows this peer: the roster label, a room's name, else the JID."""
        if peer in self.roster:
            return self.roster.label(peer)
        room = self.rooms.get(peer)
        if room is not None and room.name:
            return room.name
        return peer


MAX_CREDENTIAL = 128  # characters of a user ID or password typed on the keypad


def new_user_entry() -> Entry:
    return Entry(case=Case.LOWER, digits=True, limit=MAX_CREDENTIAL)  # user IDs are often numbers


def new_password_entry() -> Entry:
    return Entry(case=Case.LOWER, limit=MAX_CREDENTIAL)


@dataclass(frozen=True, slots=True)
class SignIn:
    """The provisioning server's sign-in dialog (HTTP 401). `open`: shown whenever the phone is
    idle (a call hides it; it comes back after). The password is never in repr()."""

    open: bool = False
    realm: str = ""
    rejected: bool = False  # the last credentials were refused: "Rejected, try again"
    on_password: bool = False  # the password field is the active one
    user: Entry = field(default_factory=new_user_entry)
    password: Entry = field(default_factory=new_password_entry, repr=False)
    message: str = ""  # what is missing ("Enter your user ID")
    submitted: bool = False  # sent; waiting for the server's answer
    dismissed: bool = False  # cancelled: not opened again by itself until the status changes


@dataclass(frozen=True, slots=True)
class ProvisioningView:
    """The provisioner's last status (ProvisioningChanged), the status screen's scroll position and
    the sign-in dialog. state None: the phone is not provisioned."""

    state: ProvState | None = None
    version: int = 0
    last_update: datetime | None = None
    last_check: datetime | None = None
    error: str = ""
    warnings: tuple[str, ...] = ()
    url: str = ""  # host and path only
    scroll: int = 0  # status screen: rows scrolled
    sign_in: SignIn = field(default_factory=SignIn)


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
    chat: ChatView = field(default_factory=ChatView)
    nav: Nav = field(default_factory=Nav)
    cusax: CusaxView = field(default_factory=CusaxView)  # RFC 7081 extras (firmware/machine_cusax.py)
    provisioning: ProvisioningView = field(default_factory=ProvisioningView)

    @property
    def active(self) -> bool:
        """Audio path open: handset lifted or hands-free on."""
        return self.off_hook or self.route is AudioPath.SPEAKER

    @property
    def volume(self) -> int:
        return self.speaker_volume if self.route is AudioPath.SPEAKER else self.handset_volume
