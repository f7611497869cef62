"""Phone states for the chat screens (issue 3), built by feeding events to the real state machine.

Merged into tests/ui/cases.py: each gets a golden image and the words its screen must show.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta

from firmware.events import (
    ChatConnectionChanged,
    Event,
    MessageReceived,
    PresencesChanged,
    RoomJoined,
    RosterLoaded,
    Timer,
    TimerFired,
    VCardLoaded,
)
from firmware.machine import step
from firmware.state import Phase, PhoneState
from firmware.xmpp.model import ChatMessage, ChatState, Contact, Presence, Room, Show, Tel, VCard
from hal.types import Key, KeyPressed

from .cases import BASE, CONNECTED, NOW

ALICE = Contact(
    "alice@example.org",
    "Alice Archer",
    "both",
    tels=(
        Tel("sip:1002@pbx.example.com", "1002", frozenset({"work", "voice"})),
        Tel("tel:+49 30 1234567", "+49301234567", frozenset({"cell", "video"})),
    ),
)
BOB = Contact("bob@example.org", "Bob")
CAROL = Contact("carol@example.org")
ROOM = Room("team@muc.example.org", "deskphone", "Team room")
OTHERS = tuple(
    Contact(f"{name.lower()}@example.org", name)
    for name in ("Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory", "Niaj")
)
ROSTER = (ALICE, BOB, CAROL, *OTHERS)
PRESENCES = (
    (ALICE.jid, Presence(Show.AVAILABLE, "at my desk")),
    (BOB.jid, Presence(Show.AWAY, "lunch")),
    ("dave@example.org", Presence(Show.DND, "in a meeting until 3")),
    ("erin@example.org", Presence(Show.XA)),
    ("frank@example.org", Presence(Show.CHAT)),
)


def key(k: Key) -> KeyPressed:
    return KeyPressed(k)


def at(minutes_ago: int) -> object:
    return NOW - timedelta(minutes=minutes_ago)


def incoming(peer: str, body: str, minutes_ago: int = 5, **kw: object) -> MessageReceived:
    return MessageReceived(ChatMessage(peer, body, NOW - timedelta(minutes=minutes_ago), **kw))  # type: ignore[arg-type]


def feed(state: PhoneState, events: Iterable[Event]) -> PhoneState:
    for event in events:
        state, _ = step(state, event)
    return state


ONLINE = feed(
    BASE,
    [
        ChatConnectionChanged(ChatState.ONLINE),
        RosterLoaded(ROSTER),
        PresencesChanged(PRESENCES),
        RoomJoined(ROOM),
    ],
)
QUIET = TimerFired(Timer.CHAT_BANNER)  # the banner has gone: the goldens show the screens themselves

CONVERSATION = [
    incoming(ALICE.jid, "Morning!", 30),
    incoming(ALICE.jid, "Morning Alice", 29, outgoing=True),
    incoming(ALICE.jid, "Hi! Are you coming to the meeting at three?", 12),
    incoming(ALICE.jid, "It's in the big room", 11),
    incoming(ALICE.jid, "Yes, on my way", 10, outgoing=True),
    incoming(ALICE.jid, "Great, see you there", 2),
]
WITH_CHATS = feed(
    ONLINE,
    [
        *CONVERSATION,
        incoming(ROOM.jid, "Build is green again", 4, groupchat=True, sender="ci-bot"),
        incoming(BOB.jid, "Lunch?", 3),
        incoming(BOB.jid, "Or later?", 1),
        QUIET,
    ],
)


def _compose(keys: Iterable[Key | Event]) -> PhoneState:
    state = feed(ONLINE, [*CONVERSATION[:1], QUIET, key(Key.SELECT), key(Key.SELECT), key(Key.SELECT)])
    return feed(state, [k if not isinstance(k, Key) else key(k) for k in keys])


PAUSE = TimerFired(Timer.MULTITAP)
HELLO_THERE = [
    Key.D4,
    Key.D4,
    PAUSE,  # H
    Key.D3,
    Key.D3,
    PAUSE,  # e
    Key.D5,
    Key.D5,
    Key.D5,
    PAUSE,  # l
    Key.D5,
    Key.D5,
    Key.D5,
    PAUSE,  # l
    Key.D6,
    Key.D6,
    Key.D6,
    Key.D0,  # o, space
    Key.D8,
    Key.D4,
    Key.D4,
    Key.D3,
    Key.D3,  # t h e (pending)
]

CHAT_CASES: dict[str, PhoneState] = {
    "idle_chat_online": ONLINE,
    "idle_chat_connecting": feed(BASE, [ChatConnectionChanged(ChatState.CONNECTING)]),
    "idle_chat_auth_failed": feed(BASE, [ChatConnectionChanged(ChatState.AUTH_FAILED, "not-authorized")]),
    "idle_chat_unread": feed(ONLINE, [*CONVERSATION[2:4], QUIET]),
    "idle_chat_unread_many": WITH_CHATS,
    "idle_chat_banner": feed(
        ONLINE, [incoming(BOB.jid, "Lunch at noon? The usual place, I will book a table")]
    ),
    "roster": feed(ONLINE, [key(Key.CONTACTS), key(Key.DOWN)]),
    "roster_page2": feed(ONLINE, [key(Key.CONTACTS), key(Key.UP)]),
    "roster_connecting": feed(BASE, [ChatConnectionChanged(ChatState.CONNECTING), key(Key.CONTACTS)]),
    "contact": feed(ONLINE, [key(Key.CONTACTS), key(Key.DOWN), key(Key.SELECT), key(Key.DOWN)]),
    "contact_offline": feed(
        ONLINE,
        [
            VCardLoaded(VCard(CAROL.jid, "Carol Jones")),
            *map(key, (Key.CONTACTS, Key.D2, Key.D2, Key.D2, Key.SELECT)),
        ],
    ),
    "chats": feed(WITH_CHATS, [key(Key.MENU), key(Key.DOWN)]),
    "chats_empty": feed(BASE, [ChatConnectionChanged(ChatState.ONLINE), key(Key.MENU)]),
    "conversation": feed(WITH_CHATS, [key(Key.MENU), key(Key.DOWN), key(Key.DOWN), key(Key.SELECT)]),
    "conversation_scrolled": feed(
        WITH_CHATS, [key(Key.MENU), key(Key.DOWN), key(Key.DOWN), key(Key.SELECT), key(Key.UP), key(Key.UP)]
    ),
    "conversation_room": feed(WITH_CHATS, [key(Key.MENU), key(Key.DOWN), key(Key.SELECT)]),
    "conversation_empty": feed(ONLINE, [key(Key.CONTACTS), key(Key.SELECT), key(Key.SELECT)]),  # Frank
    "replies": feed(WITH_CHATS, [key(Key.SELECT), key(Key.SELECT), key(Key.DOWN)]),
    "compose_empty": _compose([]),
    "compose_pending": _compose(HELLO_THERE),
    "compose_digits": _compose([*HELLO_THERE, Key.HASH, Key.D1, Key.D0, Key.D0, Key.D2]),
    "compose_long": _compose([Key.D2, PAUSE] * 460 + [Key.D2]),
    "in_call_unread": replace(
        feed(ONLINE, [*CONVERSATION[2:4], QUIET]), phase=Phase.IN_CALL, off_hook=True, call=CONNECTED
    ),
}

CHAT_WIDE_CASES = (
    "idle_chat_unread",
    "idle_chat_banner",
    "roster",
    "contact",
    "chats",
    "conversation",
    "compose_pending",
)

CHAT_EXPECTED_WORDS: dict[str, tuple[str, ...]] = {
    "idle_chat_online": ("Phone", "Chat", "14:05", "Lift handset to call"),
    "idle_chat_connecting": ("Phone", "Chat", "pbx.example.com"),
    "idle_chat_auth_failed": ("Chat", "Chat: wrong password"),
    "idle_chat_unread": ("Phone  Chat  2", "2 from Alice Archer"),
    "idle_chat_unread_many": ("4 in 3 chats",),
    "idle_chat_banner": ("Bob: Lunch at",),
    "roster": ("Contacts", "2/12", "Frank", "Alice Archer \u00b7 at", "Bob \u00b7 lunch", "Dave \u00b7 in a"),
    "roster_page2": ("12/12", "Mallory", "Niaj"),
    "roster_connecting": ("Contacts", "Chat connecting\u2026"),
    "contact": ("Alice Archer", "Available: at my d", "alice@example.org", "Message", "Call 1002 (work)"),
    "contact_offline": ("Carol Jones", "Offline", "carol@example.org", "Message"),
    "chats": ("Chats", "Bob", "2", "Team room", "Alice Archer"),
    "chats_empty": ("No conversations",),
    "conversation": ("Alice Archer", "Yes, on my way", "Great, see you there"),
    "conversation_scrolled": ("Morning Alice", "Hi! Are you coming to"),
    "conversation_room": ("Team room", "ci-bot: Build is", "green again"),
    "conversation_empty": ("Frank", "No messages yet", "Select: reply"),
    "replies": ("To Bob", "Write\u2026", "OK", "On my way"),
    "compose_empty": ("To Alice Archer", "Abc", "Select: send"),
    "compose_pending": ("Hello", "th", "e", "Abc"),
    "compose_digits": ("Hello", "the1002", "123"),
    "compose_long": ("aaaa", "Abc 40"),
    "in_call_unread": ("In call", "03:07", "2"),
}
