"""The engine used when pjsua2 cannot be imported (e.g. an aarch64 image built without pjproject).

The phone still comes up: the UI runs, systemd gets READY, and the idle screen and the log say
why there is no SIP ("Not registered / SIP module missing") instead of the daemon crash-looping.
Every call attempt fails at once with the same reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from firmware.commands import Tone
from firmware.events import CallFailedToStart, Event, RegistrationChanged, RegState

log = logging.getLogger(__name__)

REASON = "SIP module missing"


class UnavailableEngine:
    """Satisfies firmware.app.Engine without pjsua2."""

    def __init__(self, post: Callable[[Event], None], detail: str = "") -> None:
        self.post = post
        self.detail = detail
        self.registration = RegState.UNCONFIGURED

    def start(self) -> None:
        log.error("%s (%s): calls are disabled; install pjsua2 into this venv", REASON, self.detail)
        self.registration = RegState.FAILED
        self.post(RegistrationChanged(RegState.FAILED, 0, REASON))

    async def stop(self) -> None:
        return None

    def make_call(self, call_id: int, uri: str, headers: dict[str, str] | None = None) -> None:
        self.post(CallFailedToStart(call_id, REASON))

    def answer(self, call_id: int) -> None:
        return None

    def hangup(self, call_id: int, code: int = 0) -> None:
        return None

    def send_dtmf(self, call_id: int, digit: str) -> None:
        return None

    def hold(self, call_id: int) -> None:
        return None

    def resume(self, call_id: int) -> None:
        return None

    def play_tone(self, tone: Tone) -> None:
        return None

    def stop_tone(self) -> None:
        return None


class RefusedEngine(UnavailableEngine):
    """RFC 7081 section 8 with security_parity = "require": SIP is less protected than XMPP, so the
    phone does not run it. The idle screen says so; calls fail at once with the reason."""

    def start(self) -> None:
        log.warning("SIP not started: %s (cusax.security_parity = require)", self.detail)
        self.registration = RegState.FAILED
        self.post(RegistrationChanged(RegState.FAILED, 0, self.detail[:60]))

    def make_call(self, call_id: int, uri: str, headers: dict[str, str] | None = None) -> None:
        self.post(CallFailedToStart(call_id, "Phone refused: less secure"))
