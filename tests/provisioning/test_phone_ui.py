"""The provisioning status screen and sign-in dialog on a running phone (in process, sim board,
recording SIP engine, a recording provisioner): the bridge's events reach the state machine, the
keypad reaches `Provisioner.trigger` and `provide_credentials` through the dispatcher, and the
password reaches neither the screen nor the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from firmware.app import Phone
from firmware.provisioning.events import CredentialsNeeded, ProvisioningStatus, ProvState
from firmware.provisioning.runtime import PhoneBridge
from firmware.state import PhoneState, View
from hal.backends.sim import SimBoard
from tests.provisioning.test_apply import config, make_phone

T0 = datetime(2026, 1, 1, 9, 30, tzinfo=UTC)


class RecordingProvisioner:
    def __init__(self, fail: bool = False) -> None:
        self.triggers: list[str] = []
        self.credentials: list[tuple[str, str]] = []
        self.fail = fail

    def trigger(self, reason: str = "trigger") -> None:
        self.triggers.append(reason)

    def provide_credentials(self, username: str, password: str) -> None:
        if self.fail:
            raise OSError("read-only file system")
        self.credentials.append((username, password))


Test = Callable[[Phone, SimBoard, PhoneBridge], Awaitable[None]]


def run(test: Test, provisioner: RecordingProvisioner) -> None:
    async def main() -> None:
        phone, board, _ = make_phone(config())
        phone.provisioning = provisioner
        await phone.start()
        try:
            await test(phone, board, PhoneBridge(phone))
        finally:
            await phone.stop()

    asyncio.run(main())


async def press(phone: Phone, board: SimBoard, *keys: str) -> None:
    for key in keys:
        board.press(key)
        await asyncio.sleep(0.005)
    await phone.wait_until(lambda s: True)
    await asyncio.sleep(0.02)


def view_is(view: View) -> Callable[[PhoneState], bool]:
    return lambda s: s.nav.view is view


def test_status_screen_and_update_now() -> None:
    provisioner = RecordingProvisioner()

    async def test(phone: Phone, board: SimBoard, bridge: PhoneBridge) -> None:
        url = "https://dev1:pw1@prov.example.org/p/b827eb000001.json?token=s3cret"
        bridge(ProvisioningStatus(ProvState.OK, 3, T0, T0, url=url))
        await phone.wait_until(lambda s: s.provisioning.version == 3)
        await press(phone, board, "menu")  # no XMPP account: MENU opens the status screen
        await phone.wait_until(view_is(View.STATUS))
        await asyncio.sleep(0.05)
        text = "\n".join(board.screen_text())
        assert "Provisioning: ok" in text and "Profile: v3" in text and "Select: update now" in text
        await press(phone, board, "select")
        assert provisioner.triggers == ["keypad"]
        await press(phone, board, "down", "down", "down", "down")
        text = "\n".join(board.screen_text())
        assert "prov.example." in text and "pw1" not in text and "s3cret" not in text

    run(test, provisioner)


def test_sign_in_on_the_keypad(caplog: pytest.LogCaptureFixture) -> None:
    provisioner = RecordingProvisioner()
    caplog.set_level(logging.DEBUG)

    async def test(phone: Phone, board: SimBoard, bridge: PhoneBridge) -> None:
        bridge(ProvisioningStatus(ProvState.NEEDS_CREDENTIALS, error="HTTP 401"))
        bridge(CredentialsNeeded("deskphone provisioning", rejected=False))
        await phone.wait_until(view_is(View.CREDENTIALS))
        assert phone.state.notice == ""  # the dialog says it: no notice over it
        await press(phone, board, "4", "7", "1", "1", "select")
        # "qza": q is 7 twice, z is 9 four times, a is 2 (still being chosen: shown in clear).
        await press(phone, board, "7", "7", "9", "9", "9", "9", "2")
        screens = "\n".join(board.screen_text())
        assert "4711" in screens and "qz" not in screens and "**a" in screens.replace(" ", "")
        await press(phone, board, "select")
        assert provisioner.credentials == [("4711", "qza")]
        await phone.wait_until(lambda s: s.nav.view is View.HOME and s.notice == "Signing in\u2026")
        bridge(CredentialsNeeded("deskphone provisioning", rejected=True))
        await phone.wait_until(view_is(View.CREDENTIALS))
        assert "Rejected, try again" in board.screen_text()

    run(test, provisioner)
    assert "qza" not in caplog.text


def test_a_failing_store_is_shown_without_the_password(caplog: pytest.LogCaptureFixture) -> None:
    provisioner = RecordingProvisioner(fail=True)

    async def test(phone: Phone, board: SimBoard, bridge: PhoneBridge) -> None:
        bridge(CredentialsNeeded("r", rejected=False))
        await phone.wait_until(view_is(View.CREDENTIALS))
        await press(phone, board, "1", "select", "#", "4", "2", "4", "2", "select")
        await phone.wait_until(lambda s: "SubmitCredentials failed" in s.notice)

    run(test, provisioner)
    assert "SubmitCredentials" in caplog.text and "4242" not in caplog.text


def test_without_a_provisioner_the_commands_only_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    async def main() -> None:
        phone, board, _ = make_phone(config())
        await phone.start()
        try:
            bridge = PhoneBridge(phone)
            bridge(ProvisioningStatus(ProvState.OK, 1, T0, T0))
            await press(phone, board, "menu", "select")
            bridge(CredentialsNeeded("r", rejected=False))
            await phone.wait_until(view_is(View.CREDENTIALS))
            await press(phone, board, "1", "select", "#", "4", "2", "select")
            await phone.wait_until(view_is(View.HOME))
        finally:
            await phone.stop()

    asyncio.run(main())
    assert "nothing to update" in caplog.text and "sign-in for user '1' dropped" in caplog.text
