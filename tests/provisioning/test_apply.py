"""Applying a new configuration to the running phone (in process, sim board, recording engines):
settings at once, SIP engine swapped only when idle, an active call never touched."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from firmware import config as config_mod
from firmware.app import EngineFactory, Phone
from firmware.commands import Tone
from firmware.config import Config
from firmware.events import CallConnected, CallEnded, Event, IncomingCall, RegistrationChanged, RegState
from firmware.provisioning.events import ProvisioningStatus, ProvState
from firmware.provisioning.runtime import PhoneBridge
from firmware.sip.factory import sip_engines
from firmware.state import Phase
from hal import make_board
from hal.backends.sim import SimBoard
from tests.provisioning.conftest import sip_section


class RecordingEngine:
    """Stands in for SipEngine; records its life and the calls it was asked to hang up."""

    def __init__(self, log: list[str], user: str, post: Callable[[Event], None]) -> None:
        self.log, self.user, self.post = log, user, post

    def start(self) -> None:
        self.log.append(f"start {self.user}")
        self.post(RegistrationChanged(RegState.REGISTERED, 200, "OK"))

    async def stop(self) -> None:
        self.log.append(f"stop {self.user}")

    def hangup(self, call_id: int, code: int = 0) -> None:
        self.log.append(f"hangup {call_id}")
        self.post(CallEnded(call_id, 200, "Normal"))

    def make_call(self, call_id: int, uri: str, headers: dict[str, str] | None = None) -> None: ...
    def answer(self, call_id: int) -> None:
        self.post(CallConnected(call_id))

    def send_dtmf(self, call_id: int, digit: str) -> None: ...
    def hold(self, call_id: int) -> None: ...
    def resume(self, call_id: int) -> None: ...
    def play_tone(self, tone: Tone) -> None: ...
    def stop_tone(self) -> None: ...


def config(user: str | None = "1001", **sections: Any) -> Config:
    doc: dict[str, Any] = {"hardware": {"backend": "sim"}, "provisioning": {}, **sections}
    if user is not None:
        doc["sip"] = sip_section(user)
    return config_mod.parse(doc)


def make_phone(first: Config) -> tuple[Phone, SimBoard, list[str]]:
    log: list[str] = []
    unconfigured = sip_engines(None)  # the real choice for "no SIP account yet"

    def engine_for(cfg: Config) -> EngineFactory:
        if cfg.sip is None:
            return unconfigured(cfg)
        user = cfg.sip.user
        return lambda post: RecordingEngine(log, user, post)

    board = make_board(first.hal_config())
    assert isinstance(board, SimBoard)
    clock = lambda: datetime(2026, 1, 1, tzinfo=UTC)  # noqa: E731
    return Phone(first, board, engine_for(first), clock, engine_for=engine_for), board, log


def run(test: Callable[[Phone, SimBoard, list[str]], Any], first: Config | None = None) -> None:
    async def main() -> None:
        phone, board, log = make_phone(first or config())
        await phone.start()
        try:
            await test(phone, board, log)
        finally:
            await phone.stop()

    asyncio.run(main())


async def _settle(phone: Phone) -> None:
    for _ in range(20):
        await asyncio.sleep(0.01)


def test_idle_phone_swaps_the_sip_engine_and_settings() -> None:
    async def test(phone: Phone, board: SimBoard, log: list[str]) -> None:
        await phone.wait_until(lambda s: s.registration.state is RegState.REGISTERED)
        phone.apply_config(config("1002", phone={"interdigit_s": 7.0}, audio={"handset_volume": 30}))
        await phone.wait_until(lambda s: s.settings.interdigit_s == 7.0 and s.handset_volume == 30)
        await _settle(phone)
        assert log == ["start 1001", "stop 1001", "start 1002"]
        assert phone.reconfigure.restarts == 1 and phone.reconfigure.applied == 1
        assert phone.config.sip is not None and phone.config.sip.user == "1002"
        # Only the time zone changed: settings in place, the engine keeps running.
        phone.apply_config(config("1002", phone={"interdigit_s": 7.0, "timezone": "Europe/Berlin"},
                                  audio={"handset_volume": 30}))  # fmt: skip
        await _settle(phone)
        assert log == ["start 1001", "stop 1001", "start 1002"] and phone.reconfigure.applied == 2

    run(test)


def test_a_change_during_a_call_waits_for_hang_up_and_the_call_is_untouched() -> None:
    async def test(phone: Phone, board: SimBoard, log: list[str]) -> None:
        phone.post(IncomingCall(-1, "sip:1002@lab.test"))
        await phone.wait_until(lambda s: s.phase is Phase.RINGING)
        board.lift()
        await phone.wait_until(lambda s: s.phase is Phase.IN_CALL)
        phone.apply_config(config("1003", phone={"interdigit_s": 9.0}))
        await phone.wait_until(lambda s: s.settings.interdigit_s == 9.0)  # settings: at once
        await _settle(phone)
        assert phone.state.phase is Phase.IN_CALL and phone.state.call is not None
        assert log == ["start 1001"] and phone.reconfigure.pending is not None  # engine: deferred
        board.hang_up()
        await phone.wait_until(lambda s: s.phase is Phase.IDLE and s.call is None)
        await _settle(phone)
        assert log == ["start 1001", "hangup -1", "stop 1001", "start 1003"]
        assert phone.reconfigure.pending is None

    run(test)


def test_no_sip_account_until_the_first_profile() -> None:
    async def test(phone: Phone, board: SimBoard, log: list[str]) -> None:
        await phone.wait_until(lambda s: s.registration.reason == "Not provisioned")
        assert phone.state.registration.state is RegState.UNCONFIGURED
        board.lift()
        for key in "1002#":
            board.press(key)
        await phone.wait_until(lambda s: s.phase is Phase.ENDED)
        assert "Not provisioned" in phone.state.ended_reason
        board.hang_up()
        await phone.wait_until(lambda s: s.phase is Phase.IDLE)
        phone.apply_config(config("1001"))
        await phone.wait_until(lambda s: s.registration.state is RegState.REGISTERED)
        assert log == ["start 1001"]

    run(test, config(None))


def test_provisioning_errors_reach_the_screen() -> None:
    async def test(phone: Phone, board: SimBoard, log: list[str]) -> None:
        bridge = PhoneBridge(phone)
        bridge(ProvisioningStatus(ProvState.FAILED, 3, error="signature does not match"))
        await phone.wait_until(lambda s: "signature" in s.notice)
        assert (
            bridge.status is not None and bridge.status.summary() == "Prov. error: signature does not match"
        )

    run(test)
