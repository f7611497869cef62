"""The chat side of the state machine (firmware/machine_chat.py, merged into firmware/machine.py).

Table-driven transitions per view, every key in every view and every event in every view never
raising (and pure), bounds under floods and hostile input, and a hypothesis run interleaving
XMPP events with calls, keys and timers that checks the invariants: chat never changes the
call; history and unread counts stay bounded and consistent; the chat screens only exist while
idle; every pending thing has its timer.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.commands import (
    CancelTimer,
    Command,
    Log,
    MakeCall,
    PersistChat,
    SendChat,
    SetPresence,
    StartTimer,
)
from firmware.cusax import tel_target
from firmware.cusax_state import Identity, Party
from firmware.events import (
    CallConnected,
    CallEnded,
    ChatConnectionChanged,
    ChatHistoryLoaded,
    CredentialsRequested,
    Event,
    IncomingCall,
    MessageReceived,
    PresencesChanged,
    RoomJoined,
    RosterChanged,
    RosterLoaded,
    SavedChat,
    Timer,
    TimerFired,
    VCardLoaded,
)
from firmware.machine import step
from firmware.machine_chat import (
    HISTORY_PER_PEER,
    MAX_BODY,
    MAX_PEERS,
    OFFLINE_NOTICE,
    bounded_message,
)
from firmware.multitap import Entry
from firmware.state import Phase, PhoneState, Settings, View
from firmware.ui.chat_text import max_scroll
from firmware.xmpp.model import ChatMessage, ChatState, Contact, Presence, Room, Show, Tel, VCard
from hal.types import HookChanged, Key, KeyPressed

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
S = Settings()
IDLE_TIMER = StartTimer(Timer.CHAT_IDLE, S.chat_idle_s)
TAP_TIMER = StartTimer(Timer.MULTITAP, S.multitap_s)
BANNER_TIMER = StartTimer(Timer.CHAT_BANNER, S.banner_s)
LOG = "exactly one Log command"

ALICE = Contact(
    "alice@example.org",
    "Alice",
    "both",
    tels=(
        Tel("sip:1002@example.org", "1002", frozenset({"work", "voice"})),
        Tel("tel:+49 30 123-4", "+493012334", frozenset({"video"})),
    ),
)
BOB = Contact("bob@example.org", "Bob")
CAROL = Contact("carol@example.org")
ROOM = Room("team@muc.example.org", "me", "Team")
UP = HookChanged(off_hook=True)
DOWN = HookChanged(off_hook=False)
CALLER = IncomingCall(-5, "sip:dave@example.org", "Dave")


def key(k: Key) -> KeyPressed:
    return KeyPressed(k)


def keys(*ks: Key) -> list[Event]:
    return [KeyPressed(k) for k in ks]


def msg(peer: str, body: str, **kw: Any) -> ChatMessage:
    return ChatMessage(peer, body, kw.pop("at", T0), **kw)


def received(peer: str, body: str, **kw: Any) -> MessageReceived:
    return MessageReceived(msg(peer, body, **kw))


def run(state: PhoneState, events: Iterable[Event]) -> tuple[PhoneState, list[Command]]:
    out: list[Command] = []
    for event in events:
        state, cmds = step(state, event)
        out.extend(cmds)
    return state, out


ONLINE: list[Event] = [
    ChatConnectionChanged(ChatState.ONLINE),
    RosterLoaded((ALICE, BOB, CAROL)),
    PresencesChanged(((ALICE.jid, Presence(Show.AVAILABLE, "at my desk")), (BOB.jid, Presence(Show.AWAY)))),
]
HELLO = received(ALICE.jid, "Hello, are you coming to the meeting?")

RECIPES: dict[str, tuple[View, list[Event]]] = {
    "home": (View.HOME, ONLINE),
    "home_unread": (View.HOME, [*ONLINE, HELLO]),
    "roster": (View.ROSTER, [*ONLINE, key(Key.CONTACTS)]),
    "roster_empty": (View.ROSTER, [ChatConnectionChanged(ChatState.CONNECTING), key(Key.CONTACTS)]),
    "contact": (View.CONTACT, [*ONLINE, *keys(Key.CONTACTS, Key.SELECT)]),
    "chats": (View.CHATS, [*ONLINE, HELLO, RoomJoined(ROOM), key(Key.MENU)]),
    "chats_empty": (View.CHATS, [*ONLINE, key(Key.MENU)]),
    "conversation": (View.CONVERSATION, [*ONLINE, HELLO, key(Key.SELECT)]),
    "conversation_empty": (
        View.CONVERSATION,
        [*ONLINE, *keys(Key.CONTACTS, Key.DOWN, Key.SELECT, Key.SELECT)],
    ),
    "replies": (View.REPLIES, [*ONLINE, HELLO, *keys(Key.SELECT, Key.SELECT)]),
    "compose": (View.COMPOSE, [*ONLINE, HELLO, *keys(Key.SELECT, Key.SELECT, Key.SELECT)]),
    "compose_pending": (View.COMPOSE, [*ONLINE, HELLO, *keys(Key.SELECT, Key.SELECT, Key.SELECT, Key.D4)]),
    "room": (View.CONVERSATION, [*ONLINE, RoomJoined(ROOM), *keys(Key.MENU, Key.SELECT)]),
    # issue 4 (firmware/machine_status.py): MENU on the chat list opens the status screen
    "status": (View.STATUS, [*ONLINE, HELLO, *keys(Key.MENU, Key.MENU)]),
    "credentials": (View.CREDENTIALS, [*ONLINE, HELLO, CredentialsRequested("deskphone provisioning")]),
}
STATES: dict[str, PhoneState] = {name: run(PhoneState(), events)[0] for name, (_, events) in RECIPES.items()}


@pytest.mark.parametrize("name", list(RECIPES))
def test_recipes_reach_their_view(name: str) -> None:
    state = STATES[name]
    assert state.nav.view is RECIPES[name][0]
    assert state.phase is Phase.IDLE


def test_every_view_has_a_recipe() -> None:
    assert {s.nav.view for s in STATES.values()} == set(View)


# ---------------------------------------------------------------- single transitions

ROWS: list[Any] = [
    # HOME
    pytest.param("home", key(Key.CONTACTS), View.ROSTER, (IDLE_TIMER,), {}, id="home-contacts-roster"),
    pytest.param("home", key(Key.DOWN), View.ROSTER, (IDLE_TIMER,), {}, id="home-down-roster"),
    pytest.param("home", key(Key.UP), View.ROSTER, (IDLE_TIMER,), {}, id="home-up-roster"),
    pytest.param("home", key(Key.SELECT), View.ROSTER, (IDLE_TIMER,), {}, id="home-select-roster"),
    pytest.param("home", key(Key.MENU), View.CHATS, (IDLE_TIMER,), {}, id="home-menu-chats"),
    pytest.param(
        "home", key(Key.D5), View.HOME, (), {"phase": Phase.DIALING, "digits": "5"}, id="home-predial"
    ),
    pytest.param("home", key(Key.HASH), View.HOME, LOG, {}, id="home-hash-ignored"),
    pytest.param("home", key(Key.BACK), View.HOME, LOG, {}, id="home-back-ignored"),
    pytest.param(
        "home_unread",
        key(Key.SELECT),
        View.CONVERSATION,
        (PersistChat(ALICE.jid, (HELLO.message,), 0), IDLE_TIMER),
        {"nav.peer": ALICE.jid, "chat.unread_total": 0, "nav.banner": "", "nav.came_from": View.HOME},
        id="home-select-opens-newest-unread",
    ),
    pytest.param(
        "home_unread", key(Key.BACK), View.HOME, (), {"nav.banner": ""}, id="home-back-dismisses-banner"
    ),
    # ROSTER (order: Alice available, Bob away, carol offline)
    pytest.param(
        "roster", key(Key.DOWN), View.ROSTER, (IDLE_TIMER,), {"nav.roster_jid": BOB.jid}, id="roster-down"
    ),
    pytest.param(
        "roster", key(Key.UP), View.ROSTER, (IDLE_TIMER,), {"nav.roster_jid": CAROL.jid}, id="roster-wraps"
    ),
    pytest.param(
        "roster", key(Key.HASH), View.ROSTER, (IDLE_TIMER,), {"nav.roster_jid": CAROL.jid}, id="roster-page"
    ),
    pytest.param(
        "roster", key(Key.D2), View.ROSTER, (IDLE_TIMER,), {"nav.roster_jid": BOB.jid}, id="roster-jump-abc"
    ),
    pytest.param(
        "roster", key(Key.D7), View.ROSTER, (IDLE_TIMER,), {"nav.roster_pos": 0}, id="roster-jump-none"
    ),
    pytest.param(
        "roster", key(Key.SELECT), View.CONTACT, (IDLE_TIMER,), {"nav.contact": ALICE.jid}, id="roster-select"
    ),
    pytest.param("roster", key(Key.BACK), View.HOME, (CancelTimer(Timer.CHAT_IDLE),), {}, id="roster-back"),
    pytest.param(
        "roster", key(Key.CONTACTS), View.HOME, (CancelTimer(Timer.CHAT_IDLE),), {}, id="roster-toggle"
    ),
    pytest.param("roster", key(Key.MENU), View.CHATS, (IDLE_TIMER,), {}, id="roster-menu"),
    pytest.param("roster", key(Key.SPEAKER), View.HOME, None, {"phase": Phase.DIALTONE}, id="roster-speaker"),
    pytest.param("roster", UP, View.HOME, None, {"phase": Phase.DIALTONE}, id="roster-lift"),
    pytest.param("roster_empty", key(Key.DOWN), View.ROSTER, (IDLE_TIMER,), {}, id="roster-empty-down"),
    pytest.param("roster_empty", key(Key.SELECT), View.ROSTER, (IDLE_TIMER,), {}, id="roster-empty-select"),
    # CONTACT
    pytest.param("contact", key(Key.DOWN), View.CONTACT, (IDLE_TIMER,), {"nav.action": 1}, id="contact-down"),
    pytest.param("contact", key(Key.UP), View.CONTACT, (IDLE_TIMER,), {"nav.action": 2}, id="contact-wraps"),
    pytest.param(
        "contact",
        key(Key.SELECT),
        View.CONVERSATION,
        (IDLE_TIMER,),
        {"nav.peer": ALICE.jid, "nav.came_from": View.CONTACT},
        id="contact-message",
    ),
    pytest.param("contact", key(Key.BACK), View.ROSTER, (IDLE_TIMER,), {}, id="contact-back"),
    pytest.param(
        "contact", key(Key.D1), View.HOME, (), {"phase": Phase.DIALING}, id="contact-digit-predials"
    ),
    # CHATS (list: Alice's conversation, then the room)
    pytest.param(
        "chats", key(Key.DOWN), View.CHATS, (IDLE_TIMER,), {"nav.chats_peer": ROOM.jid}, id="chats-down"
    ),
    pytest.param(
        "chats",
        key(Key.SELECT),
        View.CONVERSATION,
        (PersistChat(ALICE.jid, (HELLO.message,), 0), IDLE_TIMER),
        {"nav.peer": ALICE.jid, "nav.came_from": View.CHATS, "chat.unread_total": 0},
        id="chats-select",
    ),
    pytest.param("chats", key(Key.BACK), View.HOME, (CancelTimer(Timer.CHAT_IDLE),), {}, id="chats-back"),
    pytest.param("chats", key(Key.MENU), View.STATUS, (IDLE_TIMER,), {}, id="chats-menu-status"),
    pytest.param("chats", key(Key.CONTACTS), View.ROSTER, (IDLE_TIMER,), {}, id="chats-contacts"),
    pytest.param("chats_empty", key(Key.SELECT), View.CHATS, (IDLE_TIMER,), {}, id="chats-empty-select"),
    # CONVERSATION
    pytest.param(
        "conversation", key(Key.SELECT), View.REPLIES, (IDLE_TIMER,), {"nav.reply": 0}, id="conv-select"
    ),
    pytest.param(
        "conversation", key(Key.BACK), View.HOME, (CancelTimer(Timer.CHAT_IDLE),), {}, id="conv-back"
    ),
    pytest.param(
        "conversation", key(Key.UP), View.CONVERSATION, (IDLE_TIMER,), {"nav.scroll": 0}, id="conv-short"
    ),
    pytest.param("conversation", key(Key.MENU), View.CHATS, (IDLE_TIMER,), {}, id="conv-menu"),
    pytest.param(
        "conversation", key(Key.D9), View.HOME, (), {"phase": Phase.DIALING}, id="conv-digit-predials"
    ),
    # REPLIES
    pytest.param("replies", key(Key.DOWN), View.REPLIES, (IDLE_TIMER,), {"nav.reply": 1}, id="replies-down"),
    pytest.param(
        "replies",
        key(Key.SELECT),
        View.COMPOSE,
        (IDLE_TIMER,),
        {"nav.draft_peer": ALICE.jid},
        id="replies-write",
    ),
    pytest.param("replies", key(Key.BACK), View.CONVERSATION, (IDLE_TIMER,), {}, id="replies-back"),
    # COMPOSE
    pytest.param(
        "compose",
        key(Key.D4),
        View.COMPOSE,
        (TAP_TIMER, IDLE_TIMER),
        {"nav.entry.shown": "G"},
        id="compose-tap",
    ),
    pytest.param(
        "compose_pending",
        key(Key.D4),
        View.COMPOSE,
        (TAP_TIMER, IDLE_TIMER),
        {"nav.entry.shown": "H"},
        id="compose-tap-again",
    ),
    pytest.param(
        "compose_pending",
        TimerFired(Timer.MULTITAP),
        View.COMPOSE,
        (),
        {"nav.entry.text": "G", "nav.entry.pending": None},
        id="compose-pause-commits",
    ),
    pytest.param(
        "compose_pending",
        key(Key.BACK),
        View.COMPOSE,
        (CancelTimer(Timer.MULTITAP), IDLE_TIMER),
        {"nav.entry.shown": ""},
        id="compose-back-drops-pending",
    ),
    pytest.param(
        "compose",
        key(Key.BACK),
        View.CONVERSATION,
        (IDLE_TIMER,),
        {"nav.draft_peer": ""},
        id="compose-back-when-empty-leaves",
    ),
    pytest.param(
        "compose",
        key(Key.SELECT),
        View.COMPOSE,
        (Log("debug", "nothing to send"), IDLE_TIMER),
        {},
        id="empty",
    ),
    pytest.param(
        "compose", key(Key.STAR), View.COMPOSE, (IDLE_TIMER,), {"nav.entry.indicator": "abc"}, id="star"
    ),
    pytest.param(
        "compose", key(Key.HASH), View.COMPOSE, (IDLE_TIMER,), {"nav.entry.indicator": "123"}, id="hash"
    ),
    pytest.param("compose", key(Key.UP), View.COMPOSE, (IDLE_TIMER,), {}, id="compose-up-nothing"),
    pytest.param(
        "compose_pending",
        UP,
        View.HOME,
        None,
        {"phase": Phase.DIALTONE, "nav.entry.text": "G"},
        id="compose-lift",
    ),
    # timers
    pytest.param("roster", TimerFired(Timer.CHAT_IDLE), View.HOME, (), {}, id="roster-inactivity"),
    pytest.param(
        "home_unread", TimerFired(Timer.CHAT_BANNER), View.HOME, (), {"nav.banner": ""}, id="banner-timeout"
    ),
    pytest.param("home", TimerFired(Timer.MULTITAP), View.HOME, (), {}, id="stale-multitap"),
    # calls take the display over
    pytest.param("roster", CALLER, View.HOME, None, {"phase": Phase.RINGING}, id="roster-incoming-call"),
    pytest.param(
        "home_unread",
        CALLER,
        View.HOME,
        None,
        {"phase": Phase.RINGING, "nav.banner": ""},
        id="banner-gives-way",
    ),
]


def _attr(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize(("start", "event", "view", "expected", "checks"), ROWS)
def test_transition(start: str, event: Event, view: View, expected: Any, checks: dict[str, Any]) -> None:
    new, cmds = step(STATES[start], event)
    assert new.nav.view is view
    if expected == LOG:
        assert len(cmds) == 1 and isinstance(cmds[0], Log), cmds
    elif expected is not None:
        assert cmds == expected
    for name, value in checks.items():
        assert _attr(new, name) == value, name


# ---------------------------------------------------------------- scenarios


def test_message_from_a_contact_by_multi_tap() -> None:
    state = STATES["compose"]
    events: list[Event] = [key(Key.D4), key(Key.D4), TimerFired(Timer.MULTITAP)]  # H
    events += [key(Key.D4)] * 3  # i
    events += [key(Key.D1)] * 4 + [key(Key.SELECT)]  # '!' then send
    state, cmds = run(state, events)
    assert SendChat(ALICE.jid, "Hi!") in cmds
    assert state.nav.view is View.CONVERSATION and state.nav.scroll == 0
    sent = state.chat.history[ALICE.jid][-1]
    assert sent.outgoing and sent.body == "Hi!" and sent.peer == ALICE.jid
    assert PersistChat(ALICE.jid, state.chat.history[ALICE.jid], 0) in cmds
    assert state.nav.entry == Entry() and state.nav.draft_peer == ""


def test_canned_reply_sends_and_returns_to_the_conversation() -> None:
    state, cmds = run(STATES["replies"], keys(Key.DOWN, Key.SELECT))
    assert SendChat(ALICE.jid, "OK") in cmds
    assert state.nav.view is View.CONVERSATION
    assert [m.body for m in state.chat.history[ALICE.jid]] == [HELLO.message.body, "OK"]


def test_canned_responses_come_from_the_settings() -> None:
    start = replace(STATES["replies"], settings=replace(S, canned_responses=("Yes", "No")))
    _, cmds = run(start, keys(Key.DOWN, Key.DOWN, Key.SELECT))
    assert SendChat(ALICE.jid, "No") in cmds


def test_sending_while_offline_keeps_the_text_and_says_so() -> None:
    offline, _ = step(STATES["compose"], ChatConnectionChanged(ChatState.UNREACHABLE, "timeout"))
    state, cmds = run(offline, [key(Key.D4), key(Key.SELECT)])
    assert not any(isinstance(cmd, SendChat) for cmd in cmds)
    assert state.notice == OFFLINE_NOTICE and StartTimer(Timer.NOTICE, S.notice_s) in cmds
    assert state.nav.view is View.COMPOSE and state.nav.entry.text == "G"


def test_draft_survives_a_call_and_comes_back() -> None:
    state, _ = run(STATES["compose_pending"], [UP, DOWN])
    assert state.phase is Phase.IDLE and state.nav.view is View.HOME
    state, _ = run(state, [key(Key.MENU), key(Key.SELECT), key(Key.SELECT), key(Key.SELECT)])
    assert state.nav.view is View.COMPOSE and state.nav.entry.text == "G"


def test_write_for_another_contact_starts_empty() -> None:
    state, _ = run(STATES["compose_pending"], [TimerFired(Timer.CHAT_IDLE)])
    state, _ = run(state, keys(Key.CONTACTS, Key.DOWN, Key.SELECT, Key.SELECT, Key.SELECT, Key.SELECT))
    assert state.nav.view is View.COMPOSE and state.nav.peer == BOB.jid and state.nav.entry.shown == ""


@pytest.mark.parametrize(
    ("action", "uri"),
    [(1, "sip:1002@example.org"), (2, f"sip:+49301234@{S.domain};user=phone")],
    ids=["sip-tel", "tel-uri-video"],
)
def test_call_a_contact_from_its_vcard_tel(action: int, uri: str) -> None:
    state, cmds = run(STATES["contact"], [key(Key.DOWN)] * action + [key(Key.SELECT)])
    assert MakeCall(1, uri) in cmds
    assert state.phase is Phase.CALLING and state.nav.view is View.HOME  # the call takes the display


@pytest.mark.parametrize(
    ("tel", "target"),
    [
        ("sip:bob@example.org", "sip:bob@example.org"),
        ("tel:+1-555-0100;ext=12", f"sip:+15550100@{S.domain};user=phone"),
        ("TEL:(030) 123", f"sip:030123@{S.domain};user=phone"),
    ],
)
def test_tel_target(tel: str, target: str) -> None:
    assert tel_target(tel, S.domain) == target


def test_vcard_tels_become_call_actions() -> None:
    state, _ = run(STATES["contact"], [VCardLoaded(VCard(ALICE.jid, "Alice A.", (Tel("sip:9@x.org", "9"),)))])
    state, cmds = run(state, keys(Key.DOWN, Key.SELECT))
    assert MakeCall(1, "sip:9@x.org") in cmds


def test_a_call_action_left_beyond_the_tels_still_goes_through_cusax() -> None:
    """The cursor was on a tel that a vCard update then removed: SELECT calls the tel now under the
    cursor the CUSAX way (the contact identified, cost rules applied), as if moved there."""
    two = VCard(ALICE.jid, "Alice A.", (Tel("sip:8@x.org", "8"), Tel("sip:9@x.org", "9")))
    state, _ = run(STATES["contact"], [VCardLoaded(two), *keys(Key.DOWN, Key.DOWN)])
    assert state.nav.action == 2
    one = VCard(ALICE.jid, "Alice A.", (Tel("sip:8@x.org", "8"),))
    state, cmds = run(state, [VCardLoaded(one), key(Key.SELECT)])
    assert MakeCall(1, "sip:8@x.org") in cmds
    assert state.cusax.party == Party(1, Identity.VERIFIED, ALICE.jid, "contact")


def test_message_while_idle_raises_banner_and_counts() -> None:
    state, cmds = step(STATES["home"], HELLO)
    assert state.nav.banner == ALICE.jid and state.chat.unread == {ALICE.jid: 1}
    assert cmds == (PersistChat(ALICE.jid, (HELLO.message,), 1), BANNER_TIMER)


@pytest.mark.parametrize("name", ["in_call", "ringing", "dialing"])
def test_message_during_a_call_only_counts(name: str) -> None:
    start = {
        "in_call": [CALLER, UP],
        "ringing": [CALLER],
        "dialing": keys(Key.D1),
    }[name]
    before, _ = run(STATES["home"], start)
    after, cmds = step(before, HELLO)
    assert cmds == (PersistChat(ALICE.jid, (HELLO.message,), 1),)
    assert after.nav.banner == "" and after.chat.unread_total == 1
    assert replace(after, chat=before.chat) == before  # nothing else moved


def test_message_in_the_open_conversation_is_read() -> None:
    state, cmds = step(STATES["conversation"], received(ALICE.jid, "still there?"))
    assert state.chat.unread_total == 0 and state.nav.banner == ""
    assert cmds == (PersistChat(ALICE.jid, state.chat.history[ALICE.jid], 0),)


def test_message_from_someone_else_while_reading_a_conversation() -> None:
    state, _ = step(STATES["conversation"], received(BOB.jid, "psst"))
    assert state.chat.unread == {BOB.jid: 1} and state.nav.banner == BOB.jid
    assert state.nav.view is View.CONVERSATION and state.nav.peer == ALICE.jid


def test_scrolling_a_long_conversation() -> None:
    long = [received(ALICE.jid, f"message number {i} " + "word " * 8) for i in range(8)]
    state, _ = run(STATES["conversation"], long)
    top = max_scroll(state.chat.history[ALICE.jid], S.display_size)
    assert top > 10
    state, _ = run(state, [key(Key.UP)] * 3)
    assert state.nav.scroll == 3
    state, _ = run(state, [key(Key.STAR)] * 100)
    assert state.nav.scroll == top
    state, _ = run(state, keys(Key.DOWN))
    assert state.nav.scroll == top - 1
    # a new message keeps the lines being read in place: the scroll grows by its lines
    grown, _ = step(state, received(ALICE.jid, "one more line"))
    assert grown.nav.scroll == top - 1 + 1
    state, _ = run(state, [key(Key.HASH)] * 100)
    assert state.nav.scroll == 0


def test_roster_cursor_follows_its_contact_when_presence_reorders() -> None:
    state, _ = run(STATES["roster"], keys(Key.DOWN, Key.DOWN))  # carol, offline, last
    assert state.nav.roster_jid == CAROL.jid
    state, _ = step(state, PresencesChanged(((CAROL.jid, Presence(Show.CHAT)),)))  # now first
    state, _ = step(state, key(Key.DOWN))
    assert state.nav.roster_jid == ALICE.jid  # the one after carol in the new order


def test_letter_keys_find_names_in_the_roster() -> None:
    names = ("Zoe", "\u00c9mile", "Dora", "anna", "Bert")
    state, _ = run(
        STATES["home"], [RosterLoaded(tuple(Contact(f"{n}@x", n) for n in names)), key(Key.CONTACTS)]
    )
    # order (all offline): anna, Bert, Dora, Emile, Zoe; the cursor starts on anna
    state, _ = step(state, key(Key.D3))  # d e f
    assert state.nav.roster_jid == "Dora@x"
    state, _ = step(state, key(Key.D3))
    assert state.nav.roster_jid == "\u00c9mile@x"  # filed under e
    state, _ = step(state, key(Key.D9))
    assert state.nav.roster_jid == "Zoe@x"
    state, _ = step(state, key(Key.D2))  # wraps around to anna
    assert state.nav.roster_jid == "anna@x"


def test_roster_cursor_survives_its_contact_being_removed() -> None:
    state, _ = run(STATES["roster"], keys(Key.DOWN, Key.DOWN))
    state, _ = step(state, RosterChanged(removed=(CAROL.jid,)))
    state, _ = step(state, key(Key.SELECT))
    assert state.nav.view is View.CONTACT and state.nav.contact == BOB.jid


# ---------------------------------------------------------------- XMPP events in any phase


def test_online_sets_own_presence() -> None:
    _, cmds = step(PhoneState(), ChatConnectionChanged(ChatState.ONLINE))
    assert SetPresence(Show.AVAILABLE) in cmds


def test_connection_lost_means_presence_unknown() -> None:
    state, cmds = step(STATES["roster"], ChatConnectionChanged(ChatState.UNREACHABLE, "timeout"))
    assert state.chat.roster.online == 0 and len(state.chat.roster) == 3
    assert not any(isinstance(cmd, SetPresence) for cmd in cmds)
    assert state.chat.reason == "timeout" and state.nav.view is View.ROSTER


def test_chat_disabled_closes_the_chat_screens() -> None:
    state, _ = step(STATES["compose_pending"], ChatConnectionChanged(ChatState.DISABLED))
    assert state.nav.view is View.HOME
    state, cmds = step(state, key(Key.CONTACTS))
    assert state.nav.view is View.HOME and len(cmds) == 1 and isinstance(cmds[0], Log)


def test_room_echo_of_our_own_message_is_not_shown_twice() -> None:
    state, cmds = run(STATES["room"], keys(Key.SELECT, Key.DOWN, Key.SELECT))  # canned "OK" to the room
    assert SendChat(ROOM.jid, "OK", groupchat=True) in cmds
    echo = received(ROOM.jid, "OK", groupchat=True, sender="me")
    state, _ = step(state, echo)
    assert [m.body for m in state.chat.history[ROOM.jid]] == ["OK"]
    state, _ = step(state, received(ROOM.jid, "from my laptop", groupchat=True, sender="me"))
    assert state.chat.history[ROOM.jid][-1].outgoing and state.chat.unread_total == 0


def test_duplicates_by_id_are_dropped() -> None:
    once, _ = step(STATES["home"], received(ALICE.jid, "hi", id="m1"))
    twice, cmds = step(once, received(ALICE.jid, "hi", id="m1"))
    assert twice == once and cmds == ()
    other, _ = step(once, received(ALICE.jid, "different", id="m1"))
    assert len(other.chat.history[ALICE.jid]) == 2


def test_outgoing_carbon_marks_the_conversation_read() -> None:
    state, _ = step(STATES["home_unread"], received(ALICE.jid, "sent from my phone", outgoing=True))
    assert state.chat.unread_total == 0 and state.chat.history[ALICE.jid][-1].outgoing


def test_history_is_bounded_per_peer_and_in_peers() -> None:
    state, cmds = run(STATES["home"], [received(ALICE.jid, f"m{i}") for i in range(HISTORY_PER_PEER + 10)])
    assert len(state.chat.history[ALICE.jid]) == HISTORY_PER_PEER
    assert state.chat.history[ALICE.jid][-1].body == f"m{HISTORY_PER_PEER + 9}"
    assert state.chat.unread[ALICE.jid] == HISTORY_PER_PEER + 10  # what arrived, even if not all kept
    peers = [f"p{i}@example.org" for i in range(MAX_PEERS + 5)]
    state, cmds = run(state, [received(peer, "hi") for peer in peers])
    assert len(state.chat.history) == MAX_PEERS
    assert ALICE.jid not in state.chat.history and ALICE.jid not in state.chat.unread
    forgotten = [cmd.peer for cmd in cmds if isinstance(cmd, PersistChat) and not cmd.messages]
    assert forgotten == [ALICE.jid, *peers[:5]]  # 206 conversations: the 6 least recent go


@pytest.mark.parametrize(
    ("message", "kept"),
    [
        (msg(ALICE.jid, "x" * 1_000_000), "trunc"),
        (msg("", "no peer"), None),
        (msg("a" * 5000 + "@x", "long jid"), None),
        (msg(ALICE.jid, "ok", sender="n" * 10_000, id="i" * 10_000), "bounded"),
    ],
    ids=["1MB-body", "no-peer", "huge-jid", "huge-nick-id"],
)
def test_hostile_messages_are_bounded(message: ChatMessage, kept: str | None) -> None:
    bounded = bounded_message(message)
    if kept is None:
        assert bounded is None
        state, cmds = step(STATES["home"], MessageReceived(message))
        assert state == STATES["home"] and len(cmds) == 1 and isinstance(cmds[0], Log)
        return
    assert bounded is not None
    assert len(bounded.body) <= MAX_BODY and len(bounded.sender) <= 128 and len(bounded.id) <= 128
    if kept == "trunc":
        assert bounded.truncated


def test_history_loaded_goes_before_what_arrived_since() -> None:
    state, _ = step(STATES["home"], received(ALICE.jid, "new"))
    old = (msg(ALICE.jid, "old", at=T0 - timedelta(days=1)),)
    saved = ChatHistoryLoaded((SavedChat(BOB.jid, (msg(BOB.jid, "bob"),), 2), SavedChat(ALICE.jid, old, 1)))
    state, _ = step(state, saved)
    assert [m.body for m in state.chat.history[ALICE.jid]] == ["old", "new"]
    assert state.chat.unread == {BOB.jid: 2, ALICE.jid: 2}
    assert list(state.chat.history) == [BOB.jid, ALICE.jid]


def test_history_loaded_is_bounded_and_checked() -> None:
    chats = tuple(SavedChat(f"p{i}@x", (msg(f"p{i}@x", "hi"),), 1) for i in range(MAX_PEERS + 3))
    bad = (SavedChat("q@x", (msg("someone-else@x", "wrong peer"),), 5), SavedChat("e@x", (), 3))
    state, cmds = step(PhoneState(), ChatHistoryLoaded(bad + chats))
    assert len(state.chat.history) == MAX_PEERS and "q@x" not in state.chat.history
    assert set(state.chat.unread) <= set(state.chat.history)
    assert [cmd.peer for cmd in cmds if isinstance(cmd, PersistChat)] == ["p0@x", "p1@x", "p2@x"]


def test_flood_of_messages_stays_bounded_and_fast() -> None:
    state = STATES["home"]
    events = [received(f"p{i % 300}@example.org", "spam " * 50) for i in range(10_000)]
    start = time.perf_counter()
    for event in events:
        state, _ = step(state, event)
    per_message = (time.perf_counter() - start) / len(events)
    assert len(state.chat.history) == MAX_PEERS
    assert all(len(h) <= HISTORY_PER_PEER for h in state.chat.history.values())
    assert per_message < 0.001, f"{per_message * 1e6:.0f} us per message"


def test_presence_flood_on_5000_contacts() -> None:
    contacts = tuple(Contact(f"u{i}@example.org", f"User {i}") for i in range(5000))
    state, _ = run(STATES["roster"], [RosterLoaded(contacts), key(Key.DOWN)])
    start = time.perf_counter()
    for i in range(300):
        update = ((f"u{(i * 17) % 5000}@example.org", Presence(list(Show)[i % 6])),)
        state, _ = run(state, [PresencesChanged(update), key(Key.DOWN)])
    per_step = (time.perf_counter() - start) / 300
    assert per_step < 0.002, f"{per_step * 1e3:.2f} ms per presence + key"


# ---------------------------------------------------------------- never raises, pure


def sample_events(state: PhoneState) -> list[Event]:
    return [
        *(ChatConnectionChanged(s, "reason") for s in ChatState),
        RosterLoaded(()),
        RosterLoaded((ALICE,)),
        RosterChanged(changed=(Contact("new@x"),), removed=(ALICE.jid, "nobody@x")),
        PresencesChanged(
            ((BOB.jid, Presence(Show.DND, "\u202eevil\x07")), ("stranger@x", Presence(Show.CHAT)))
        ),
        VCardLoaded(VCard(CAROL.jid, "Carol", (Tel("garbage", "g"),))),
        HELLO,
        received(ALICE.jid, "me", outgoing=True),
        received(ROOM.jid, "room", groupchat=True, sender="other"),
        received("", "x"),
        RoomJoined(ROOM),
        ChatHistoryLoaded(()),
        *(TimerFired(t) for t in (Timer.MULTITAP, Timer.CHAT_BANNER, Timer.CHAT_IDLE)),
        CALLER,
        CallEnded(state.call.call_id if state.call else 1, 200, "OK"),
    ]


@pytest.mark.parametrize("k", list(Key), ids=lambda k: k.name)
@pytest.mark.parametrize("name", list(STATES))
def test_every_key_in_every_view_never_raises(name: str, k: Key) -> None:
    state = STATES[name]
    before = copy.deepcopy(state)
    first = step(state, KeyPressed(k))
    assert step(state, KeyPressed(k)) == first and state == before
    hash(first[0])


@pytest.mark.parametrize(
    ("name", "index"),
    [(name, i) for name, state in STATES.items() for i in range(len(sample_events(state)))],
)
def test_every_event_in_every_view_never_raises(name: str, index: int) -> None:
    state = STATES[name]
    event = sample_events(state)[index]
    before = copy.deepcopy(state)
    first = step(state, event)
    assert step(state, event) == first and state == before
    hash(first[0])


# ---------------------------------------------------------------- hypothesis: invariants

CHAT_COMMANDS = (SetPresence, PersistChat, StartTimer, Log)
JIDS = [ALICE.jid, BOB.jid, CAROL.jid, ROOM.jid, "stranger@x"]
CALL_FIELDS = (
    "phase",
    "call",
    "off_hook",
    "route",
    "digits",
    "ended_reason",
    "registration",
    "last_dialed",
    "next_call_id",
    "handset_volume",
    "speaker_volume",
    "notice",
)

XMPP = st.one_of(
    st.builds(ChatConnectionChanged, st.sampled_from(list(ChatState)), st.sampled_from(["", "why"])),
    st.builds(RosterLoaded, st.just((ALICE, BOB, CAROL))),
    st.builds(
        RosterChanged,
        st.just((Contact("new@x", "New"),)),
        st.lists(st.sampled_from(JIDS), max_size=2).map(tuple),
    ),
    st.builds(
        PresencesChanged,
        st.lists(
            st.tuples(st.sampled_from(JIDS), st.builds(Presence, st.sampled_from(list(Show)), st.just("s"))),
            max_size=4,
        ).map(tuple),
    ),
    st.builds(VCardLoaded, st.builds(VCard, st.sampled_from(JIDS), st.just("Card"))),
    st.builds(
        MessageReceived,
        st.builds(
            ChatMessage,
            st.sampled_from([*JIDS, *(f"p{i}@x" for i in range(6))]),
            st.sampled_from(["hi", "x" * 3000, "", "\u05e9\u05dc\u05d5\u05dd \U0001f4de"]),
            st.just(T0),
            outgoing=st.booleans(),
            groupchat=st.booleans(),
            sender=st.sampled_from(["", "me", "other"]),
            id=st.sampled_from(["", "a", "b"]),
        ),
    ),
    st.builds(RoomJoined, st.just(ROOM)),
    st.builds(ChatHistoryLoaded, st.just((SavedChat(BOB.jid, (msg(BOB.jid, "saved"),), 3),))),
)
CHAT_TIMERS = st.builds(TimerFired, st.sampled_from([Timer.MULTITAP, Timer.CHAT_BANNER, Timer.CHAT_IDLE]))
ACTIONS = st.one_of(
    XMPP,
    XMPP,
    CHAT_TIMERS,
    st.builds(KeyPressed, st.sampled_from(list(Key))),
    st.builds(
        KeyPressed,
        st.sampled_from([Key.UP, Key.DOWN, Key.SELECT, Key.BACK, Key.MENU, Key.CONTACTS, Key.D4, Key.STAR]),
    ),
    st.builds(KeyPressed, st.sampled_from([Key.SELECT, Key.DOWN, Key.D2, Key.HASH])),
    st.builds(HookChanged, st.booleans()),
    st.just("incoming"),
    st.just("connected"),
    st.just("ended"),
    st.builds(TimerFired, st.sampled_from([Timer.ENDED, Timer.INTERDIGIT, Timer.DIALTONE, Timer.NOTICE])),
)


class ChatHarness:
    def __init__(self) -> None:
        self.state = PhoneState()
        self.timers: set[Timer] = set()
        self.next_incoming = -1

    def resolve(self, action: Any) -> Event:
        if action == "incoming":
            self.next_incoming -= 1
            return IncomingCall(self.next_incoming, "sip:x@example.org")
        cid = self.state.call.call_id if self.state.call is not None else 4242
        if action == "connected":
            return CallConnected(cid)
        if action == "ended":
            return CallEnded(cid, 200, "OK")
        event: Event = action
        return event

    def feed(self, event: Event) -> None:
        prev = self.state
        new, cmds = step(prev, event)
        chat_event = isinstance(
            event,
            (
                ChatConnectionChanged,
                RosterLoaded,
                RosterChanged,
                PresencesChanged,
                VCardLoaded,
                MessageReceived,
                RoomJoined,
                ChatHistoryLoaded,
            ),
        ) or (
            isinstance(event, TimerFired)
            and event.timer in (Timer.MULTITAP, Timer.CHAT_BANNER, Timer.CHAT_IDLE)
        )
        if chat_event:
            for name in CALL_FIELDS:
                assert getattr(new, name) == getattr(prev, name), f"{type(event).__name__} changed {name}"
            for cmd in cmds:
                assert isinstance(cmd, CHAT_COMMANDS), cmd
                if isinstance(cmd, StartTimer):
                    assert cmd.timer is Timer.CHAT_BANNER
        if isinstance(event, TimerFired):
            self.timers.discard(event.timer)
        for cmd in cmds:
            if isinstance(cmd, StartTimer):
                self.timers.add(cmd.timer)
            elif isinstance(cmd, CancelTimer):
                self.timers.discard(cmd.timer)
        self.state = new
        self.check()

    def check(self) -> None:
        s = self.state
        chat, nav = s.chat, s.nav
        assert len(chat.history) <= MAX_PEERS
        for peer, messages in chat.history.items():
            assert 0 < len(messages) <= HISTORY_PER_PEER
            assert all(m.peer == peer and len(m.body) <= MAX_BODY for m in messages)
        assert set(chat.unread) <= set(chat.history)
        assert all(n > 0 for n in chat.unread.values())
        assert chat.unread_total == sum(chat.unread.values())
        if nav.view is View.CREDENTIALS:  # the sign-in dialog (issue 4): no inactivity timeout
            assert s.phase is Phase.IDLE and s.provisioning.sign_in.open
        elif nav.view is not View.HOME:
            assert s.phase is Phase.IDLE and (chat.enabled or nav.view is View.STATUS)
            assert Timer.CHAT_IDLE in self.timers
        if nav.entry.pending is not None:
            assert nav.view is View.COMPOSE and Timer.MULTITAP in self.timers
        if nav.banner:
            assert s.phase is Phase.IDLE and Timer.CHAT_BANNER in self.timers
        assert len(nav.entry.text) <= nav.entry.limit


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(RECIPES)), st.lists(ACTIONS, max_size=60))
def test_random_chat_and_call_sequences_keep_invariants(start: str, actions: Sequence[Any]) -> None:
    h = ChatHarness()
    for event in RECIPES[start][1]:  # through the harness, so it knows the timers
        h.feed(event)
    for action in actions:
        h.feed(h.resolve(action))


@settings(max_examples=100, deadline=None)
@given(st.lists(XMPP, max_size=30))
def test_chat_events_never_touch_a_call(events: list[Event]) -> None:
    """In a call, any chat traffic leaves every call field and command alone."""
    state, _ = run(STATES["home"], [CALLER, UP])
    before = state
    for event in events:
        state, cmds = step(state, event)
        assert all(isinstance(cmd, (PersistChat, SetPresence, Log)) for cmd in cmds), cmds
    assert all(getattr(state, name) == getattr(before, name) for name in CALL_FIELDS)
    assert state.nav.banner == "" and state.nav.view is View.HOME
