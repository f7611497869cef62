"""What RFC 7081 adds to the screens (firmware/ui/cusax_screens.py): caller identity on the ringing
screen, the call prompt (chooser, cost warning), the after-call chat offer, DND and security
parity on the idle screen, a conference with its group chat. Both panel sizes, hostile data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from firmware.config import parse
from firmware.cusax import CostRules, CusaxPolicy, policy_from
from firmware.events import (
    CallConnected,
    ChatConnectionChanged,
    Event,
    IncomingCall,
    MessageReceived,
    PresencesChanged,
    RegistrationChanged,
    RegState,
    RoomJoined,
    RosterLoaded,
    VCardLoaded,
)
from firmware.machine import step
from firmware.state import PhoneState, Settings
from firmware.ui import screen
from firmware.ui.drawing import Icon, IconName
from firmware.xmpp.model import ChatMessage, ChatState, Contact, Presence, Room, Show, Tel, VCard
from firmware.xmpp.tel import tel_key
from hal.types import HookChanged, Key, KeyPressed

from .test_screens import HOSTILE, SIZES, assert_renders, frame_text

D = "lab.test"
POLICY = CusaxPolicy(own_jid="me@lab.test", call_info=True, cost=CostRules(True, True))
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def feed(state: PhoneState, events: Iterable[Event]) -> PhoneState:
    for event in events:
        state, _ = step(state, event)
    return state


def tel(uri: str, *kinds: str) -> Tel:
    return Tel(uri, tel_key(uri, D), frozenset(kinds))


BASE = feed(
    PhoneState(settings=Settings(domain=D, cusax=POLICY)),
    [
        RegistrationChanged(RegState.REGISTERED),
        ChatConnectionChanged(ChatState.ONLINE),
        RosterLoaded(
            (
                Contact("bob@lab.test", "Bob", "both", tels=(tel("sip:1002@lab.test", "video"),)),
                Contact("fred@biloxi.test", "Fred", "both"),
            )
        ),
        VCardLoaded(VCard("fred@biloxi.test", "Fred", (tel("sip:fred@biloxi.test"), tel("tel:+1 555 0199")))),
        PresencesChanged((("bob@lab.test", Presence(Show.AVAILABLE)),)),
    ],
)


def both(state: PhoneState) -> list[str]:
    for size in SIZES:
        assert_renders(state, size)
    return [frame_text(state, size) for size in SIZES]


def test_the_ringing_screen_tells_verified_claimed_and_unknown_callers_apart() -> None:
    verified = feed(BASE, [IncomingCall(-1, "sip:1002@lab.test", "Mallory")])
    text = both(verified)[0]
    assert "Bob \u2713" in text and "1002@lab.test" in text and "Mallory" not in text
    claimed = feed(BASE, [IncomingCall(-1, "sip:1003@lab.test", "", "bob@lab.test")])
    text = both(claimed)[0]
    assert (
        "claims bob@lab.test" in text and "(unverified)" in text and "\u2713" not in text and "1003" in text
    )
    unknown = feed(BASE, [IncomingCall(-1, "sip:1003@lab.test", "Carol")])
    text = both(unknown)[0]
    assert "Carol" in text and "\u2713" not in text and "claims" not in text


def test_an_outgoing_call_to_a_contact_shows_its_name() -> None:
    calling = feed(BASE, [KeyPressed(Key.CONTACTS), HookChanged(True)])
    assert "Bob \u2713" in both(calling)[0]
    connected = feed(calling, [CallConnected(1)])
    assert "Bob \u2713" in both(connected)[0]


def test_the_chooser_and_the_cost_warning() -> None:
    chooser = feed(BASE, [KeyPressed(Key.CONTACTS), KeyPressed(Key.DOWN), HookChanged(True)])
    text = both(chooser)[0]
    assert "Call Fred?" in text and "Call fred@" in text and "Call +1 555 0199" in text
    assert text.count("!") == 2  # both addresses leave the service
    warning = feed(chooser, [KeyPressed(Key.SELECT)])
    text = both(warning)[0]
    assert "Cost warning" in text and "biloxi.test" in text and "Back: no" in text


def test_after_a_call_the_chat_is_offered_and_dnd_shows_on_the_idle_screen() -> None:
    ended = feed(BASE, [IncomingCall(-1, "sip:1002@lab.test"), HookChanged(True), HookChanged(False)])
    assert "Select: chat Bob" in both(ended)[0]
    dnd = feed(BASE, [KeyPressed(Key.DND)])
    text = both(dnd)[0]
    assert "Do not disturb" in text
    assert any(isinstance(item, Icon) and item.name is IconName.DND for item in screen(dnd, SIZES[0]).items)


def test_a_security_mismatch_is_on_the_idle_screen() -> None:
    config = parse(
        {
            "sip": {"domain": D, "registrar": "r", "user": "1001", "transport": "udp"},
            "xmpp": {"jid": "me@lab.test"},
            "cusax": {"security_parity": "warn"},
        }
    )
    state = replace(BASE, settings=replace(BASE.settings, cusax=policy_from(config)))
    assert "Phone less protected" in both(state)[0]


def test_a_conference_call_shows_who_is_on_audio_and_the_chat() -> None:
    room = Room("conf@conference.lab.test", "me", "Weekly", ("bob", "carol"), "sip:conf@lab.test", ("carol",))
    state = feed(
        BASE,
        [
            RoomJoined(room),
            MessageReceived(ChatMessage(room.jid, "slides are up", NOW, groupchat=True, sender="bob")),
            IncomingCall(-1, "sip:conf@lab.test"),
            HookChanged(True),
        ],
    )
    text = both(state)[0]
    assert "Conference" in text and "Weekly" in text
    assert "Audio: You, carol" in text and "Chat only: bob" in text and "slides are up" in text


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_names_claims_and_rooms_render(text: str) -> None:
    jid = ("j" + text)[:200] + "@x.test"
    state = feed(
        BASE,
        [
            RosterLoaded(
                (Contact(jid, text, "both", tels=(tel("sip:1009@lab.test"), tel("tel:+99 " + text))),)
            ),
            RoomJoined(Room("r@muc.x", text, text, (text,), "sip:1009@lab.test", (text,))),
        ],
    )
    both(feed(state, [IncomingCall(-1, "sip:1009@lab.test", text, jid)]))
    both(feed(state, [IncomingCall(-1, "sip:1010@lab.test", text, text)]))
    both(feed(state, [KeyPressed(Key.CONTACTS), HookChanged(True)]))
    both(feed(state, [IncomingCall(-1, "sip:1009@lab.test", text), HookChanged(True), HookChanged(False)]))
