"""RFC 7081 in the state machine (firmware/machine_cusax.py) and its pure rules (firmware/cusax.py,
firmware/tel_index.py): calling contacts, caller identity, DND, presence, conferences, parity."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware import commands as c
from firmware.config import parse
from firmware.cusax import (
    CostRules,
    CusaxPolicy,
    Level,
    assess,
    auto_pick,
    call_candidates,
    cost_warning,
    impp_header,
    policy_from,
)
from firmware.cusax_state import Identity, Party
from firmware.events import (
    CallConnected,
    CallEnded,
    ChatConnectionChanged,
    Event,
    IncomingCall,
    PresencesChanged,
    RoomJoined,
    RosterChanged,
    RosterLoaded,
    Timer,
    TimerFired,
    VCardLoaded,
)
from firmware.machine import step
from firmware.state import Phase, PhoneState, Settings, View
from firmware.tel_index import MAX_JIDS_PER_KEY, TelIndex
from firmware.xmpp.model import ChatState, Contact, Presence, Room, Show, Tel, VCard
from firmware.xmpp.tel import tel_key
from hal.types import AudioPath, HookChanged, Key, KeyPressed

D = "lab.test"
ALICE, BOB, ERIN, FED = "alice@lab.test", "bob@lab.test", "erin@lab.test", "fred@biloxi.test"
UP, DOWN = HookChanged(True), HookChanged(False)
POLICY = CusaxPolicy(own_jid=ALICE, call_info=True, cost=CostRules(outside_domain=True, pstn=True))
CALL_INFO = (("Call-Info", f"<xmpp:{ALICE}>;purpose=impp"),)


def tel(uri: str, *kinds: str) -> Tel:
    return Tel(uri, tel_key(uri, D), frozenset(kinds))


def key(k: Key) -> KeyPressed:
    return KeyPressed(k)


def run(state: PhoneState, events: Iterable[Event]) -> tuple[PhoneState, list[c.Command]]:
    out: list[c.Command] = []
    for event in events:
        state, cmds = step(state, event)
        out += cmds
    return state, out


ROSTER = RosterLoaded(
    (
        Contact(BOB, "Bob", "both", tels=(tel(f"sip:1002@{D}"),)),
        Contact(ERIN, "Erin", "both", tels=(tel("tel:+1 555 0100"),)),
        Contact(FED, "Fred", "both"),
        Contact("carol@lab.test", "Carol", "both"),
    )
)
ONLINE = [
    ChatConnectionChanged(ChatState.ONLINE),
    ROSTER,
    VCardLoaded(VCard(FED, "Fred", (tel("tel:555-0199"), tel("sip:fred@biloxi.test")))),
    PresencesChanged(((BOB, Presence(Show.AVAILABLE)),)),
]
BASE = run(PhoneState(settings=Settings(domain=D, cusax=POLICY)), ONLINE)[0]


def made(cmds: Sequence[c.Command]) -> list[c.MakeCall]:
    return [cmd for cmd in cmds if isinstance(cmd, c.MakeCall)]


def presences(cmds: Sequence[c.Command]) -> list[tuple[Show, str]]:
    return [(cmd.show, cmd.status) for cmd in cmds if isinstance(cmd, c.SetPresence)]


# ---------------------------------------------------------------- the tel index (C10)


def test_the_index_follows_roster_vcards_and_removals() -> None:
    assert BASE.cusax.tels.get("tel:1002") == (BOB,)
    assert BASE.cusax.tels.get("tel:+15550100") == (ERIN,)
    assert BASE.cusax.tels.get("sip:fred@biloxi.test") == (FED,)
    # A vCard replaces the roster's cached tels; the old key goes.
    state, _ = run(BASE, [VCardLoaded(VCard(BOB, "Bob", (tel("sip:bob@lab.test"),)))])
    assert state.cusax.tels.get("tel:1002") == () and state.cusax.tels.get("sip:bob@lab.test") == (BOB,)
    state, _ = run(state, [RosterChanged(removed=(BOB,))])
    assert state.cusax.tels.get("sip:bob@lab.test") == ()
    # A card of someone not in the roster verifies nothing.
    state, _ = run(state, [VCardLoaded(VCard("eve@evil.test", "Eve", (tel("sip:1003@lab.test"),)))])
    assert state.cusax.tels.get("tel:1003") == ()


def test_index_patch_is_a_no_op_when_nothing_changes_and_bounds_jids_per_key() -> None:
    index = TelIndex.build([("a@x", ["k1", "k2"]), ("b@x", ["k1"])])
    assert index.get("k1") == ("a@x", "b@x") and index.get("") == ()
    assert index.patched({"a@x": (frozenset({"k1", "k2"}), frozenset({"k1", "k2"}))}) is index
    moved = index.patched({"a@x": (frozenset({"k1", "k2"}), frozenset({"k3"}))})
    assert moved.get("k1") == ("b@x",) and moved.get("k2") == () and moved.get("k3") == ("a@x",)
    crowd = TelIndex.build((f"j{i}@x", ["shared"]) for i in range(100))
    assert len(crowd.get("shared")) == MAX_JIDS_PER_KEY


def test_reachability_addresses_are_indexed_as_hints_only() -> None:
    reach = Presence(Show.AVAILABLE, reach=(tel("sip:1009@lab.test"),))
    state, _ = run(BASE, [PresencesChanged((("carol@lab.test", reach),))])
    assert state.cusax.reach.get("tel:1009") == ("carol@lab.test",)
    assert state.cusax.tels.get("tel:1009") == ()  # a hint is not a vCard tel
    state, _ = run(state, [IncomingCall(-1, "sip:1009@lab.test")])
    assert state.cusax.party == Party(-1, Identity.CLAIMED_UNVERIFIED, "carol@lab.test", "reach")
    offline, _ = run(state, [PresencesChanged((("carol@lab.test", Presence()),))])
    assert offline.cusax.reach.get("tel:1009") == ()


# ---------------------------------------------------------------- who is calling (section 3.5)


@pytest.mark.parametrize(
    ("remote", "hint", "identity", "jid", "source"),
    [
        (f"sip:1002@{D}", None, Identity.VERIFIED, BOB, "vcard"),
        (f"sip:1002@{D};transport=tcp", ALICE, Identity.VERIFIED, BOB, "vcard"),  # the AOR decides
        ("sip:+15550100@lab.test;user=phone", None, Identity.VERIFIED, ERIN, "vcard"),
        (f"sip:1003@{D}", BOB, Identity.CLAIMED_UNVERIFIED, BOB, "call-info"),  # not in bob's vCard
        (
            f"sip:1003@{D}",
            "stranger@else.where",
            Identity.CLAIMED_UNVERIFIED,
            "stranger@else.where",
            "call-info",
        ),
        (f"sip:1003@{D}", None, Identity.UNKNOWN, "", ""),
        ("garbage <not a uri>", None, Identity.UNKNOWN, "", ""),
    ],
)
def test_caller_identity(remote: str, hint: str | None, identity: Identity, jid: str, source: str) -> None:
    state, cmds = run(BASE, [IncomingCall(-3, remote, "Display", hint)])
    assert state.phase is Phase.RINGING
    assert state.cusax.party == Party(-3, identity, jid, source)
    assert c.StartRinger() in cmds


def test_a_shared_number_is_attributed_by_the_call_info_hint() -> None:
    shared = VCardLoaded(VCard("carol@lab.test", "Carol", (tel(f"sip:1002@{D}"),)))
    state, _ = run(BASE, [shared])
    assert state.cusax.tels.get("tel:1002") == (BOB, "carol@lab.test")
    hinted, _ = run(state, [IncomingCall(-1, f"sip:1002@{D}", "", "carol@lab.test")])
    assert hinted.cusax.party is not None and hinted.cusax.party.jid == "carol@lab.test"
    plain, _ = run(state, [IncomingCall(-1, f"sip:1002@{D}")])
    assert plain.cusax.party is not None and plain.cusax.party.jid == BOB


def test_outgoing_calls_are_matched_too_and_cleared_after() -> None:
    state, _ = run(BASE, [UP, *[key(Key(ch)) for ch in "1002"], key(Key.HASH)])
    assert state.cusax.party == Party(1, Identity.VERIFIED, BOB, "vcard")
    state, cmds = run(state, [CallConnected(1), DOWN])
    assert state.cusax.party is None and state.cusax.offer == BOB
    assert c.StartTimer(Timer.CALL_CHAT, 30.0) in cmds


# ---------------------------------------------------------------- calling a contact (C1-C8, S6)


def in_roster(state: PhoneState, jid: str) -> PhoneState:
    state, _ = run(state, [key(Key.CONTACTS)])
    for _ in range(len(state.chat.roster)):
        if state.chat.roster.at(state.chat.roster.index(jid) or 0) == jid and state.nav.roster_jid == jid:
            break
        state, _ = run(state, [key(Key.DOWN)])
    assert state.nav.roster_jid == jid or state.chat.roster.at(0) == jid
    return state


def test_lifting_the_handset_on_a_roster_contact_calls_it_with_call_info() -> None:
    state, _ = run(BASE, [key(Key.CONTACTS)])
    assert state.chat.roster.at(0) == BOB  # online first
    state, cmds = run(state, [UP])
    assert state.phase is Phase.CALLING and state.route is AudioPath.HANDSET
    assert made(cmds) == [c.MakeCall(1, f"sip:1002@{D}", CALL_INFO)]
    assert state.cusax.party == Party(1, Identity.VERIFIED, BOB, "contact")
    assert state.nav.view is View.HOME  # the call took the display
    assert presences(cmds) == [(Show.AWAY, "On the phone")]


def test_without_call_info_in_the_profile_no_header_is_sent() -> None:
    quiet = replace(BASE, settings=replace(BASE.settings, cusax=replace(POLICY, call_info=False)))
    _, cmds = run(quiet, [key(Key.CONTACTS), UP])
    assert made(cmds) == [c.MakeCall(1, f"sip:1002@{D}")]
    assert impp_header(CusaxPolicy(call_info=True)) == ()  # no XMPP account: nothing to claim


def test_lifting_elsewhere_gives_dial_tone_as_before() -> None:
    state, cmds = run(BASE, [UP])
    assert state.phase is Phase.DIALTONE and c.PlayTone(c.Tone.DIAL) in cmds
    chats, _ = run(BASE, [key(Key.MENU), UP])
    assert chats.phase is Phase.DIALTONE


def test_contact_call_action_and_conversation_call_the_contact() -> None:
    contact, _ = run(BASE, [key(Key.CONTACTS), key(Key.SELECT), key(Key.DOWN)])
    assert contact.nav.view is View.CONTACT and contact.nav.action == 1
    called, cmds = run(contact, [key(Key.SELECT)])  # "Call 1002", hands-free
    assert called.phase is Phase.CALLING and called.route is AudioPath.SPEAKER
    assert made(cmds)[0].uri == f"sip:1002@{D}"
    conversation, _ = run(BASE, [key(Key.CONTACTS), key(Key.SELECT), key(Key.SELECT)])
    assert conversation.nav.view is View.CONVERSATION
    lifted, cmds = run(conversation, [UP])
    assert lifted.phase is Phase.CALLING and made(cmds)[0].uri == f"sip:1002@{D}"


def test_a_contact_without_a_number_gives_dial_tone_and_says_so() -> None:
    state = in_roster(BASE, "carol@lab.test")
    state, cmds = run(state, [UP])
    assert state.phase is Phase.DIALTONE and state.notice == "No number for Carol"
    assert c.PlayTone(c.Tone.DIAL) in cmds and c.StartTimer(Timer.NOTICE, 6.0) in cmds


def test_a_pstn_number_asks_first_select_calls_back_cancels() -> None:
    state = in_roster(BASE, ERIN)
    asked, cmds = run(state, [UP])
    assert asked.phase is Phase.DIALTONE and asked.off_hook
    assert (
        asked.cusax.prompt is not None and asked.cusax.prompt.warning == "Telephone network: may cost money"
    )
    assert made(cmds) == [] and c.PlayTone(c.Tone.DIAL) not in cmds  # the display asks: no tone
    called, cmds = run(asked, [key(Key.SELECT)])
    assert called.phase is Phase.CALLING and made(cmds)[0].uri == "sip:+15550100@lab.test;user=phone"
    cancelled, cmds = run(asked, [key(Key.BACK)])
    assert cancelled.phase is Phase.DIALTONE and cancelled.cusax.prompt is None
    assert cmds == [c.PlayTone(c.Tone.DIAL)]
    hung_up, _ = run(asked, [DOWN])
    assert hung_up.phase is Phase.IDLE and hung_up.cusax.prompt is None


def test_a_federated_contact_has_two_addresses_the_person_chooses() -> None:
    state = in_roster(BASE, FED)
    asked, _ = run(state, [UP])
    prompt = asked.cusax.prompt
    assert prompt is not None and not prompt.confirming  # C7: several addresses, none ours
    assert [ch.target for ch in prompt.choices] == ["sip:fred@biloxi.test", "sip:5550199@lab.test;user=phone"]
    second, _ = run(asked, [key(Key.DOWN), key(Key.SELECT)])
    assert second.cusax.prompt is not None
    assert second.cusax.prompt.warning == "Contact at biloxi.test. Telephone network: may cost money"
    back, _ = run(second, [key(Key.BACK)])  # back to the choice, not out
    assert (
        back.cusax.prompt is not None and not back.cusax.prompt.confirming and back.cusax.prompt.cursor == 1
    )
    first, _ = run(back, [key(Key.UP), key(Key.SELECT)])
    assert first.cusax.prompt is not None and first.cusax.prompt.warning == (
        "Contact at biloxi.test. Outside lab.test: biloxi.test"
    )
    called, cmds = run(first, [key(Key.SELECT)])
    assert called.phase is Phase.CALLING and made(cmds)[0].uri == "sip:fred@biloxi.test"


def test_digits_on_a_prompt_dial_by_hand_and_an_incoming_call_clears_it() -> None:
    asked, _ = run(in_roster(BASE, ERIN), [UP])
    dialled, _ = run(asked, [key(Key.D5)])
    assert dialled.phase is Phase.DIALING and dialled.digits == "5" and dialled.cusax.prompt is None
    on_hook, _ = run(in_roster(BASE, ERIN), [key(Key.SELECT), key(Key.DOWN), key(Key.SELECT)])
    assert on_hook.phase is Phase.IDLE and on_hook.cusax.prompt is not None  # asked on-hook
    rung, _ = run(on_hook, [IncomingCall(-1, "sip:x@y.z")])
    assert rung.phase is Phase.RINGING and rung.cusax.prompt is None
    timed_out, _ = run(on_hook, [TimerFired(Timer.CHAT_IDLE)])
    assert timed_out.nav.view is View.HOME and timed_out.cusax.prompt is None


def test_candidates_rank_own_domain_first_and_auto_pick_follows_the_relationship() -> None:
    tels = (tel("tel:+4930123"), tel("sip:bob@other.test"), tel(f"sip:1002@{D}"), tel("mailto:x@y"))
    ranked = call_candidates(tels, D)
    assert [(cand.target, cand.rank) for cand in ranked] == [
        (f"sip:1002@{D}", 0),
        ("sip:bob@other.test", 1),
        (f"sip:+4930123@{D};user=phone", 2),
    ]
    assert auto_pick(ranked, CusaxPolicy()) == ranked[0]  # S5/C8: related, our own domain's AOR
    assert auto_pick(ranked, CusaxPolicy(related=False)) is None  # C7: ask
    assert auto_pick(ranked[2:], CusaxPolicy(related=False)) == ranked[2]  # C6: one address
    assert auto_pick((), CusaxPolicy()) is None


@pytest.mark.parametrize(
    ("uri", "jid", "rules", "warning"),
    [
        (f"sip:1002@{D}", BOB, CostRules(True, True), ""),
        ("sip:bob@else.test", BOB, CostRules(True, True), "Outside lab.test: else.test"),
        ("sip:bob@else.test", BOB, CostRules(False, True), ""),
        ("tel:+4930123", BOB, CostRules(True, True), "Telephone network: may cost money"),
        ("tel:0049 30 123", BOB, CostRules(True, True), "Telephone network: may cost money"),
        ("tel:+4930123", BOB, CostRules(True, False), ""),
        ("tel:1002", BOB, CostRules(True, True), ""),  # an extension of our own service
        (
            "tel:5551234",
            FED,
            CostRules(True, True),
            "Contact at biloxi.test. Telephone network: may cost money",
        ),
        ("tel:0900123", BOB, CostRules(False, False, ("^0900",)), "May cost money"),
        ("tel:0900123", BOB, CostRules(False, False, ("(",)), ""),  # a broken pattern matches nothing
    ],
)
def test_cost_warning_rules(uri: str, jid: str, rules: CostRules, warning: str) -> None:
    candidate = call_candidates((tel(uri),), D)[0]
    assert cost_warning(CusaxPolicy(own_jid=ALICE, cost=rules), D, candidate, jid) == warning


# ---------------------------------------------------------------- DND and presence


def test_dnd_rejects_incoming_calls_busy_and_shows_dnd_presence() -> None:
    state, cmds = run(BASE, [key(Key.DND)])
    assert state.cusax.dnd and presences(cmds) == [(Show.DND, "")]
    rejected, cmds = run(state, [IncomingCall(-4, f"sip:1002@{D}")])
    assert rejected.phase is Phase.IDLE and c.Hangup(-4, 486) in cmds and c.StartRinger() not in cmds
    _, cmds = run(state, [UP])
    assert presences(cmds) == [(Show.DND, "On the phone")]
    off, cmds = run(state, [key(Key.DND)])
    assert not off.cusax.dnd and presences(cmds) == [(Show.AVAILABLE, "")]


def test_presence_follows_the_hook_and_reconnecting_keeps_it() -> None:
    lifted, cmds = run(BASE, [UP])
    assert presences(cmds) == [(Show.AWAY, "On the phone")]
    # The chat reconnects mid-call: the machine_chat default (available) is replaced.
    again, cmds = run(
        lifted, [ChatConnectionChanged(ChatState.CONNECTING), ChatConnectionChanged(ChatState.ONLINE)]
    )
    assert presences(cmds) == [(Show.AWAY, "On the phone")]
    _, cmds = run(again, [DOWN])
    assert presences(cmds) == [(Show.AVAILABLE, "")]
    _, cmds = run(BASE, [IncomingCall(-1, "sip:x@y.z")])
    assert presences(cmds) == []  # ringing is not yet "on the phone"
    offline = run(PhoneState(settings=Settings(domain=D, cusax=POLICY)), [UP])[1]
    assert presences(offline) == []  # no chat: no presence


# ---------------------------------------------------------------- after the call (C10)


def test_after_a_verified_call_select_opens_the_chat() -> None:
    state, _ = run(BASE, [IncomingCall(-1, f"sip:1002@{D}"), UP, CallEnded(-1, 200, "OK")])
    assert state.phase is Phase.ENDED and state.cusax.offer == BOB
    chat, cmds = run(replace(state, off_hook=False), [key(Key.SELECT)])
    assert chat.phase is Phase.IDLE and chat.nav.view is View.CONVERSATION and chat.nav.peer == BOB
    assert c.CancelTimer(Timer.CALL_CHAT) in cmds and chat.cusax.offer == ""
    idle, _ = run(state, [DOWN])
    home, _ = run(idle, [key(Key.SELECT)])
    assert home.nav.view is View.CONVERSATION and home.nav.peer == BOB
    expired, _ = run(idle, [TimerFired(Timer.CALL_CHAT)])
    assert expired.cusax.offer == ""
    claimed, _ = run(BASE, [IncomingCall(-1, "sip:1003@lab.test", "", BOB), UP, DOWN])
    assert claimed.cusax.offer == ""  # an unverified claim is never offered


# ---------------------------------------------------------------- conferences (section 4)


def test_a_call_to_a_rooms_audio_video_uri_is_linked_to_the_room() -> None:
    room = Room("conf@conference.lab.test", "alice", "conf", ("bob", "carol"), "sip:conf@lab.test", ("bob",))
    state, _ = run(BASE, [RoomJoined(room), DialRequestEvent("conf@lab.test")])
    assert state.cusax.conference == room.jid
    state, _ = run(state, [CallEnded(1, 200, "OK")])
    assert state.cusax.offer == room.jid and state.cusax.conference == ""


def DialRequestEvent(target: str) -> Event:
    from firmware.events import DialRequest

    return DialRequest(target)


def test_call_info_grouptextchat_joins_the_room() -> None:
    state, cmds = run(BASE, [IncomingCall(-1, "sip:conf@lab.test", "", None, "huddle@conference.lab.test")])
    assert state.cusax.conference == "huddle@conference.lab.test"
    assert c.JoinRoom("huddle@conference.lab.test") in cmds
    out, _ = run(BASE, [DialRequestEvent("1009")])
    linked, cmds = run(out, [CallConnected(1, group_chat="huddle@conference.lab.test")])
    assert (
        linked.cusax.conference == "huddle@conference.lab.test"
        and c.JoinRoom(linked.cusax.conference) in cmds
    )
    no_chat, cmds = run(PhoneState(), [IncomingCall(-1, "sip:c@x", "", None, "r@muc.x")])
    assert no_chat.cusax.conference == "" and not any(isinstance(cmd, c.JoinRoom) for cmd in cmds)


# ---------------------------------------------------------------- section 8: security parity


def config(sip_transport: str, srtp: str, xmpp_tls: str, parity: str, verify: bool = True) -> Any:
    return parse(
        {
            "sip": {
                "domain": D,
                "registrar": "r",
                "user": "1001",
                "transport": sip_transport,
                "srtp": srtp,
                "tls_verify_server": verify,
            },
            "xmpp": {"jid": ALICE, "tls": xmpp_tls, "allow_plaintext": xmpp_tls == "plaintext"},
            "cusax": {"security_parity": parity},
        }
    )


@pytest.mark.parametrize(
    ("sip", "srtp", "xmpp", "parity", "verify", "weaker", "refused"),
    [
        ("tls", "mandatory", "starttls", "require", True, "", ""),
        ("udp", "off", "starttls", "warn", True, "Phone", ""),
        ("tls", "off", "direct", "warn", True, "Phone", ""),  # the voice itself is in the clear
        ("tls", "optional", "starttls", "require", True, "Phone", "Phone"),
        ("tls", "mandatory", "starttls", "warn", False, "Phone", ""),  # certificate not checked
        ("tls", "mandatory", "plaintext", "require", True, "Chat", "Chat"),
        ("udp", "off", "plaintext", "require", True, "", ""),  # alike (both weak): nothing refused
        ("udp", "off", "starttls", "off", True, "Phone", ""),
    ],
)
def test_security_assessment(
    sip: str, srtp: str, xmpp: str, parity: str, verify: bool, weaker: str, refused: str
) -> None:
    security = assess(config(sip, srtp, xmpp, parity, verify))
    assert security.weaker == weaker and security.refused == refused
    assert security.mismatch == (bool(weaker) and parity != "off")
    assert len(security.line()) <= 21  # fits a 128-pixel line


def test_security_levels_and_texts() -> None:
    security = assess(config("tls", "mandatory", "plaintext", "require"))
    assert security.sip is not None and security.sip.level is Level.FULL
    assert security.xmpp is not None and security.xmpp.level is Level.NONE
    assert security.line() == "Chat refused: weaker"
    assert security.reason().startswith("refused: PLAINTEXT, not encrypted vs Phone TLS verified")
    assert security.sip.describe() == "TLS verified, SRTP required"


def test_a_mismatch_is_told_once_when_an_account_comes_up() -> None:
    policy = policy_from(config("udp", "off", "starttls", "warn"))
    state = PhoneState(settings=Settings(domain=D, cusax=policy))
    state, cmds = run(state, [ChatConnectionChanged(ChatState.ONLINE)])
    assert state.notice == "Security: Phone less protected than Chat" and state.cusax.warned
    assert c.StartTimer(Timer.NOTICE, 6.0) in cmds
    state, _ = run(state, [TimerFired(Timer.NOTICE), ChatConnectionChanged(ChatState.CONNECTING)])
    assert state.notice == ""


# ---------------------------------------------------------------- purity and invariants

ACTIONS = st.sampled_from(
    [
        UP,
        DOWN,
        UP,
        DOWN,
        *(
            key(k)
            for k in (
                Key.CONTACTS,
                Key.DOWN,
                Key.UP,
                Key.SELECT,
                Key.BACK,
                Key.DND,
                Key.D1,
                Key.HASH,
                Key.SPEAKER,
                Key.MENU,
            )
        ),
        IncomingCall(-11, f"sip:1002@{D}"),
        IncomingCall(-12, "sip:1003@lab.test", "", BOB),
        IncomingCall(-13, "sip:conf@lab.test", "", None, "room@conference.lab.test"),
        CallConnected(1),
        CallConnected(-11),
        CallEnded(1, 486, "Busy"),
        CallEnded(-11, 200, "OK"),
        CallEnded(-12, 487, "Gone"),
        TimerFired(Timer.CALL_CHAT),
        TimerFired(Timer.ENDED),
        TimerFired(Timer.DIALTONE),
        TimerFired(Timer.CHAT_IDLE),
        ChatConnectionChanged(ChatState.CONNECTING),
        ChatConnectionChanged(ChatState.ONLINE),
        VCardLoaded(VCard(BOB, "Bob", (tel("sip:bob@lab.test"),))),
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ACTIONS, max_size=40))
def test_random_sequences_keep_the_cusax_invariants(events: list[Event]) -> None:
    state = BASE
    for event in events:
        before = copy.deepcopy(state)
        new, cmds = step(state, event)
        assert step(state, event) == (new, cmds) and state == before  # pure
        if new.cusax.prompt is not None:
            assert new.phase in (Phase.IDLE, Phase.DIALTONE)
        party = new.cusax.party
        assert (party is None) == (new.call is None) or party is None
        if party is not None and new.call is not None:
            assert party.call_id == new.call.call_id
        assert new.cusax.conference == "" or new.call is not None
        for cmd in made(cmds):
            assert cmd.headers == CALL_INFO
        for cmd in cmds:
            if isinstance(cmd, c.Hangup):
                assert cmd.code in (0, 486, 603)
        if state.cusax.dnd and isinstance(event, IncomingCall):
            assert new.call == state.call and c.Hangup(event.call_id, 486) in cmds
        state = new
