"""The desk phone state machine: `step(state, event) -> (state, commands)`.

Table-driven transition tests with exact command tuples, exhaustive "never raises" sweeps over every
phase x key and phase x event type, hook flapping, purity, and a hypothesis run over random event
sequences that checks the invariants a real phone must keep.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.commands import (
    Answer,
    CancelTimer,
    Command,
    Hangup,
    Hold,
    Log,
    MakeCall,
    PlayTone,
    Resume,
    SendDtmf,
    SetRoute,
    SetVolume,
    StartRinger,
    StartTimer,
    StopRinger,
    StopTone,
    Tone,
)
from firmware.dialplan import to_uri
from firmware.events import (
    CallConnected,
    CallEnded,
    CallFailedToStart,
    CallMedia,
    CallRinging,
    ChatConnectionChanged,
    ChatHistoryLoaded,
    CredentialsRequested,
    DialRequest,
    Event,
    IncomingCall,
    MessageReceived,
    Notice,
    PresencesChanged,
    ProvisioningChanged,
    RegistrationChanged,
    RegState,
    RoomJoined,
    RosterChanged,
    RosterLoaded,
    SavedChat,
    Tick,
    Timer,
    TimerFired,
    VCardLoaded,
)
from firmware.machine import COMMON, HANDLERS, step
from firmware.provisioning.events import ProvState
from firmware.state import EPOCH, CallView, Direction, Phase, PhoneState, Registration, Settings
from firmware.xmpp.model import ChatMessage, ChatState, Contact, Presence, Room, Show, Tel, VCard
from hal.types import AudioPath, HookChanged, Key, KeyPressed

HANDSET = AudioPath.HANDSET
SPEAKER = AudioPath.SPEAKER
S = Settings()
DOMAIN = S.domain
EVENT_TYPES: tuple[type, ...] = get_args(Event)
COMMAND_TYPES: tuple[type, ...] = get_args(Command)

UP = HookChanged(off_hook=True)
DOWN = HookChanged(off_hook=False)
BOB_ID = -7
BOB = IncomingCall(BOB_ID, "sip:bob@example.org", "Bob")
STALE_ID = 4242  # never the id of any call in these tests
CALLEE = f"sip:1002@{DOMAIN}"
LOG = "exactly one Log command"  # sentinel for rows whose only output is a log line

_KEY_BY_CHAR = {k.value: k for k in Key if len(k.value) == 1}


def key(k: Key) -> KeyPressed:
    return KeyPressed(k)


def dial(chars: str) -> list[Event]:
    """Keypad presses for a string of digits, '*' and '#'."""
    return [KeyPressed(_KEY_BY_CHAR[ch]) for ch in chars]


SPK = key(Key.SPEAKER)
SEL = key(Key.SELECT)
BACK = key(Key.BACK)
HOLD = key(Key.HOLD)
REDIAL = key(Key.REDIAL)

# Command sequences that recur in the tables.
TO_IDLE = (
    StopTone(),
    CancelTimer(Timer.INTERDIGIT),
    CancelTimer(Timer.DIALTONE),
    CancelTimer(Timer.ENDED),
)
PLACE = (CancelTimer(Timer.INTERDIGIT), CancelTimer(Timer.DIALTONE), StopTone())
DIALTONE_ON = (PlayTone(Tone.DIAL), StartTimer(Timer.DIALTONE, S.dialtone_s))
ENDED_TIMER = StartTimer(Timer.ENDED, S.ended_s)
NOTICE_TIMER = StartTimer(Timer.NOTICE, S.notice_s)


def run(state: PhoneState, events: Iterable[Event]) -> tuple[PhoneState, list[Command]]:
    """Feed events one by one; return the final state and every command, in order."""
    out: list[Command] = []
    for event in events:
        state, cmds = step(state, event)
        out.extend(cmds)
    return state, out


def trace(state: PhoneState, events: Iterable[Event]) -> list[tuple[PhoneState, tuple[Command, ...]]]:
    """Like run() but keeps every intermediate (state, commands)."""
    steps = []
    for event in events:
        state, cmds = step(state, event)
        steps.append((state, cmds))
    return steps


def attr(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


# ---------------------------------------------------------------- representative states for each phase

RECIPES: dict[str, tuple[Phase, list[Event]]] = {
    "idle": (Phase.IDLE, []),
    "idle_after_call": (Phase.IDLE, [UP, *dial("1002#"), DOWN]),
    "dialtone_handset": (Phase.DIALTONE, [UP]),
    "dialtone_speaker": (Phase.DIALTONE, [SPK]),
    "dialtone_handset_speaker": (Phase.DIALTONE, [UP, SPK]),
    "dialing_handset": (Phase.DIALING, [UP, *dial("12")]),
    "dialing_speaker": (Phase.DIALING, [SPK, *dial("12")]),
    "dialing_predial": (Phase.DIALING, dial("12")),
    "calling_handset": (Phase.CALLING, [UP, *dial("1002#")]),
    "calling_speaker": (Phase.CALLING, [SPK, *dial("1002#")]),
    "calling_ringback": (Phase.CALLING, [UP, *dial("1002#"), CallRinging(1, early_media=False)]),
    "calling_early_media": (Phase.CALLING, [UP, *dial("1002#"), CallRinging(1, early_media=True)]),
    "ringing": (Phase.RINGING, [BOB]),
    "in_call_handset": (Phase.IN_CALL, [BOB, UP]),
    "in_call_speaker": (Phase.IN_CALL, [BOB, SEL]),
    "in_call_outgoing": (Phase.IN_CALL, [UP, *dial("1002#"), CallConnected(1)]),
    "in_call_held": (Phase.IN_CALL, [BOB, UP, HOLD]),
    "in_call_handset_speaker": (Phase.IN_CALL, [BOB, UP, SPK]),
    "ended_offhook": (Phase.ENDED, [UP, *dial("1002#"), CallEnded(1, 486, "Busy Here")]),
    "ended_onhook": (Phase.ENDED, [BOB, CallEnded(BOB_ID, 487, "Request Terminated")]),
    "ended_speaker": (Phase.ENDED, [SPK, *dial("1002#"), CallEnded(1, 404, "Not Found")]),
    "ended_invalid": (Phase.ENDED, [DialRequest("12 34")]),
}
STATES: dict[str, PhoneState] = {name: run(PhoneState(), events)[0] for name, (_, events) in RECIPES.items()}


@pytest.mark.parametrize("name", list(RECIPES))
def test_recipes_reach_their_phase(name: str) -> None:
    assert STATES[name].phase is RECIPES[name][0]


def test_every_phase_has_a_representative_state() -> None:
    assert {s.phase for s in STATES.values()} == set(Phase)


def sample_events(state: PhoneState) -> list[Event]:
    """At least one event of every type, for the current call and for a stale one."""
    cur = state.call.call_id if state.call is not None else 1
    return [
        UP,
        DOWN,
        *(TimerFired(t) for t in Timer),
        Tick(datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)),
        *(RegistrationChanged(s, 200, "OK") for s in RegState),
        IncomingCall(-99, "sip:carol@example.org", "Carol"),
        IncomingCall(-98, "garbage <not a uri>"),
        CallRinging(cur, early_media=False),
        CallRinging(cur, early_media=True),
        CallRinging(STALE_ID, early_media=False),
        CallConnected(cur),
        CallConnected(STALE_ID),
        CallMedia(cur, active=True),
        CallMedia(cur, active=False, local_hold=True, remote_hold=True),
        CallMedia(STALE_ID, active=True),
        CallEnded(cur, 200, "OK"),
        CallEnded(cur, 486, "Busy Here"),
        CallEnded(cur, 0, ""),
        CallEnded(STALE_ID, 487, "Request Terminated"),
        CallFailedToStart(cur, "no transport"),
        CallFailedToStart(STALE_ID, "no transport"),
        DialRequest("1002"),
        DialRequest("sips:bob@example.org:5061;transport=tls"),
        DialRequest(""),
        DialRequest("bad number"),
        Notice("Headset error"),
        Notice(""),
        *CHAT_SAMPLES,
        *PROVISIONING_SAMPLES,
    ]


_ALICE = "alice@example.org"
_AT = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
CHAT_SAMPLES: list[Event] = [
    *(ChatConnectionChanged(s, "why") for s in ChatState),
    RosterLoaded((Contact(_ALICE, "Alice", tels=(Tel("sip:1002@example.org", "1002"),)),)),
    RosterChanged(changed=(Contact("bob@example.org"),), removed=(_ALICE,)),
    PresencesChanged(((_ALICE, Presence(Show.AWAY, "lunch")),)),
    VCardLoaded(VCard(_ALICE, "Alice A.", (Tel("tel:+4930123", "+4930123", frozenset({"video"})),))),
    MessageReceived(ChatMessage(_ALICE, "hello", _AT)),
    MessageReceived(ChatMessage("", "no peer", _AT)),
    RoomJoined(Room("room@muc.example.org", "me")),
    ChatHistoryLoaded((SavedChat(_ALICE, (ChatMessage(_ALICE, "old", _AT),), 1),)),
]


PROVISIONING_SAMPLES: list[Event] = [
    *(
        ProvisioningChanged(s, 3, _AT, _AT, "why", ("unknown key x",), "prov.example.org/p")
        for s in ProvState
    ),
    CredentialsRequested("deskphone provisioning"),
    CredentialsRequested("deskphone provisioning", rejected=True),
]


def test_sample_events_cover_every_event_type() -> None:
    covered = {type(e) for e in sample_events(PhoneState())} | {KeyPressed}
    assert covered == set(EVENT_TYPES)


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("etype", [t for t in EVENT_TYPES if t not in COMMON], ids=lambda t: t.__name__)
def test_handler_table_covers_every_phase_and_event_type(phase: Phase, etype: type) -> None:
    assert (phase, etype) in HANDLERS


def assert_well_formed(state: PhoneState, event: Event, new: PhoneState, cmds: Any) -> None:
    assert isinstance(new, PhoneState)
    assert isinstance(cmds, tuple)
    assert all(isinstance(cmd, COMMAND_TYPES) for cmd in cmds), cmds
    if new.phase in (Phase.CALLING, Phase.RINGING, Phase.IN_CALL):
        assert new.call is not None
    else:
        assert new.call is None
    if new.phase is Phase.IDLE:
        assert new.digits == "" and new.ended_reason == "" and not new.off_hook
    assert 0 <= new.handset_volume <= 100 and 0 <= new.speaker_volume <= 100


def assert_pure(state: PhoneState, event: Event) -> tuple[PhoneState, tuple[Command, ...]]:
    before = copy.deepcopy(state)
    first = step(state, event)
    second = step(state, event)
    assert first == second  # same input, same output
    assert state == before  # the input state is untouched
    return first


@pytest.mark.parametrize("k", list(Key), ids=lambda k: k.name)
@pytest.mark.parametrize("name", list(STATES))
def test_every_key_in_every_state_never_raises(name: str, k: Key) -> None:
    state = STATES[name]
    new, cmds = assert_pure(state, KeyPressed(k))
    assert_well_formed(state, KeyPressed(k), new, cmds)


@pytest.mark.parametrize(
    ("name", "event"),
    [
        pytest.param(name, event, id=f"{name}-{i}-{type(event).__name__}")
        for name, state in STATES.items()
        for i, event in enumerate(sample_events(state))
    ],
)
def test_every_event_in_every_state_never_raises(name: str, event: Event) -> None:
    state = STATES[name]
    new, cmds = assert_pure(state, event)
    assert_well_formed(state, event, new, cmds)


# ---------------------------------------------------------------- purity


@pytest.mark.parametrize("name", list(STATES))
def test_states_are_frozen(name: str) -> None:
    state = STATES[name]
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.phase = Phase.IDLE  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.settings.domain = "evil.example"  # type: ignore[misc]
    if state.call is not None:
        with pytest.raises(dataclasses.FrozenInstanceError):
            state.call.call_id = 0  # type: ignore[misc]
    hash(state)  # frozen all the way down: usable as a dict key


def test_replaying_a_sequence_gives_identical_results() -> None:
    events = [UP, *dial("1002#"), CallRinging(1, False), CallConnected(1), key(Key.D5), HOLD, DOWN]
    assert trace(PhoneState(), events) == trace(PhoneState(), events)


# ---------------------------------------------------------------- single transitions, exact commands

Row = tuple[str, Event, Phase, Any, dict[str, Any]]

ROWS: list[Any] = [
    # IDLE
    pytest.param(
        "idle", UP, Phase.DIALTONE, (SetRoute(HANDSET), *DIALTONE_ON), {"off_hook": True}, id="idle-lift"
    ),
    pytest.param(
        "idle", SPK, Phase.DIALTONE, (SetRoute(SPEAKER), *DIALTONE_ON), {"route": SPEAKER}, id="idle-speaker"
    ),
    pytest.param("idle", DOWN, Phase.IDLE, (), {}, id="idle-hook-down-again"),
    pytest.param("idle", key(Key.D5), Phase.DIALING, (), {"digits": "5"}, id="idle-predial"),
    pytest.param("idle", key(Key.STAR), Phase.DIALING, (), {"digits": "*"}, id="idle-predial-star"),
    pytest.param("idle", key(Key.HASH), Phase.IDLE, LOG, {}, id="idle-hash-ignored"),
    pytest.param("idle", BACK, Phase.IDLE, LOG, {}, id="idle-back-ignored"),
    pytest.param(
        "idle", REDIAL, Phase.IDLE, (NOTICE_TIMER,), {"notice": "No number to redial"}, id="idle-redial-none"
    ),
    pytest.param(
        "idle_after_call",
        REDIAL,
        Phase.CALLING,
        (*PLACE, SetRoute(SPEAKER), MakeCall(2, CALLEE)),
        {"route": SPEAKER, "call.remote": CALLEE},
        id="idle-redial-hands-free",
    ),
    pytest.param(
        "idle",
        key(Key.VOL_UP),
        Phase.IDLE,
        (SetVolume(HANDSET, 80),),
        {"handset_volume": 80},
        id="idle-volume",
    ),
    pytest.param(
        "idle",
        BOB,
        Phase.RINGING,
        (CancelTimer(Timer.ENDED), StopTone(), StartRinger()),
        {"call.call_id": BOB_ID, "call.direction": Direction.INCOMING, "call.party": "Bob"},
        id="idle-incoming",
    ),
    # DIALTONE
    pytest.param(
        "dialtone_handset",
        key(Key.D1),
        Phase.DIALING,
        (StopTone(), CancelTimer(Timer.DIALTONE), StartTimer(Timer.INTERDIGIT, S.interdigit_s)),
        {"digits": "1"},
        id="dialtone-first-digit",
    ),
    pytest.param("dialtone_handset", DOWN, Phase.IDLE, TO_IDLE, {"off_hook": False}, id="dialtone-hang-up"),
    pytest.param(
        "dialtone_speaker", SPK, Phase.IDLE, (*TO_IDLE, SetRoute(HANDSET)), {}, id="dialtone-speaker-off"
    ),
    pytest.param(
        "dialtone_speaker",
        UP,
        Phase.DIALTONE,
        (SetRoute(HANDSET),),
        {"route": HANDSET, "off_hook": True},
        id="dialtone-speaker-then-lift",
    ),
    pytest.param(
        "dialtone_handset",
        SPK,
        Phase.DIALTONE,
        (SetRoute(SPEAKER),),
        {"route": SPEAKER},
        id="dialtone-to-spk",
    ),
    pytest.param(
        "dialtone_handset_speaker",
        SPK,
        Phase.DIALTONE,
        (SetRoute(HANDSET),),
        {"route": HANDSET},
        id="dialtone-spk-back-to-handset",
    ),
    pytest.param(
        "dialtone_handset_speaker",
        DOWN,
        Phase.DIALTONE,
        (),
        {"route": SPEAKER, "off_hook": False},
        id="dialtone-hands-free-survives-hang-up",
    ),
    pytest.param(
        "dialtone_handset",
        TimerFired(Timer.DIALTONE),
        Phase.ENDED,
        (StopRinger(), PlayTone(Tone.ERROR), ENDED_TIMER),
        {"ended_reason": "No number dialled"},
        id="dialtone-timeout",
    ),
    pytest.param(
        "dialtone_handset",
        IncomingCall(-9, "sip:carol@example.org"),
        Phase.DIALTONE,
        (Hangup(-9, 486), LOG),
        {},
        id="dialtone-incoming-busy",
    ),
    pytest.param("dialtone_handset", key(Key.HASH), Phase.DIALTONE, LOG, {}, id="dialtone-hash-ignored"),
    pytest.param(
        "dialtone_handset", TimerFired(Timer.INTERDIGIT), Phase.DIALTONE, LOG, {}, id="dialtone-stale"
    ),
    # DIALING
    pytest.param(
        "dialing_handset",
        key(Key.D3),
        Phase.DIALING,
        (StartTimer(Timer.INTERDIGIT, S.interdigit_s),),
        {"digits": "123"},
        id="dialing-digit-restarts-timer",
    ),
    pytest.param(
        "dialing_handset",
        BACK,
        Phase.DIALING,
        (StartTimer(Timer.INTERDIGIT, S.interdigit_s),),
        {"digits": "1"},
        id="dialing-back-deletes",
    ),
    pytest.param(
        "dialing_handset",
        key(Key.HASH),
        Phase.CALLING,
        (*PLACE, SetRoute(HANDSET), MakeCall(1, f"sip:12@{DOMAIN}")),
        {"last_dialed": f"sip:12@{DOMAIN}", "digits": "", "next_call_id": 2},
        id="dialing-hash-places",
    ),
    pytest.param(
        "dialing_handset",
        SEL,
        Phase.CALLING,
        (*PLACE, SetRoute(HANDSET), MakeCall(1, f"sip:12@{DOMAIN}")),
        {},
        id="dialing-select-places",
    ),
    pytest.param(
        "dialing_handset",
        TimerFired(Timer.INTERDIGIT),
        Phase.CALLING,
        (*PLACE, SetRoute(HANDSET), MakeCall(1, f"sip:12@{DOMAIN}")),
        {},
        id="dialing-timeout-places",
    ),
    pytest.param(
        "dialing_speaker",
        key(Key.HASH),
        Phase.CALLING,
        (*PLACE, SetRoute(SPEAKER), MakeCall(1, f"sip:12@{DOMAIN}")),
        {"route": SPEAKER},
        id="dialing-speaker-places",
    ),
    pytest.param("dialing_handset", DOWN, Phase.IDLE, TO_IDLE, {}, id="dialing-hang-up"),
    pytest.param(
        "dialing_speaker", DOWN, Phase.DIALING, (), {"digits": "12"}, id="dialing-speaker-hook-down"
    ),
    pytest.param(
        "dialing_speaker",
        UP,
        Phase.DIALING,
        (SetRoute(HANDSET),),
        {"route": HANDSET, "off_hook": True, "digits": "12"},
        id="dialing-speaker-lift",
    ),
    pytest.param(
        "dialing_handset",
        IncomingCall(-9, "sip:carol@example.org"),
        Phase.DIALING,
        (Hangup(-9, 486), LOG),
        {"digits": "12"},
        id="dialing-incoming-busy",
    ),
    # on-hook pre-dialling
    pytest.param("dialing_predial", key(Key.D3), Phase.DIALING, (), {"digits": "123"}, id="predial-no-timer"),
    pytest.param(
        "dialing_predial",
        key(Key.HASH),
        Phase.CALLING,
        (*PLACE, SetRoute(SPEAKER), MakeCall(1, f"sip:12@{DOMAIN}")),
        {"route": SPEAKER, "off_hook": False},
        id="predial-hash-hands-free",
    ),
    pytest.param(
        "dialing_predial",
        UP,
        Phase.CALLING,
        (*PLACE, SetRoute(HANDSET), MakeCall(1, f"sip:12@{DOMAIN}")),
        {"route": HANDSET, "off_hook": True},
        id="predial-lift-places",
    ),
    pytest.param(
        "dialing_predial",
        SPK,
        Phase.CALLING,
        (*PLACE, SetRoute(SPEAKER), MakeCall(1, f"sip:12@{DOMAIN}")),
        {"route": SPEAKER},
        id="predial-speaker-places",
    ),
    pytest.param(
        "dialing_predial",
        TimerFired(Timer.INTERDIGIT),
        Phase.DIALING,
        LOG,
        {"digits": "12"},
        id="predial-stale-interdigit-ignored",
    ),
    pytest.param(
        "dialing_predial",
        IncomingCall(-9, "sip:carol@example.org"),
        Phase.DIALING,
        (Hangup(-9, 486), LOG),
        {},
        id="predial-incoming-busy",
    ),
    # CALLING
    pytest.param(
        "calling_handset",
        CallRinging(1, early_media=False),
        Phase.CALLING,
        (PlayTone(Tone.RINGBACK),),
        {"call.ringing": True, "call.early_media": False},
        id="calling-180-ringback",
    ),
    pytest.param(
        "calling_handset",
        CallRinging(1, early_media=True),
        Phase.CALLING,
        (StopTone(),),
        {"call.ringing": True, "call.early_media": True},
        id="calling-183-early-media",
    ),
    pytest.param(
        "calling_ringback",
        CallRinging(1, early_media=True),
        Phase.CALLING,
        (StopTone(),),
        {"call.early_media": True},
        id="calling-ringback-then-early-media",
    ),
    pytest.param(
        "calling_ringback",
        CallConnected(1),
        Phase.IN_CALL,
        (StopTone(),),
        {"call.connected_at": EPOCH},
        id="calling-connected",
    ),
    pytest.param(
        "calling_handset",
        CallRinging(STALE_ID, False),
        Phase.CALLING,
        LOG,
        {"call.ringing": False},
        id="c-stale-180",
    ),
    pytest.param("calling_handset", CallConnected(STALE_ID), Phase.CALLING, LOG, {}, id="calling-stale-200"),
    pytest.param(
        "calling_handset", CallEnded(STALE_ID, 486, ""), Phase.CALLING, LOG, {}, id="calling-stale-bye"
    ),
    pytest.param(
        "calling_handset",
        CallFailedToStart(1, "no transport"),
        Phase.ENDED,
        (StopRinger(), PlayTone(Tone.ERROR), ENDED_TIMER),
        {"ended_reason": "Call failed: no transport"},
        id="calling-failed-to-start",
    ),
    pytest.param(
        "calling_handset",
        DOWN,
        Phase.IDLE,
        (*TO_IDLE, Hangup(1)),
        {"last_dialed": CALLEE},
        id="calling-hang-up",
    ),
    pytest.param(
        "calling_speaker", DOWN, Phase.CALLING, (), {"route": SPEAKER}, id="calling-speaker-hook-down"
    ),
    pytest.param(
        "calling_speaker",
        UP,
        Phase.CALLING,
        (SetRoute(HANDSET),),
        {"route": HANDSET},
        id="calling-speaker-lift",
    ),
    pytest.param(
        "calling_handset",
        BACK,
        Phase.DIALTONE,
        (Hangup(1), SetRoute(HANDSET), *DIALTONE_ON),
        {"off_hook": True},
        id="calling-cancel-handset-up-dialtone",
    ),
    pytest.param(
        "calling_speaker",
        BACK,
        Phase.IDLE,
        (*TO_IDLE, Hangup(1), SetRoute(HANDSET)),
        {},
        id="calling-cancel-spk",
    ),
    pytest.param(
        "calling_speaker",
        SPK,
        Phase.IDLE,
        (*TO_IDLE, Hangup(1), SetRoute(HANDSET)),
        {},
        id="calling-speaker-off",
    ),
    pytest.param(
        "calling_handset",
        SPK,
        Phase.CALLING,
        (SetRoute(SPEAKER),),
        {"route": SPEAKER},
        id="calling-to-speaker",
    ),
    pytest.param(
        "calling_handset",
        IncomingCall(-9, "sip:carol@example.org"),
        Phase.CALLING,
        (Hangup(-9, 486), LOG),
        {"call.call_id": 1},
        id="calling-incoming-busy",
    ),
    pytest.param("calling_handset", key(Key.D5), Phase.CALLING, LOG, {}, id="calling-no-dtmf-before-answer"),
    pytest.param(
        "calling_handset",
        DialRequest("1003"),
        Phase.CALLING,
        (NOTICE_TIMER,),
        {"notice": "Busy: hang up first", "call.call_id": 1},
        id="calling-dial-request-refused",
    ),
    # RINGING
    pytest.param(
        "ringing",
        UP,
        Phase.IN_CALL,
        (StopRinger(), SetRoute(HANDSET), Answer(BOB_ID)),
        {"off_hook": True, "route": HANDSET, "call.connected_at": EPOCH},
        id="ringing-lift-answers",
    ),
    pytest.param(
        "ringing",
        SPK,
        Phase.IN_CALL,
        (StopRinger(), SetRoute(SPEAKER), Answer(BOB_ID)),
        {"off_hook": False, "route": SPEAKER},
        id="ringing-speaker-answers",
    ),
    pytest.param(
        "ringing",
        SEL,
        Phase.IN_CALL,
        (StopRinger(), SetRoute(SPEAKER), Answer(BOB_ID)),
        {"route": SPEAKER},
        id="ringing-select-answers",
    ),
    pytest.param(
        "ringing",
        BACK,
        Phase.IDLE,
        (*TO_IDLE, StopRinger(), Hangup(BOB_ID, 603)),
        {},
        id="ringing-decline-603",
    ),
    pytest.param(
        "ringing",
        IncomingCall(-8, "sip:carol@example.org"),
        Phase.RINGING,
        (Hangup(-8, 486), LOG),
        {"call.call_id": BOB_ID},
        id="ringing-second-call-busy",
    ),
    pytest.param(
        "ringing",
        CallEnded(BOB_ID, 487, "Request Terminated"),
        Phase.ENDED,
        (StopRinger(), StopTone(), ENDED_TIMER),
        {"ended_reason": "Missed call"},
        id="ringing-caller-gave-up",
    ),
    pytest.param("ringing", CallEnded(STALE_ID, 487, ""), Phase.RINGING, LOG, {}, id="ringing-stale-end"),
    pytest.param("ringing", DOWN, Phase.RINGING, (), {}, id="ringing-hook-down-again"),
    pytest.param("ringing", key(Key.D1), Phase.RINGING, LOG, {}, id="ringing-digit-ignored"),
    pytest.param(
        "ringing",
        key(Key.VOL_DOWN),
        Phase.RINGING,
        (SetVolume(HANDSET, 60),),
        {"handset_volume": 60},
        id="ringing-volume",
    ),
    pytest.param(
        "ringing",
        CallMedia(BOB_ID, active=True),
        Phase.RINGING,
        (),
        {"call.media_active": True},
        id="ringing-media",
    ),
    # IN_CALL
    pytest.param(
        "in_call_handset", key(Key.D5), Phase.IN_CALL, (SendDtmf(BOB_ID, "5"),), {}, id="in-call-dtmf"
    ),
    pytest.param(
        "in_call_handset", key(Key.STAR), Phase.IN_CALL, (SendDtmf(BOB_ID, "*"),), {}, id="dtmf-star"
    ),
    pytest.param(
        "in_call_handset", key(Key.HASH), Phase.IN_CALL, (SendDtmf(BOB_ID, "#"),), {}, id="dtmf-hash"
    ),
    pytest.param(
        "in_call_outgoing", key(Key.D0), Phase.IN_CALL, (SendDtmf(1, "0"),), {}, id="in-call-outgoing-dtmf"
    ),
    pytest.param(
        "in_call_handset", HOLD, Phase.IN_CALL, (Hold(BOB_ID),), {"call.local_hold": True}, id="in-call-hold"
    ),
    pytest.param(
        "in_call_held",
        HOLD,
        Phase.IN_CALL,
        (Resume(BOB_ID),),
        {"call.local_hold": False},
        id="in-call-resume",
    ),
    pytest.param(
        "in_call_handset",
        key(Key.VOL_UP),
        Phase.IN_CALL,
        (SetVolume(HANDSET, 80),),
        {"handset_volume": 80, "speaker_volume": 60},
        id="in-call-volume-handset",
    ),
    pytest.param(
        "in_call_speaker",
        key(Key.VOL_UP),
        Phase.IN_CALL,
        (SetVolume(SPEAKER, 70),),
        {"speaker_volume": 70, "handset_volume": 70},
        id="in-call-volume-speaker",
    ),
    pytest.param(
        "in_call_handset",
        SPK,
        Phase.IN_CALL,
        (SetRoute(SPEAKER),),
        {"route": SPEAKER},
        id="in-call-to-speaker",
    ),
    pytest.param(
        "in_call_handset_speaker",
        SPK,
        Phase.IN_CALL,
        (SetRoute(HANDSET),),
        {"route": HANDSET},
        id="in-call-back-to-handset",
    ),
    pytest.param(
        "in_call_speaker",
        SPK,
        Phase.IDLE,
        (*TO_IDLE, Hangup(BOB_ID), SetRoute(HANDSET)),
        {},
        id="in-call-speaker-off-ends",
    ),
    pytest.param("in_call_handset", DOWN, Phase.IDLE, (*TO_IDLE, Hangup(BOB_ID)), {}, id="in-call-hang-up"),
    pytest.param(
        "in_call_handset_speaker",
        DOWN,
        Phase.IN_CALL,
        (),
        {"off_hook": False, "route": SPEAKER},
        id="in-call-hands-free-survives-hang-up",
    ),
    pytest.param(
        "in_call_speaker",
        UP,
        Phase.IN_CALL,
        (SetRoute(HANDSET),),
        {"off_hook": True, "route": HANDSET},
        id="in-call-pick-up-handset",
    ),
    pytest.param(
        "in_call_handset",
        CallMedia(BOB_ID, active=True, remote_hold=True),
        Phase.IN_CALL,
        (),
        {"call.remote_hold": True, "call.media_active": True},
        id="in-call-remote-hold",
    ),
    pytest.param(
        "in_call_handset", CallConnected(BOB_ID), Phase.IN_CALL, (), {}, id="in-call-connected-again"
    ),
    pytest.param(
        "in_call_handset",
        IncomingCall(-8, "sip:carol@example.org"),
        Phase.IN_CALL,
        (Hangup(-8, 486), LOG),
        {"call.call_id": BOB_ID},
        id="in-call-second-call-busy",
    ),
    pytest.param(
        "in_call_handset", CallEnded(STALE_ID, 200, ""), Phase.IN_CALL, LOG, {}, id="in-call-stale-bye"
    ),
    pytest.param("in_call_handset", BACK, Phase.IN_CALL, LOG, {}, id="in-call-back-ignored"),
    pytest.param(
        "in_call_handset",
        CallEnded(BOB_ID, 200, "OK"),
        Phase.ENDED,
        (StopRinger(), PlayTone(Tone.BUSY), ENDED_TIMER),
        {"ended_reason": "Call ended"},
        id="in-call-far-end-hangs-up",
    ),
    # ENDED
    pytest.param("ended_offhook", DOWN, Phase.IDLE, TO_IDLE, {}, id="ended-hang-up"),
    pytest.param(
        "ended_offhook",
        TimerFired(Timer.ENDED),
        Phase.ENDED,
        (),
        {"ended_reason": "Busy"},
        id="ended-timeout-handset-up-stays",
    ),
    pytest.param("ended_onhook", TimerFired(Timer.ENDED), Phase.IDLE, TO_IDLE, {}, id="ended-timeout-idle"),
    pytest.param(
        "ended_speaker",
        TimerFired(Timer.ENDED),
        Phase.IDLE,
        (*TO_IDLE, SetRoute(HANDSET)),
        {"route": HANDSET},
        id="ended-speaker-timeout-idle",
    ),
    pytest.param(
        "ended_speaker", SPK, Phase.IDLE, (*TO_IDLE, SetRoute(HANDSET)), {}, id="ended-speaker-key-idle"
    ),
    pytest.param(
        "ended_onhook",
        UP,
        Phase.DIALTONE,
        (SetRoute(HANDSET), *DIALTONE_ON),
        {"ended_reason": ""},
        id="ended-lift-dialtone",
    ),
    pytest.param(
        "ended_onhook",
        key(Key.D4),
        Phase.DIALING,
        (CancelTimer(Timer.ENDED),),
        {"digits": "4", "ended_reason": ""},
        id="ended-predial",
    ),
    pytest.param("ended_offhook", key(Key.D4), Phase.ENDED, LOG, {}, id="ended-handset-up-digit-ignored"),
    pytest.param(
        "ended_offhook",
        REDIAL,
        Phase.CALLING,
        (*PLACE, SetRoute(HANDSET), MakeCall(2, CALLEE)),
        {"route": HANDSET},
        id="ended-redial",
    ),
    pytest.param(
        "ended_offhook",
        IncomingCall(-8, "sip:carol@example.org"),
        Phase.ENDED,
        (Hangup(-8, 486), LOG),
        {},
        id="ended-handset-up-busy",
    ),
    pytest.param(
        "ended_onhook",
        IncomingCall(-8, "sip:carol@example.org"),
        Phase.RINGING,
        (CancelTimer(Timer.ENDED), StopTone(), StartRinger()),
        {"call.call_id": -8, "ended_reason": ""},
        id="ended-incoming-rings",
    ),
    pytest.param(
        "ended_speaker",
        IncomingCall(-8, "sip:carol@example.org"),
        Phase.RINGING,
        (SetRoute(HANDSET), CancelTimer(Timer.ENDED), StopTone(), StartRinger()),
        {"route": HANDSET},
        id="ended-speaker-incoming-closes-speaker",
    ),
    pytest.param(
        "ended_invalid",
        IncomingCall(-8, "sip:carol@example.org"),
        Phase.RINGING,
        (CancelTimer(Timer.ENDED), StopTone(), StartRinger()),
        {"digits": ""},
        id="ended-invalid-incoming-forgets-digits",
    ),
    # DialRequest (any phase that is free)
    pytest.param(
        "idle",
        DialRequest("sip:alice@example.org"),
        Phase.CALLING,
        (CancelTimer(Timer.ENDED), *PLACE, SetRoute(SPEAKER), MakeCall(1, "sip:alice@example.org")),
        {"route": SPEAKER, "last_dialed": "sip:alice@example.org"},
        id="dial-request-idle-hands-free",
    ),
    pytest.param(
        "dialtone_handset",
        DialRequest("alice@example.org"),
        Phase.CALLING,
        (CancelTimer(Timer.ENDED), *PLACE, SetRoute(HANDSET), MakeCall(1, "sip:alice@example.org")),
        {"route": HANDSET},
        id="dial-request-handset",
    ),
    pytest.param(
        "dialing_handset",
        DialRequest("sips:bob@example.org:5061;transport=tls"),
        Phase.CALLING,
        (
            CancelTimer(Timer.ENDED),
            *PLACE,
            SetRoute(HANDSET),
            MakeCall(1, "sips:bob@example.org:5061;transport=tls"),
        ),
        {"digits": ""},
        id="dial-request-replaces-digits",
    ),
    pytest.param(
        "idle",
        DialRequest("bad number"),
        Phase.ENDED,
        (
            CancelTimer(Timer.ENDED),
            CancelTimer(Timer.INTERDIGIT),
            CancelTimer(Timer.DIALTONE),
            StopRinger(),
            StopTone(),
            ENDED_TIMER,
        ),
        {"ended_reason": "Invalid number", "route": HANDSET},
        id="dial-request-invalid-on-hook-silent",
    ),
    pytest.param(
        "dialtone_handset",
        DialRequest("sip:alice@example.org:70000"),
        Phase.ENDED,
        (
            CancelTimer(Timer.ENDED),
            CancelTimer(Timer.INTERDIGIT),
            CancelTimer(Timer.DIALTONE),
            StopRinger(),
            PlayTone(Tone.ERROR),
            ENDED_TIMER,
        ),
        {"ended_reason": "Invalid port", "route": HANDSET},
        id="dial-request-invalid-handset-error-tone",
    ),
    pytest.param(
        "in_call_handset",
        DialRequest("1003"),
        Phase.IN_CALL,
        (NOTICE_TIMER,),
        {"notice": "Busy: hang up first"},
        id="dial-request-in-call-refused",
    ),
    # Phase-independent events
    pytest.param(
        "in_call_handset",
        Tick(datetime(2030, 5, 6, 7, 8, tzinfo=UTC)),
        Phase.IN_CALL,
        (),
        {"now": datetime(2030, 5, 6, 7, 8, tzinfo=UTC)},
        id="tick",
    ),
    pytest.param(
        "idle",
        RegistrationChanged(RegState.AUTH_FAILED, 403, "Forbidden"),
        Phase.IDLE,
        (Log("info", "registration auth_failed 403"),),
        {"registration": Registration(RegState.AUTH_FAILED, 403, "Forbidden")},
        id="registration",
    ),
    pytest.param(
        "ringing",
        Notice("Headset unplugged"),
        Phase.RINGING,
        (NOTICE_TIMER,),
        {"notice": "Headset unplugged"},
        id="notice",
    ),
]


@pytest.mark.parametrize(("start", "event", "phase", "expected", "checks"), ROWS)
def test_transition(start: str, event: Event, phase: Phase, expected: Any, checks: dict[str, Any]) -> None:
    new, cmds = step(STATES[start], event)
    assert new.phase is phase
    if expected == LOG:
        assert len(cmds) == 1 and isinstance(cmds[0], Log)
        assert new == STATES[start]  # ignored means ignored: nothing changes
    else:
        assert len(cmds) == len(expected)
        for got, want in zip(cmds, expected, strict=True):
            if want == LOG:
                assert isinstance(got, Log)
            else:
                assert got == want
    for name, value in checks.items():
        assert attr(new, name) == value, name


# ---------------------------------------------------------------- end reasons


@pytest.mark.parametrize(
    ("code", "reason", "shown", "tone"),
    [
        (486, "Busy Here", "Busy", Tone.BUSY),
        (600, "Busy Everywhere", "Busy", Tone.BUSY),
        (603, "Decline", "Declined", Tone.ERROR),
        (404, "Not Found", "Not found", Tone.ERROR),
        (604, "Does Not Exist Anywhere", "Not found", Tone.ERROR),
        (480, "Temporarily Unavailable", "Unavailable", Tone.ERROR),
        (408, "Request Timeout", "No answer", Tone.ERROR),
        (487, "Request Terminated", "Cancelled", Tone.ERROR),
        (403, "Forbidden", "Not allowed", Tone.ERROR),
        (484, "Address Incomplete", "Incomplete number", Tone.ERROR),
        (488, "Not Acceptable Here", "Not acceptable", Tone.ERROR),
        (200, "OK", "Call ended", Tone.ERROR),
        (503, "Service Unavailable", "Server error 503", Tone.ERROR),
        (0, "", "Call failed", Tone.ERROR),
        (0, "timeout", "Call failed: timeout", Tone.ERROR),
        (499, "Odd", "Failed: 499 Odd", Tone.ERROR),
        (499, "", "Failed: 499", Tone.ERROR),
    ],
)
def test_end_reasons_and_tones(code: int, reason: str, shown: str, tone: Tone) -> None:
    new, cmds = step(STATES["calling_handset"], CallEnded(1, code, reason))
    assert (new.phase, new.ended_reason, new.call) == (Phase.ENDED, shown, None)
    assert cmds == (StopRinger(), PlayTone(tone), ENDED_TIMER)
    # hands-free the same tone plays on the speaker; with nothing open, no tone at all
    assert step(STATES["calling_speaker"], CallEnded(1, code, reason))[1][1] == PlayTone(tone)


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        ("", "Nothing dialled"),
        ("1" * 40, "Number too long"),
        ("sip:", "Invalid address"),
        ("x y", "Invalid number"),
    ],
)
def test_dialplan_errors_end_the_attempt_with_a_short_reason(target: str, shown: str) -> None:
    new, _ = step(STATES["dialtone_handset"], DialRequest(target))
    assert (new.phase, new.ended_reason, new.call) == (Phase.ENDED, shown, None)
    assert len(new.ended_reason) <= 21
    assert new.next_call_id == 1  # no call id was used up


# ---------------------------------------------------------------- multi-step scenarios


def test_outgoing_call_full_command_trace() -> None:
    events = [
        UP,
        *dial("1002"),
        key(Key.HASH),
        CallRinging(1, early_media=False),
        CallConnected(1),
        key(Key.D5),
        HOLD,
        HOLD,
        DOWN,
    ]
    state, cmds = run(PhoneState(), events)
    interdigit = StartTimer(Timer.INTERDIGIT, S.interdigit_s)
    assert cmds == [
        SetRoute(HANDSET),
        PlayTone(Tone.DIAL),
        StartTimer(Timer.DIALTONE, S.dialtone_s),
        StopTone(),
        CancelTimer(Timer.DIALTONE),
        interdigit,
        interdigit,
        interdigit,
        interdigit,
        *PLACE,
        SetRoute(HANDSET),
        MakeCall(1, CALLEE),
        PlayTone(Tone.RINGBACK),
        StopTone(),
        SendDtmf(1, "5"),
        Hold(1),
        Resume(1),
        *TO_IDLE,
        Hangup(1),
    ]
    assert state == PhoneState(off_hook=False, last_dialed=CALLEE, next_call_id=2)


def test_phases_along_an_incoming_call() -> None:
    events: list[Event] = [BOB, UP, key(Key.D1), CallEnded(BOB_ID, 200, "OK"), TimerFired(Timer.ENDED), DOWN]
    phases = [s.phase for s, _ in trace(PhoneState(), events)]
    assert phases == [Phase.RINGING, Phase.IN_CALL, Phase.IN_CALL, Phase.ENDED, Phase.ENDED, Phase.IDLE]


@pytest.mark.parametrize(
    ("events", "phase", "checks"),
    [
        pytest.param(
            [UP, *dial("12"), BACK, BACK],
            Phase.DIALTONE,
            {"digits": "", "off_hook": True},
            id="back-to-dialtone",
        ),
        pytest.param([*dial("12"), BACK, BACK], Phase.IDLE, {"digits": ""}, id="predial-back-to-idle"),
        pytest.param([UP, *dial("1" * 40)], Phase.DIALING, {"digits": "1" * 32}, id="digits-capped-at-32"),
        pytest.param(
            [UP, *dial("1" * 40), key(Key.HASH)],
            Phase.CALLING,
            {"call.remote": f"sip:{'1' * 32}@{DOMAIN}"},
            id="32-digits-dial",
        ),
        pytest.param(
            [*dial("*69"), UP],
            Phase.CALLING,
            {"call.remote": f"sip:*69@{DOMAIN}"},
            id="star-code-predial-lift",
        ),
        pytest.param(
            [UP, SPK, *dial("1002#"), DOWN],
            Phase.CALLING,
            {"route": SPEAKER, "off_hook": False},
            id="lift-speaker-dial-hang-up-stays-hands-free",
        ),
        pytest.param(
            [UP, *dial("1002#"), CallEnded(1, 486, "Busy"), REDIAL],
            Phase.CALLING,
            {"call.call_id": 2, "call.remote": CALLEE, "next_call_id": 3},
            id="busy-then-redial",
        ),
        pytest.param(
            [UP, *dial("1002#"), DOWN, UP, REDIAL],
            Phase.CALLING,
            {"call.call_id": 2, "call.remote": CALLEE},
            id="redial-from-dialtone",
        ),
        pytest.param(
            [DialRequest("alice@example.org"), CallEnded(1, 603, "Decline"), REDIAL],
            Phase.CALLING,
            {"call.remote": "sip:alice@example.org", "route": SPEAKER},
            id="declined-then-redial-hands-free",
        ),
        pytest.param(
            [BOB, CallEnded(BOB_ID, 487, ""), TimerFired(Timer.ENDED)],
            Phase.IDLE,
            {"call": None},
            id="missed-call-then-idle",
        ),
        pytest.param(
            [SPK, *dial("1002#"), CallEnded(1, 486, "Busy"), BOB, CallEnded(BOB_ID, 487, "")],
            Phase.ENDED,
            {"ended_reason": "Missed call", "route": HANDSET, "active": False},
            id="missed-call-after-hands-free-call-is-silent",
        ),
        pytest.param(
            [Notice("Headset error"), TimerFired(Timer.NOTICE)],
            Phase.IDLE,
            {"notice": ""},
            id="notice-cleared",
        ),
        pytest.param(
            [UP, *dial("1002#"), CallConnected(1), *[key(Key.VOL_UP)] * 10],
            Phase.IN_CALL,
            {"handset_volume": 100, "speaker_volume": 60},
            id="volume-clamped-100",
        ),
        pytest.param(
            [BOB, SPK, *[key(Key.VOL_DOWN)] * 10],
            Phase.IN_CALL,
            {"speaker_volume": 0, "handset_volume": 70},
            id="volume-clamped-0",
        ),
    ],
)
def test_scenarios(events: list[Event], phase: Phase, checks: dict[str, Any]) -> None:
    state, _ = run(PhoneState(), events)
    assert state.phase is phase
    for name, value in checks.items():
        assert attr(state, name) == value, name


@pytest.mark.parametrize(("start", "route"), [("in_call_handset", HANDSET), ("in_call_speaker", SPEAKER)])
@pytest.mark.parametrize(("vol_key", "limit"), [(Key.VOL_UP, 100), (Key.VOL_DOWN, 0)])
def test_volume_commands_clamp_on_the_current_route(
    start: str, route: AudioPath, vol_key: Key, limit: int
) -> None:
    _, cmds = run(STATES[start], [key(vol_key)] * 15)
    levels = [cmd.percent for cmd in cmds if isinstance(cmd, SetVolume)]
    assert len(levels) == 15 and levels[-1] == limit
    assert all(0 <= v <= 100 for v in levels)
    assert all(isinstance(cmd, SetVolume) and cmd.path is route for cmd in cmds)


def test_call_ids_increase_across_calls() -> None:
    events: list[Event] = []
    for i in range(1, 6):
        events += [UP, *dial("1002#"), CallConnected(i), DOWN]
    _, cmds = run(PhoneState(), events)
    ids = [cmd.call_id for cmd in cmds if isinstance(cmd, MakeCall)]
    assert ids == [1, 2, 3, 4, 5]
    assert [cmd.call_id for cmd in cmds if isinstance(cmd, Hangup)] == ids


@pytest.mark.parametrize("name", list(STATES))
def test_stale_call_events_are_logged_and_ignored(name: str) -> None:
    state = STATES[name]
    for event in (
        CallRinging(STALE_ID, False),
        CallConnected(STALE_ID),
        CallMedia(STALE_ID, True),
        CallEnded(STALE_ID, 200, ""),
    ):
        new, cmds = step(state, event)
        assert new == state
        assert len(cmds) == 1 and isinstance(cmds[0], Log)


def test_incoming_call_view_party() -> None:
    new, _ = step(PhoneState(), IncomingCall(-3, "<sip:carol@example.org;transport=tcp>"))
    assert new.call == CallView(-3, Direction.INCOMING, "<sip:carol@example.org;transport=tcp>")
    assert new.call.party == "carol@example.org"


def test_late_call_failed_to_start_cannot_end_a_newer_call() -> None:
    # MakeCall(1) fails, but BACK and REDIAL were queued before the failure was reported.
    events = [UP, *dial("1002#"), BACK, REDIAL, CallFailedToStart(1, "no transport")]
    state, cmds = run(PhoneState(), events)
    assert state.call is not None or Hangup(2) in cmds


# ---------------------------------------------------------------- hook flapping


@pytest.mark.parametrize("first", [True, False], ids=["lift-first", "down-first"])
@pytest.mark.parametrize("name", list(STATES))
def test_hook_flapping_ends_consistent(name: str, first: bool) -> None:
    state = STATES[name]
    events: list[Event] = [HookChanged(first), HookChanged(not first)] * 50
    if not first:  # always finish with the handset down
        events.append(DOWN)
    seen = {state.call.call_id} if state.call is not None else set()
    hung_up: set[int] = set()
    for event in events:
        state, cmds = step(state, event)
        hung_up |= {cmd.call_id for cmd in cmds if isinstance(cmd, Hangup)}
        if state.call is not None:
            seen.add(state.call.call_id)
    assert not state.off_hook
    assert state.phase is Phase.IDLE or (state.phase is Phase.ENDED and not state.active)
    assert state.call is None
    assert seen <= hung_up, "a call was dropped without a Hangup"


# ---------------------------------------------------------------- property-based: random event sequences

STALE = "stale"
CURRENT = "current"
LAST_OUT = "last_outgoing"
LAST_IN = "last_incoming"
CALL_REF = st.sampled_from([CURRENT, CURRENT, LAST_OUT, LAST_IN, STALE])
DIAL_TARGETS = ["1002", "*69", "alice@example.org", "sips:bob@example.org:5061", "", "x y", "sip:a@b:70000"]

ACTIONS = st.one_of(
    st.builds(KeyPressed, st.sampled_from(list(Key))),
    st.builds(KeyPressed, st.sampled_from([Key.D1, Key.HASH, Key.BACK, Key.SPEAKER, Key.SELECT, Key.REDIAL])),
    st.builds(HookChanged, st.booleans()),
    st.builds(HookChanged, st.booleans()),
    st.tuples(st.just("timer"), st.sampled_from(list(Timer)), st.booleans()),
    st.builds(Tick, st.datetimes(timezones=st.just(UTC))),
    st.builds(RegistrationChanged, st.sampled_from(list(RegState)), st.sampled_from([0, 200, 403, 503])),
    st.builds(Notice, st.text(max_size=8)),
    st.builds(DialRequest, st.sampled_from(DIAL_TARGETS)),
    st.tuples(st.just("failed"), CALL_REF),
    st.tuples(st.just("incoming")),
    st.tuples(st.just("ringing"), CALL_REF, st.booleans()),
    st.tuples(st.just("connected"), CALL_REF),
    st.tuples(st.just("media"), CALL_REF, st.booleans(), st.booleans(), st.booleans()),
    st.tuples(st.just("ended"), CALL_REF, st.sampled_from([0, 200, 404, 480, 486, 487, 503, 600, 603])),
    st.sampled_from(CHAT_SAMPLES),  # chat traffic interleaved: the call invariants must still hold
    st.sampled_from([KeyPressed(Key.CONTACTS), KeyPressed(Key.MENU), KeyPressed(Key.DOWN)]),
)


class Harness:
    """Runs resolved events through step() and checks every invariant after each one."""

    def __init__(self) -> None:
        self.state = PhoneState()
        self.hook = False  # last hook switch position reported
        self.route = HANDSET  # last route the dispatcher was told
        self.ringer = False
        self.tone: Tone | None = None
        self.timers: set[Timer] = set()
        self.hung_up: set[int] = set()
        self.made: list[int] = []
        self.incoming: list[int] = []
        self.next_incoming = -1

    def resolve(self, action: Any) -> Event:
        if not isinstance(action, tuple):
            event: Event = action
            return event
        kind = action[0]
        if kind == "timer":
            timer, pending_only = action[1], action[2]
            if pending_only and self.timers and timer not in self.timers:
                timer = min(self.timers, key=lambda t: t.value)  # a timer the dispatcher would fire
            return TimerFired(timer)
        if kind == "incoming":
            self.next_incoming -= 1
            return IncomingCall(self.next_incoming, "sip:caller@example.org")
        cid = self.call_id(action[1])
        if kind == "ringing":
            return CallRinging(cid, early_media=action[2])
        if kind == "connected":
            return CallConnected(cid)
        if kind == "failed":
            return CallFailedToStart(cid, "no transport")
        if kind == "media":
            return CallMedia(cid, active=action[2], local_hold=action[3], remote_hold=action[4])
        return CallEnded(cid, action[2], "reason")

    def call_id(self, ref: str) -> int:
        if ref == CURRENT and self.state.call is not None:
            return self.state.call.call_id
        if ref == LAST_OUT and self.made:
            return self.made[-1]
        if ref == LAST_IN and self.incoming:
            return self.incoming[-1]
        return STALE_ID

    def feed(self, event: Event) -> None:
        prev = self.state
        new, cmds = step(prev, event)
        assert_well_formed(prev, event, new, cmds)
        if isinstance(event, IncomingCall):
            self.incoming.append(event.call_id)
        if isinstance(event, HookChanged):
            self.hook = event.off_hook
        if isinstance(event, TimerFired):
            self.timers.discard(event.timer)
        for cmd in cmds:
            self.apply(prev, event, cmd)
        self.check_call_continuity(prev, event, new)
        self.state = new
        self.check_state()

    def apply(self, prev: PhoneState, event: Event, cmd: Command) -> None:
        match cmd:
            case MakeCall(call_id=cid, uri=uri):
                assert cid > 0 and (not self.made or cid > self.made[-1]), "MakeCall ids must increase"
                assert to_uri(uri, DOMAIN) == uri
                self.made.append(cid)
            case Hangup(call_id=cid, code=code):
                known = {*self.made, *self.incoming}
                assert cid in known, f"Hangup for unknown call {cid}"
                assert code in (0, 486, 603)
                if code == 603:
                    assert prev.phase is Phase.RINGING and prev.call is not None and prev.call.call_id == cid
                self.hung_up.add(cid)
            case Answer(call_id=cid):
                assert prev.phase is Phase.RINGING and prev.call is not None and prev.call.call_id == cid
            case SendDtmf(call_id=cid):
                assert prev.phase is Phase.IN_CALL and prev.call is not None and prev.call.call_id == cid
            case SetRoute(path=path):
                self.route = path
            case StartRinger():
                self.ringer = True
            case StopRinger():
                self.ringer = False
            case PlayTone(tone=tone):
                self.tone = tone
            case StopTone():
                self.tone = None
            case StartTimer(timer=timer):
                self.timers.add(timer)
            case CancelTimer(timer=timer):
                self.timers.discard(timer)
            case _:
                pass

    def check_call_continuity(self, prev: PhoneState, event: Event, new: PhoneState) -> None:
        """A call that leaves the state was ended by the SIP side, never started, or hung up by us."""
        if prev.call is None or (new.call is not None and new.call.call_id == prev.call.call_id):
            return
        cid = prev.call.call_id
        ended_by_sip = isinstance(event, CallEnded) and event.call_id == cid
        never_started = isinstance(event, CallFailedToStart) and event.call_id == cid
        assert ended_by_sip or never_started or cid in self.hung_up, f"call {cid} dropped without Hangup"

    def check_state(self) -> None:
        s = self.state
        assert s.off_hook == self.hook, "state disagrees with the hook switch"
        assert s.route is self.route, "state disagrees with the last SetRoute"
        assert self.ringer == (s.phase is Phase.RINGING), "ringer on iff RINGING"
        if self.tone is not None:
            assert s.active and s.phase in (Phase.DIALTONE, Phase.CALLING, Phase.ENDED), "tone into nowhere"
        if self.tone is Tone.RINGBACK:
            assert s.phase is Phase.CALLING
        if s.phase in (Phase.DIALTONE, Phase.CALLING, Phase.IN_CALL):
            assert s.active
        if s.phase in (Phase.CALLING, Phase.RINGING, Phase.IN_CALL):
            assert s.digits == ""
        if s.phase is Phase.IDLE:
            assert s.route is HANDSET and s.call is None and s.digits == ""
        # nothing waits forever: each phase that needs a timeout has its timer running
        if s.phase is Phase.DIALTONE:
            assert Timer.DIALTONE in self.timers
        if s.phase is Phase.DIALING and s.active:
            assert Timer.INTERDIGIT in self.timers
        if s.phase is Phase.ENDED and not s.off_hook:
            assert Timer.ENDED in self.timers
        if s.notice:
            assert Timer.NOTICE in self.timers
        assert len(s.digits) <= 32
        assert s.next_call_id == (self.made[-1] + 1 if self.made else 1)


@settings(max_examples=300, deadline=None)
@given(st.lists(ACTIONS, max_size=60))
def test_random_event_sequences_keep_invariants(actions: Sequence[Any]) -> None:
    h = Harness()
    for action in actions:
        h.feed(h.resolve(action))
    # Hang up at the end: whatever was going on, the phone settles without leaking a call.
    h.feed(DOWN)
    h.feed(TimerFired(Timer.ENDED))
    if h.state.active:  # hands-free: the speaker key closes it
        h.feed(SPK)
        h.feed(TimerFired(Timer.ENDED))
    if h.state.phase is Phase.RINGING:
        h.feed(BACK)
    if h.state.phase is Phase.DIALING:  # on-hook pre-dial
        h.feed(BACK)
        h.feed(BACK)
        while h.state.phase is Phase.DIALING:
            h.feed(BACK)
    assert h.state.phase is Phase.IDLE, h.state
    assert h.state.call is None


@settings(max_examples=100, deadline=None)
@given(st.lists(st.builds(KeyPressed, st.sampled_from(list(Key))), max_size=40), st.booleans())
def test_random_keys_in_a_call_never_drop_it(presses: list[KeyPressed], hands_free: bool) -> None:
    """Any keys but SPEAKER (which may end a hands-free call) keep the call up and never raise."""
    state = STATES["in_call_speaker" if hands_free else "in_call_handset"]
    for press in presses:
        if press.key is Key.SPEAKER:
            continue
        state, _ = step(state, press)
        assert state.phase is Phase.IN_CALL and state.call is not None


def test_tick_time_moves_forward_only_via_events() -> None:
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    state, _ = run(PhoneState(), [Tick(t0), BOB, Tick(t0 + timedelta(seconds=5)), UP])
    assert state.call is not None and state.call.connected_at == t0 + timedelta(seconds=5)
