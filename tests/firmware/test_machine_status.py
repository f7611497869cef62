"""The status screen and the provisioning sign-in dialog (firmware/machine_status.py, merged into
firmware/machine.py): bindings, the dialog's whole life (typing, rejection, a call in between,
cancelling), every key in every new view never raising and pure, and the password in no Log
command and no repr(), checked by hand and by hypothesis.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.commands import (
    CancelTimer,
    Command,
    Log,
    ReprovisionNow,
    SetVolume,
    StartTimer,
    SubmitCredentials,
)
from firmware.events import (
    CallEnded,
    ChatConnectionChanged,
    CredentialsRequested,
    Event,
    IncomingCall,
    ProvisioningChanged,
    Timer,
    TimerFired,
)
from firmware.machine import step
from firmware.machine_status import (
    CHECKING,
    ENTER_PASSWORD,
    ENTER_USER,
    PROVISIONING_OFF,
    SIGN_IN_NEEDED,
    SIGN_IN_REJECTED,
    SIGNED_IN,
    SIGNING_IN,
    display_url,
    provisioning_changed,
    scrub,
)
from firmware.provisioning.events import ProvisioningStatus, ProvState
from firmware.state import Phase, PhoneState, Settings, View
from firmware.ui.status_text import max_status_scroll
from firmware.xmpp.model import ChatState
from hal.types import AudioPath, HookChanged, Key, KeyPressed

S = Settings()
T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
IDLE_TIMER = StartTimer(Timer.CHAT_IDLE, S.chat_idle_s)
IDLE_CANCEL = CancelTimer(Timer.CHAT_IDLE)
TAP_TIMER = StartTimer(Timer.SIGN_IN_TAP, S.multitap_s)
NOTICE_TIMER = StartTimer(Timer.NOTICE, S.notice_s)
REALM = "deskphone provisioning"
ASKED = CredentialsRequested(REALM)
REJECTED = CredentialsRequested(REALM, rejected=True)
OK = ProvisioningChanged(ProvState.OK, 7, T0, T0, url="prov.example.org/p/x.json")
FAILED = ProvisioningChanged(ProvState.FAILED, 7, T0, T0, error="cannot reach prov.example.org")
NEEDS = ProvisioningChanged(ProvState.NEEDS_CREDENTIALS, 0, None, T0, error="HTTP 401")
PAUSE = TimerFired(Timer.SIGN_IN_TAP)
ONLINE = ChatConnectionChanged(ChatState.ONLINE)
CALLER = IncomingCall(-5, "sip:bob@example.org", "Bob")

# The password typed below, letter by letter: q (7 x2), z (9 x4), then 123 mode: 9, back to letters: x (9 x2).
PASSWORD = "qz9x"
PASSWORD_KEYS: list[Event] = [
    *[KeyPressed(Key.D7)] * 2,
    *[KeyPressed(Key.D9)] * 4,
    KeyPressed(Key.HASH),
    KeyPressed(Key.D9),
    KeyPressed(Key.HASH),
    *[KeyPressed(Key.D9)] * 2,
    PAUSE,
]
USER_KEYS: list[Event] = [KeyPressed(k) for k in (Key.D4, Key.D7, Key.D1, Key.D1)]


def key(k: Key) -> KeyPressed:
    return KeyPressed(k)


def keys(*ks: Key) -> list[Event]:
    return [KeyPressed(k) for k in ks]


def run(state: PhoneState, events: Iterable[Event]) -> tuple[PhoneState, list[Command]]:
    out: list[Command] = []
    for event in events:
        state, cmds = step(state, event)
        out.extend(cmds)
    return state, out


RECIPES: dict[str, list[Event]] = {
    "status_plain": [key(Key.MENU)],
    "status_provisioned": [OK, key(Key.MENU)],
    "status_failed": [FAILED, key(Key.MENU)],
    "status_needs": [NEEDS, key(Key.MENU)],
    "status_chat": [ONLINE, OK, *keys(Key.MENU, Key.MENU)],
    "sign_in": [NEEDS, ASKED],
    "sign_in_chat": [ONLINE, NEEDS, ASKED],
    "sign_in_user": [NEEDS, ASKED, *USER_KEYS],
    "sign_in_password": [NEEDS, ASKED, *USER_KEYS, key(Key.SELECT)],
    "sign_in_pending": [NEEDS, ASKED, *USER_KEYS, *keys(Key.SELECT, Key.D6, Key.D6)],
    "sign_in_rejected": [
        NEEDS,
        ASKED,
        *USER_KEYS,
        key(Key.SELECT),
        *PASSWORD_KEYS,
        key(Key.SELECT),
        REJECTED,
    ],
    "sign_in_in_call": [NEEDS, CALLER, HookChanged(True), ASKED],
}
STATES: dict[str, PhoneState] = {name: run(PhoneState(), events)[0] for name, events in RECIPES.items()}


def test_recipes_reach_their_views() -> None:
    for name, state in STATES.items():
        if name == "sign_in_in_call":
            assert state.phase is Phase.IN_CALL and state.nav.view is View.HOME
        elif name.startswith("status"):
            assert state.nav.view is View.STATUS, name
        else:
            assert state.nav.view is View.CREDENTIALS and state.provisioning.sign_in.open, name


# ---------------------------------------------------------------- the status screen


STATUS_ROWS: list[Any] = [
    pytest.param("status_plain", Key.BACK, View.HOME, (IDLE_CANCEL,), {}, id="back-home"),
    pytest.param("status_plain", Key.MENU, View.HOME, (IDLE_CANCEL,), {}, id="menu-home"),
    pytest.param(
        "status_provisioned",
        Key.SELECT,
        View.STATUS,
        (ReprovisionNow("keypad"), NOTICE_TIMER, IDLE_TIMER),
        {"notice": CHECKING},
        id="select-update-now",
    ),
    pytest.param(
        "status_plain",
        Key.SELECT,
        View.STATUS,
        (NOTICE_TIMER, IDLE_TIMER),
        {"notice": PROVISIONING_OFF},
        id="select-not-provisioned",
    ),
    pytest.param(
        "status_needs",
        Key.SELECT,
        View.CREDENTIALS,
        (IDLE_CANCEL,),
        {"sign_in.open": True},
        id="select-sign-in",
    ),
    pytest.param("status_failed", Key.DOWN, View.STATUS, (IDLE_TIMER,), {"scroll": 1}, id="down-scrolls"),
    pytest.param("status_failed", Key.UP, View.STATUS, (IDLE_TIMER,), {"scroll": 0}, id="up-stops-at-top"),
    pytest.param(
        "status_failed", Key.HASH, View.STATUS, (IDLE_TIMER,), {"scroll": 3}, id="hash-pages-to-the-end"
    ),
    pytest.param(
        "status_provisioned",
        Key.VOL_UP,
        View.STATUS,
        (SetVolume(AudioPath.HANDSET, 80),),
        {},
        id="volume-keeps-the-screen",
    ),
    pytest.param("status_chat", Key.CONTACTS, View.ROSTER, (IDLE_TIMER,), {}, id="contacts-roster"),
]


@pytest.mark.parametrize(("start", "k", "view", "expected", "checks"), STATUS_ROWS)
def test_status_keys(start: str, k: Key, view: View, expected: Any, checks: dict[str, Any]) -> None:
    new, cmds = step(STATES[start], key(k))
    assert new.nav.view is view
    assert cmds == expected
    for name, value in checks.items():
        got = new.notice if name == "notice" else _dotted(new.provisioning, name)
        assert got == value, name


def _dotted(obj: Any, name: str) -> Any:
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def test_menu_without_chat_opens_the_status_screen_and_with_chat_the_chat_list() -> None:
    assert step(PhoneState(), key(Key.MENU))[0].nav.view is View.STATUS
    chat, _ = step(PhoneState(), ONLINE)
    assert step(chat, key(Key.MENU))[0].nav.view is View.CHATS
    assert run(chat, keys(Key.MENU, Key.MENU, Key.MENU))[0].nav.view is View.HOME  # Chats, Status, home


def test_digits_on_the_status_screen_pre_dial() -> None:
    new, _ = step(STATES["status_provisioned"], key(Key.D5))
    assert new.phase is Phase.DIALING and new.digits == "5" and new.nav.view is View.HOME


def test_scrolling_stops_at_the_last_line() -> None:
    state = STATES["status_failed"]
    top = max_status_scroll(state, S.display_size)
    assert top > 0
    state, _ = run(state, keys(*[Key.DOWN] * (top + 5)))
    assert state.provisioning.scroll == top
    state, _ = run(state, keys(Key.STAR, Key.LEFT, Key.LEFT))
    assert state.provisioning.scroll == 0


def test_the_status_screen_times_out_to_home() -> None:
    state, _ = step(STATES["status_provisioned"], TimerFired(Timer.CHAT_IDLE))
    assert state.nav.view is View.HOME


def test_status_follows_the_provisioner() -> None:
    state, cmds = step(PhoneState(), FAILED)
    prov = state.provisioning
    assert (prov.state, prov.version, prov.error, cmds) == (ProvState.FAILED, 7, FAILED.error, ())
    state, _ = step(state, OK)
    assert state.provisioning.state is ProvState.OK and state.provisioning.error == ""
    assert state.provisioning.url == "prov.example.org/p/x.json"


# ---------------------------------------------------------------- the sign-in dialog


def test_a_401_while_idle_opens_the_dialog_at_once() -> None:
    state, cmds = run(PhoneState(), [NEEDS, ASKED])
    assert state.nav.view is View.CREDENTIALS and state.notice == ""
    assert cmds == [IDLE_CANCEL]
    sign = state.provisioning.sign_in
    assert sign.realm == REALM and not sign.rejected and not sign.on_password
    assert sign.user.digits and not sign.password.digits  # user IDs are often numbers


def test_typing_and_signing_in() -> None:
    state, cmds = run(STATES["sign_in"], [*USER_KEYS, key(Key.SELECT)])
    assert state.provisioning.sign_in.user.text == "4711" and state.provisioning.sign_in.on_password
    assert cmds == []  # digits go in at once: no pause timer
    state, cmds = run(state, keys(Key.D7, Key.D7))
    assert state.provisioning.sign_in.password.pending_char == "q"
    assert cmds == [TAP_TIMER, TAP_TIMER]  # restarted on every press of the same key
    state, cmds = run(state, [*PASSWORD_KEYS[2:]])
    assert state.provisioning.sign_in.password.text == PASSWORD
    state, cmds = step(state, key(Key.SELECT))
    assert state.nav.view is View.HOME and state.notice == SIGNING_IN
    assert cmds[0] == SubmitCredentials("4711", PASSWORD)
    sign = state.provisioning.sign_in
    assert not sign.open and sign.submitted and sign.password.text == "" and sign.user.text == "4711"
    state, cmds = run(state, [ASKED])  # a check that began before: no dialog again
    assert state.nav.view is View.HOME
    state, cmds = step(state, OK)
    assert state.notice == SIGNED_IN and cmds == (NOTICE_TIMER,)
    assert not state.provisioning.sign_in.submitted


def test_rejected_credentials_open_the_dialog_again() -> None:
    state = STATES["sign_in_rejected"]
    sign = state.provisioning.sign_in
    assert state.nav.view is View.CREDENTIALS and sign.rejected and not sign.submitted
    assert sign.user.text == "4711" and sign.password.text == ""
    assert state.notice == ""  # "Signing in..." gave way to the dialog


def test_asked_again_while_typing_keeps_what_is_typed() -> None:
    state, _ = run(STATES["sign_in_pending"], [ASKED, REJECTED])
    sign = state.provisioning.sign_in
    assert sign.user.text == "4711" and sign.password.pending_char == "n" and sign.rejected


def test_missing_fields_are_named() -> None:
    state, cmds = step(STATES["sign_in"], key(Key.SELECT))  # empty user ID: on to the password
    state, cmds = step(state, key(Key.SELECT))
    assert state.provisioning.sign_in.message == ENTER_USER and not state.provisioning.sign_in.on_password
    assert not any(isinstance(cmd, SubmitCredentials) for cmd in cmds)
    state, _ = run(state, [*USER_KEYS, key(Key.SELECT), key(Key.SELECT)])
    assert state.provisioning.sign_in.message == ENTER_PASSWORD and state.provisioning.sign_in.on_password
    state, _ = step(state, key(Key.D2))
    assert state.provisioning.sign_in.message == ""


def test_back_deletes_then_changes_field_then_cancels() -> None:
    state, _ = run(STATES["sign_in_pending"], keys(Key.BACK))  # the pending letter
    assert state.provisioning.sign_in.password.shown == ""
    state, _ = step(state, key(Key.BACK))  # empty password: back to the user ID
    assert not state.provisioning.sign_in.on_password
    state, _ = run(state, keys(Key.BACK, Key.BACK))
    assert state.provisioning.sign_in.user.text == "47"
    state, cmds = run(state, keys(Key.BACK, Key.BACK, Key.BACK))
    assert state.nav.view is View.HOME and state.provisioning.sign_in.dismissed
    assert Log("info", "provisioning sign-in cancelled") in cmds
    state, _ = step(state, ASKED)  # not again by itself...
    assert state.nav.view is View.HOME
    state, _ = run(state, keys(Key.MENU, Key.SELECT))  # ...but from the status screen
    assert state.nav.view is View.CREDENTIALS


def test_arrows_change_field_and_right_ends_the_letter() -> None:
    state, cmds = step(STATES["sign_in_pending"], key(Key.RIGHT))
    assert state.provisioning.sign_in.password.text == "n" and cmds == (CancelTimer(Timer.SIGN_IN_TAP),)
    state, _ = step(state, key(Key.UP))
    assert not state.provisioning.sign_in.on_password
    state, _ = step(state, key(Key.DOWN))
    assert state.provisioning.sign_in.on_password
    for k in (Key.LEFT, Key.MENU, Key.CONTACTS):
        assert step(state, key(k)) == (state, ())


def test_a_call_hides_the_dialog_and_it_comes_back_after() -> None:
    state = STATES["sign_in_in_call"]
    assert state.notice == SIGN_IN_NEEDED and state.provisioning.sign_in.open
    state, _ = run(state, [HookChanged(False)])
    state, _ = run(state, [CallEnded(CALLER.call_id, 200, "OK"), TimerFired(Timer.ENDED)])
    assert state.phase is Phase.IDLE and state.nav.view is View.CREDENTIALS


def test_rejected_during_a_call_says_so() -> None:
    state, _ = run(PhoneState(), [CALLER, HookChanged(True), REJECTED])
    assert state.notice == SIGN_IN_REJECTED


def test_speaker_from_the_dialog_calls_and_typing_survives() -> None:
    state, _ = step(STATES["sign_in_user"], key(Key.SPEAKER))
    assert state.phase is Phase.DIALTONE
    state, _ = step(state, key(Key.SPEAKER))  # hands-free off again
    assert state.phase is Phase.IDLE and state.nav.view is View.CREDENTIALS
    assert state.provisioning.sign_in.user.text == "4711"


def test_a_pause_during_a_call_still_ends_the_letter() -> None:
    state, _ = run(STATES["sign_in_pending"], [CALLER, PAUSE])
    assert state.provisioning.sign_in.password.text == "n"


def test_chat_timeout_and_chat_loss_do_not_close_the_dialog() -> None:
    state = STATES["sign_in_chat"]
    for event in (TimerFired(Timer.CHAT_IDLE), ChatConnectionChanged(ChatState.DISABLED)):
        assert step(state, event)[0].nav.view is View.CREDENTIALS


def test_success_closes_an_open_dialog_and_failure_does_not() -> None:
    assert step(STATES["sign_in_user"], FAILED)[0].nav.view is View.CREDENTIALS
    state, _ = step(STATES["sign_in_user"], OK)
    assert state.nav.view is View.HOME and not state.provisioning.sign_in.open


# ---------------------------------------------------------------- every key, every event, purity

SAMPLES: list[Event] = [
    OK,
    FAILED,
    NEEDS,
    ASKED,
    REJECTED,
    PAUSE,
    TimerFired(Timer.CHAT_IDLE),
    TimerFired(Timer.MULTITAP),
    TimerFired(Timer.NOTICE),
    CALLER,
    HookChanged(True),
    ONLINE,
    ChatConnectionChanged(ChatState.DISABLED),
]


def _pure(state: PhoneState, event: Event) -> tuple[PhoneState, tuple[Command, ...]]:
    before = copy.deepcopy(state)
    first, second = step(state, event), step(state, event)
    assert first == second and state == before
    return first


@pytest.mark.parametrize("k", list(Key), ids=lambda k: k.name)
@pytest.mark.parametrize("name", list(STATES))
def test_every_key_in_every_new_view_never_raises(name: str, k: Key) -> None:
    new, cmds = _pure(STATES[name], key(k))
    assert isinstance(new, PhoneState) and isinstance(cmds, tuple)
    _check(new)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("name", list(STATES))
def test_every_event_in_every_new_view_never_raises(name: str, event: Event) -> None:
    new, _ = _pure(STATES[name], event)
    _check(new)


def _check(state: PhoneState) -> None:
    """The dialog is on screen exactly while it is open and the phone idle."""
    shown = state.phase is Phase.IDLE and state.provisioning.sign_in.open
    assert (state.nav.view is View.CREDENTIALS) == shown


# ---------------------------------------------------------------- the password stays secret


def _secret_free(cmds: Sequence[Command], state: PhoneState, password: str) -> None:
    for cmd in cmds:
        if isinstance(cmd, Log):
            assert password not in cmd.message
        assert password not in repr(cmd)
    assert password not in repr(state)


def test_the_password_is_in_no_log_and_no_repr() -> None:
    state, cmds = run(STATES["sign_in"], [*USER_KEYS, key(Key.SELECT), *PASSWORD_KEYS])
    assert state.provisioning.sign_in.password.text == PASSWORD
    _secret_free(cmds, state, PASSWORD)
    state, cmds = run(state, [key(Key.SELECT)])
    submitted = [cmd for cmd in cmds if isinstance(cmd, SubmitCredentials)]
    assert submitted and submitted[0].password == PASSWORD
    _secret_free(cmds, state, PASSWORD)
    assert "4711" in repr(submitted[0])  # the user ID is no secret


TYPING = st.sampled_from(
    [Key.D2, Key.D7, Key.D9, Key.D0, Key.D1, Key.STAR, Key.HASH, Key.BACK, Key.RIGHT, Key.UP, Key.DOWN]
)
DIALOG_ACTIONS = st.one_of(
    st.builds(KeyPressed, TYPING),
    st.builds(KeyPressed, TYPING),
    st.builds(KeyPressed, st.sampled_from(list(Key))),
    st.sampled_from(
        [*SAMPLES, TimerFired(Timer.ENDED), HookChanged(False), CallEnded(CALLER.call_id, 200, "")]
    ),
)


class Harness:
    def __init__(self, state: PhoneState) -> None:
        self.state = state
        self.timers: set[Timer] = set()

    def feed(self, event: Event) -> None:
        typed = self.state.provisioning.sign_in.password.text
        new, cmds = step(self.state, event)
        if isinstance(event, TimerFired):
            self.timers.discard(event.timer)
        for cmd in cmds:
            if isinstance(cmd, StartTimer):
                self.timers.add(cmd.timer)
            elif isinstance(cmd, CancelTimer):
                self.timers.discard(cmd.timer)
            elif isinstance(cmd, Log) and len(typed) >= 3:
                assert typed not in cmd.message
            elif isinstance(cmd, SubmitCredentials):
                assert "password" not in repr(cmd)
        self.state = new
        _check(new)
        sign = new.provisioning.sign_in
        if sign.user.pending is not None or sign.password.pending is not None:
            assert Timer.SIGN_IN_TAP in self.timers
        assert len(sign.user.text) <= sign.user.limit and len(sign.password.text) <= sign.password.limit


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(STATES)), st.lists(DIALOG_ACTIONS, max_size=60))
def test_random_sequences_keep_the_dialog_consistent(start: str, actions: Sequence[Event]) -> None:
    h = Harness(PhoneState())
    for event in RECIPES[start]:
        h.feed(event)
    for event in actions:
        h.feed(event)


# ---------------------------------------------------------------- from the provisioner


def test_the_status_event_carries_no_credentials() -> None:
    status = ProvisioningStatus(
        ProvState.FAILED,
        3,
        error="cannot reach https://dev1:pw1@prov.example.org/p/x.json?token=s3cret: refused",
        warnings=("w",) * 100,
        url="https://dev1:pw1@prov.example.org:8443/p/b827eb123456.json?token=s3cret#frag",
    )
    event = provisioning_changed(status)
    assert event.url == "prov.example.org:8443/p/b827eb123456.json"
    assert event.error == "cannot reach https://prov.example.org/p/x.json refused"
    assert "pw1" not in repr(event) and "s3cret" not in repr(event)
    assert len(event.warnings) == 20


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://prov.example.org/p/a.json", "prov.example.org/p/a.json"),
        ("https://u@h/p", "h/p"),
        ("", ""),
        ("not a url", "not a url"),
        ("https://[::1", ""),
    ],
)
def test_display_url(url: str, shown: str) -> None:
    assert display_url(url) == shown


def test_scrub_leaves_plain_text_alone() -> None:
    assert scrub("HTTP 401: unauthorized (user@example.org)") == "HTTP 401: unauthorized (user@example.org)"


def test_hostile_status_is_bounded() -> None:
    huge = ProvisioningChanged(ProvState.FAILED, -5, error="x" * 100_000, warnings=("y" * 10_000,) * 1000)
    state, _ = step(PhoneState(), huge)
    prov = state.provisioning
    assert prov.version == 0 and len(prov.error) <= 300 and len(prov.warnings) <= 20
    assert all(len(w) <= 200 for w in prov.warnings)
    state, _ = step(state, CredentialsRequested("r" * 100_000))
    assert len(state.provisioning.sign_in.realm) <= 100


def test_states_stay_hashable() -> None:
    for state in STATES.values():
        hash(state)
    assert replace(STATES["sign_in_pending"]) == STATES["sign_in_pending"]
