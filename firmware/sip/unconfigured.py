"""The engine before the first profile arrives: no SIP account yet, so nothing registers.

`deskphone run` with a config that holds only `[provisioning]` starts the phone with this engine;
the idle screen shows it unregistered ("Not provisioned") and calls fail at once with that reason
until the profile brings an account and `Phone.apply_config` swaps in the real engine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from firmware.events import CallFailedToStart, Event, RegistrationChanged, RegState
from firmware.sip.unavailable import UnavailableEngine

log = logging.getLogger(__name__)

REASON = "Not provisioned"


class UnconfiguredEngine(UnavailableEngine):
    def __init__(self, post: Callable[[Event], None]) -> None:
        super().__init__(post, "no SIP account in the configuration yet")

    def start(self) -> None:
        log.info("no SIP account yet: waiting for the provisioning profile")
        self.registration = RegState.UNCONFIGURED
        self.post(RegistrationChanged(RegState.UNCONFIGURED, 0, REASON))

    def make_call(self, call_id: int, uri: str, headers: dict[str, str] | None = None) -> None:
        self.post(CallFailedToStart(call_id, REASON))
