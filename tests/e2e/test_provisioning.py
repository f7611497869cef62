"""Provisioning end to end: the reference service over real HTTPS on loopback, real Kamailio, real
phones (pjsua2 agents) that start from a config holding nothing but the provisioning settings."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware.lab.kamailio import Kamailio
from firmware.lab.phone import PhoneAgent
from firmware.lab.ports import free_udp_tcp_port
from firmware.lab.provisioning import LabProvisioning, fake_device_root
from tests.e2e.conftest import ACCOUNTS, PhoneFactory

pytestmark = pytest.mark.integration

MAC = "b827eb00e2e1"
DEV_USER, DEV_PASSWORD = "phone-a", "prov-pw-a"
CHECK_SYNC = Path(__file__).with_name("check_sync.xml")


def sip_profile(kam: Kamailio, user: str, **extra: Any) -> dict[str, Any]:
    return {"sip": {"domain": kam.domain, "registrar": kam.host, "port": kam.udp_port, "transport": "udp",
                    "user": user, "password": ACCOUNTS[user], **extra}}  # fmt: skip


@pytest.fixture
def prov(registrar: Kamailio, tmp_path: Path) -> Iterator[LabProvisioning]:
    with LabProvisioning(tmp_path / "prov", registrar.tls_files) as service:
        service.add_device(MAC, DEV_USER, DEV_PASSWORD, sip_profile(registrar, "1001"))
        yield service


ProvisionedFactory = Callable[..., PhoneAgent]


@pytest.fixture
def provisioned(prov: LabProvisioning, tmp_path: Path) -> Iterator[ProvisionedFactory]:
    phones: list[PhoneAgent] = []
    root = fake_device_root(tmp_path / "device-a", MAC)

    def make(wait: bool = True, **prov_settings: Any) -> PhoneAgent:
        config = {
            "provisioning": prov.bootstrap(DEV_USER, DEV_PASSWORD, **prov_settings),
            "hardware": {"backend": "sim"},
            "phone": {"interdigit_s": 2.0, "state_dir": str(tmp_path / "state-a")},
        }
        phone = PhoneAgent(tmp_path / "phone-a", "a", config, extra_args=["--device-root", str(root)]).start()
        phones.append(phone)
        if wait:
            phone.wait(registration="registered", timeout=10)
        return phone

    yield make
    for phone in phones:
        phone.stop()


def _until(check: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.05)


def test_first_boot_provisions_sip_and_polling_applies_a_changed_profile(
    registrar: Kamailio, prov: LabProvisioning, provisioned: ProvisionedFactory
) -> None:
    a = provisioned()
    status = a.request("provisioning")
    assert status["state"] == "ok" and status["version"] == 1 and status["sip_user"] == "1001"
    assert registrar.wait_registered("1001")
    prov.write_profile(MAC, sip_profile(registrar, "1003"))  # the admin edits the file
    _until(lambda: a.request("provisioning")["sip_user"] == "1003", what="new profile applied by polling")
    a.wait(registration="registered", timeout=10)
    assert registrar.wait_registered("1003")
    _until(lambda: not registrar.contacts("1001"), what="old account un-REGISTERed")
    status = a.request("provisioning")
    assert (
        status["version"] == 2 and status["restarts"] == 2 and status["error"] == ""
    )  # none -> 1001 -> 1003


def test_a_change_during_a_call_is_applied_after_hang_up_and_the_call_is_untouched(
    registrar: Kamailio, prov: LabProvisioning, provisioned: ProvisionedFactory, make_phone: PhoneFactory
) -> None:
    a, b = provisioned(), make_phone("1002")
    a.lift()
    a.press(*"1002", "#")
    b.wait(phase="ringing")
    b.lift()
    a.wait(phase="in_call", **{"call.media_active": True})
    call = a.state()["call"]
    prov.write_profile(MAC, sip_profile(registrar, "1004"))
    _until(lambda: a.request("provisioning")["version"] == 2, what="profile v2 fetched")
    time.sleep(1.0)  # a poll later: still nothing applied to the engine
    status = a.request("provisioning")
    assert status["pending"] and status["restarts"] == 1 and status["sip_user"] == "1001"  # only the first
    state = a.state()
    assert state["phase"] == "in_call" and state["call"] == call
    before = a.request("stats")
    time.sleep(0.5)
    after = a.request("stats")
    assert after["rx_packets"] > before["rx_packets"] and after["tx_packets"] > before["tx_packets"]
    b.wait(phase="in_call")
    a.hang_up()
    b.wait(phase="ended")
    _until(lambda: a.request("provisioning")["sip_user"] == "1004", what="applied after hang-up")
    a.wait(registration="registered", timeout=10)
    assert registrar.wait_registered("1004")


def test_restart_with_the_server_down_uses_the_last_good_profile(
    registrar: Kamailio, prov: LabProvisioning, provisioned: ProvisionedFactory
) -> None:
    a = provisioned()
    a.stop()
    registrar.clear_registrations()
    prov.stop()
    again = provisioned()  # waits for "registered": from the stored profile alone
    assert registrar.wait_registered("1001")
    _until(lambda: again.request("provisioning")["state"] == "failed", what="fetch failure reported")
    status = again.request("provisioning")
    assert status["version"] == 1 and "cannot reach" in status["error"]
    assert again.state()["notice"].startswith("Provisioning: cannot reach")  # on the screen too


def test_check_sync_notify_through_the_registrar_triggers_reprovisioning(
    registrar: Kamailio, prov: LabProvisioning, provisioned: ProvisionedFactory
) -> None:
    a = provisioned(poll_interval_s=3600.0)  # no polling during the test: only the NOTIFY can do it
    prov.write_profile(MAC, sip_profile(registrar, "1005"))
    sent = time.monotonic()
    sipp = subprocess.run(
        ["sipp", "-sf", str(CHECK_SYNC), "-s", "1001", f"{registrar.host}:{registrar.udp_port}",
         "-i", "127.0.0.1", "-p", str(free_udp_tcp_port()), "-m", "1", "-nostdin", "-timeout", "10"],
        capture_output=True, text=True, timeout=20, check=False,
    )  # fmt: skip
    assert sipp.returncode == 0, f"the phone did not answer 200 to check-sync:\n{sipp.stdout[-1500:]}"
    _until(lambda: a.request("provisioning")["sip_user"] == "1005", what="applied after check-sync")
    a.wait(registration="registered", timeout=10)
    assert registrar.wait_registered("1005")
    assert time.monotonic() - sent < 5.0


def test_sign_in_on_the_keypad_after_401_then_the_status_screen_shows_the_profile(
    registrar: Kamailio, prov: LabProvisioning, tmp_path: Path
) -> None:
    """A phone without stored credentials gets 401: the person types a user ID and password on the
    keypad (multi-tap), is refused once, tries again, and the phone is provisioned and registers."""
    prov.add_device(MAC, "4711", "ok42", sip_profile(registrar, "1001"))  # numeric user IDs are common
    config = {
        "provisioning": prov.bootstrap(),  # no credentials: asked on the phone (polls every second)
        "hardware": {"backend": "sim"},
        "phone": {"state_dir": str(tmp_path / "state-s")},
    }
    root = fake_device_root(tmp_path / "device-s", MAC)
    with PhoneAgent(tmp_path / "phone-s", "s", config, extra_args=["--device-root", str(root)]) as a:
        _until(lambda: a.state()["chat"]["view"] == "credentials", what="sign-in dialog")
        screen = a.screen()
        assert screen[0].startswith("Sign in") and "123" in screen[0] and "User ID" in "\n".join(screen)
        # User ID in 123 mode; SELECT; "ok" by multi-tap (6 x3, 5 x2), # to digits, then a wrong "41".
        a.press("4", "7", "1", "1", "select", "6", "6", "6", "5", "5", "#", "4", "1", "select")
        _until(lambda: "Rejected, try again" in a.screen(), what="rejection shown")
        assert a.state()["chat"]["view"] == "credentials" and "4711" in "\n".join(a.screen())
        a.press("select", "6", "6", "6", "5", "5", "#", "4", "2")
        assert "****" in "".join(a.screen()).replace(" ", "")  # masked
        a.press("select")
        a.wait(registration="registered", timeout=15)
        assert registrar.wait_registered("1001")
        status = a.request("provisioning")
        assert status["state"] == "ok" and status["version"] == 1 and not status["credentials_needed"]
        _until(lambda: a.state()["chat"]["view"] == "home", what="dialog closed")
        a.press("menu")  # no XMPP account: MENU opens the status screen
        _until(lambda: a.state()["chat"]["view"] == "status", what="status screen")
        _until(lambda: "Profile: v1" in a.screen(), what="profile version on the status screen")
        screen = a.screen()
        assert "Provisioning: ok" in screen and any(line.startswith("Updated: ") for line in screen)
        a.press("down", "down", "down", "down", "down", "down")
        assert "Phone: registered" in a.screen()
        log = a.log_tail(100_000)
    assert "ok42" not in log and "ok41" not in log  # the password is in no log line
    assert "sign-in entered for user '4711'" in log
