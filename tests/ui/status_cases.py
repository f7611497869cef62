"""Phone states for the status screen and the sign-in dialog (issue 4), built by feeding events to
the real state machine. Merged into tests/ui/cases.py: each gets a golden image and its words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from firmware.events import (
    ChatConnectionChanged,
    CredentialsRequested,
    Event,
    ProvisioningChanged,
    Timer,
    TimerFired,
)
from firmware.machine import step
from firmware.provisioning.events import ProvState
from firmware.state import PhoneState
from firmware.xmpp.model import ChatState
from hal.types import Key, KeyPressed

from .cases import BASE

REALM = "deskphone provisioning"
UPDATED = datetime(2024, 5, 17, 10, 0, 0, tzinfo=UTC)  # 12:00 at the phone's +02:00
CHECKED = datetime(2024, 5, 17, 12, 4, 0, tzinfo=UTC)
URL = "prov.example.org/p/b827eb123456.json"
PROVISIONED = replace(
    BASE,
    settings=replace(BASE.settings, sip_account="1001@pbx.example.com", chat_account="alice@example.org"),
)
OK = ProvisioningChanged(ProvState.OK, 42, UPDATED, CHECKED, url=URL)
FAILED = ProvisioningChanged(
    ProvState.FAILED,
    42,
    UPDATED,
    CHECKED,
    error="cannot reach prov.example.org: connection refused",
    warnings=("unknown key sip.frobnicate ignored", "unknown key phone.colour ignored"),
    url=URL,
)
NEEDS = ProvisioningChanged(ProvState.NEEDS_CREDENTIALS, 0, None, CHECKED, error="HTTP 401", url=URL)
PAUSE = TimerFired(Timer.SIGN_IN_TAP)


def feed(state: PhoneState, events: Iterable[Event | Key]) -> PhoneState:
    for event in events:
        state, _ = step(state, KeyPressed(event) if isinstance(event, Key) else event)
    return state


def _sign_in(*keys: Event | Key, rejected: bool = False) -> PhoneState:
    return feed(PROVISIONED, [NEEDS, CredentialsRequested(REALM, rejected), *keys])


USER = (Key.D4, Key.D7, Key.D1, Key.D1)
OK_PENDING = (Key.D6, Key.D6, Key.D6, Key.D5, Key.D5)  # "o", then "k" still being chosen
CHAT = ChatConnectionChanged(ChatState.ONLINE)

STATUS_CASES: dict[str, PhoneState] = {
    "status_ok": feed(PROVISIONED, [CHAT, OK, Key.MENU, Key.MENU]),
    "status_ok_scrolled": feed(PROVISIONED, [CHAT, OK, Key.MENU, Key.MENU, Key.HASH, Key.HASH]),
    "status_failed": feed(PROVISIONED, [FAILED, Key.MENU]),
    "status_failed_scrolled": feed(PROVISIONED, [FAILED, Key.MENU, *[Key.DOWN] * 7]),
    "status_not_provisioned": feed(BASE, [Key.MENU]),
    "status_sign_in_needed": feed(PROVISIONED, [NEEDS, Key.MENU]),
    "sign_in_empty": _sign_in(),
    "sign_in_password_pending": _sign_in(*USER, Key.SELECT, *OK_PENDING),
    "sign_in_password_letters": _sign_in(*USER, Key.SELECT, *OK_PENDING, PAUSE, Key.HASH, Key.D4, Key.D2),
    "sign_in_user_letters": _sign_in(Key.HASH, Key.D7, Key.D4, Key.D4, Key.D6, Key.D6, Key.D6),
    "sign_in_rejected": _sign_in(*USER, rejected=True),
    "sign_in_long_user": _sign_in(*[Key.D1, Key.D2, Key.D3, Key.D4, Key.D5] * 5),
    "sign_in_missing_password": _sign_in(*USER, Key.SELECT, Key.SELECT),
}

STATUS_WIDE_CASES = (
    "status_ok",
    "status_failed",
    "sign_in_empty",
    "sign_in_password_pending",
)

STATUS_EXPECTED_WORDS: dict[str, tuple[str, ...]] = {
    "status_ok": ("Status", "Provisioning: ok", "Profile: v42", "Updated: 17 May 12:00", "Checked: 17 May"),
    "status_ok_scrolled": ("Phone: registered", "1001@pbx.example.com", "Chat: online", "alice@example.org"),
    "status_failed": (
        "Provisioning: failed",
        "Error: cannot reach",
        "prov.example.org:",
        "Select: update now",
    ),
    "status_failed_scrolled": ("Warnings: 2", "unknown key", "sip.frobnicate", "ignored"),
    "status_not_provisioned": ("Provisioning: off", "Phone: registered"),
    "status_sign_in_needed": ("Provisioning: sign-in", "needed", "Error: HTTP 401", "Select: sign in"),
    "sign_in_empty": (
        "Sign in",
        "123",
        "deskphone provisioni",
        "User ID",
        "Password",
        "letters",
        "Select: next",
    ),
    "sign_in_password_pending": ("4711", "*", "k", "abc", "digits", "ABC", "Select: sign in"),
    "sign_in_password_letters": ("****", "123"),
    "sign_in_user_letters": ("ph  o", "abc", "Select: next"),
    "sign_in_rejected": ("Rejected, try again", "4711"),
    "sign_in_long_user": ("\u2026", "2345"),
    "sign_in_missing_password": ("Enter your password", "Select: sign in"),
}
