"""Phone states for the screen tests: every screen and its variants, by name."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from firmware.events import RegState
from firmware.state import CallView, Direction, Phase, PhoneState, Registration, Settings
from hal.types import AudioPath

NOW = datetime(2024, 5, 17, 14, 5, 42, tzinfo=timezone(timedelta(hours=2)))

BASE = PhoneState(
    settings=Settings(domain="pbx.example.com"),
    registration=Registration(RegState.REGISTERED, 200, "OK"),
    now=NOW,
)

ALICE_OUT = CallView(
    call_id=1,
    direction=Direction.OUTGOING,
    remote="sip:1002@pbx.example.com",
    display_name="Alice",
)
BOB_IN = CallView(
    call_id=2,
    direction=Direction.INCOMING,
    remote="<sip:bob@pbx.example.com;transport=tcp>",
    display_name="Bob Smith",
)
ANON_IN = replace(BOB_IN, remote="sip:1002@pbx.example.com", display_name="")
CONNECTED = replace(ALICE_OUT, media_active=True, connected_at=NOW - timedelta(minutes=3, seconds=7))


def _reg(state: RegState, code: int = 0, reason: str = "") -> PhoneState:
    return replace(BASE, registration=Registration(state, code, reason))


def _ended(reason: str) -> PhoneState:
    return replace(BASE, phase=Phase.ENDED, off_hook=True, call=ALICE_OUT, ended_reason=reason)


CASES: dict[str, PhoneState] = {
    "idle_registered": BASE,
    "idle_registering": _reg(RegState.REGISTERING),
    "idle_auth_failed": _reg(RegState.AUTH_FAILED, 403, "Forbidden"),
    "idle_unreachable": _reg(RegState.UNREACHABLE, 408, "Request Timeout"),
    "idle_unconfigured": replace(_reg(RegState.UNCONFIGURED), now=datetime(1970, 1, 1, tzinfo=UTC)),
    "idle_failed": _reg(RegState.FAILED, 503, "Service Unavailable"),
    "idle_notice": replace(BASE, notice="Invalid number"),
    "idle_notice_long": replace(BASE, notice="Audio device error: USB headset disconnected"),
    "dialtone_handset": replace(BASE, phase=Phase.DIALTONE, off_hook=True),
    "dialtone_speaker": replace(BASE, phase=Phase.DIALTONE, route=AudioPath.SPEAKER),
    "dialing_short": replace(BASE, phase=Phase.DIALING, off_hook=True, digits="1002"),
    "dialing_long": replace(BASE, phase=Phase.DIALING, off_hook=True, digits="0049301234567890123*#"),
    "dialing_notice": replace(
        BASE, phase=Phase.DIALING, off_hook=True, digits="12*", notice="Invalid number"
    ),
    "calling": replace(BASE, phase=Phase.CALLING, off_hook=True, call=ALICE_OUT),
    "calling_ringing": replace(
        BASE, phase=Phase.CALLING, off_hook=True, call=replace(ALICE_OUT, ringing=True)
    ),
    "calling_early_media": replace(
        BASE,
        phase=Phase.CALLING,
        route=AudioPath.SPEAKER,
        call=replace(ALICE_OUT, ringing=True, early_media=True),
    ),
    "incoming_named": replace(BASE, phase=Phase.RINGING, call=BOB_IN),
    "incoming_anonymous": replace(BASE, phase=Phase.RINGING, call=ANON_IN),
    "incoming_long_name": replace(
        BASE, phase=Phase.RINGING, call=replace(BOB_IN, display_name="Maximilian Alexander Hohenzollern")
    ),
    "in_call": replace(BASE, phase=Phase.IN_CALL, off_hook=True, call=CONNECTED),
    "in_call_local_hold": replace(
        BASE, phase=Phase.IN_CALL, off_hook=True, call=replace(CONNECTED, local_hold=True, media_active=False)
    ),
    "in_call_remote_hold": replace(
        BASE,
        phase=Phase.IN_CALL,
        off_hook=True,
        call=replace(CONNECTED, remote_hold=True, media_active=False),
    ),
    "in_call_speaker": replace(
        BASE, phase=Phase.IN_CALL, route=AudioPath.SPEAKER, speaker_volume=40, call=CONNECTED
    ),
    "in_call_no_media": replace(
        BASE, phase=Phase.IN_CALL, off_hook=True, call=replace(CONNECTED, media_active=False)
    ),
    "in_call_long": replace(
        BASE,
        phase=Phase.IN_CALL,
        off_hook=True,
        call=replace(CONNECTED, connected_at=NOW - timedelta(hours=1, minutes=2, seconds=3)),
        notice="Headset volume at maximum",
    ),
    "ended_busy": _ended("Busy"),
    "ended_declined": _ended("Declined"),
    "ended_not_found": _ended("Not found"),
    "ended_failed": replace(_ended("Service Unavailable (503)"), call=None, last_dialed="1002"),
    "ended_normal": replace(_ended(""), off_hook=False),
}

# The 256x64 (SSD1322) goldens: a few screens, enough to show the layout uses the width.
WIDE_CASES = (
    "idle_registered",
    "idle_auth_failed",
    "idle_notice",
    "dialing_long",
    "incoming_named",
    "incoming_long_name",
    "in_call_remote_hold",
    "in_call_long",
    "ended_failed",
)

# The chat screens (issue 3), built through the state machine in tests/ui/chat_cases.py.
from .chat_cases import CHAT_CASES, CHAT_EXPECTED_WORDS, CHAT_WIDE_CASES  # noqa: E402

CASES.update(CHAT_CASES)
WIDE_CASES += CHAT_WIDE_CASES

# The status screen and the sign-in dialog (issue 4), in tests/ui/status_cases.py.
from .status_cases import STATUS_CASES, STATUS_EXPECTED_WORDS, STATUS_WIDE_CASES  # noqa: E402

CASES.update(STATUS_CASES)
WIDE_CASES += STATUS_WIDE_CASES
__all__ = [
    "BASE",
    "BOB_IN",
    "CASES",
    "CHAT_EXPECTED_WORDS",
    "CONNECTED",
    "NOW",
    "STATUS_EXPECTED_WORDS",
    "WIDE_CASES",
]
