"""Calls end to end through a real Kamailio between real phones (pjsua2 + sim board), no SIP mocks."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from firmware.lab.kamailio import Kamailio
from firmware.lab.phone import PhoneAgent, connect
from tests.e2e.audio import dominant, read_wav, tone_power
from tests.e2e.conftest import PhoneFactory

pytestmark = pytest.mark.integration


def _packets_grow(phone: PhoneAgent) -> None:
    """RTP counters rise in both directions (the first packets may still be in flight at CONFIRMED)."""
    deadline = time.monotonic() + 3
    first = phone.request("stats")
    while (first["rx_packets"] == 0 or first["tx_packets"] == 0) and time.monotonic() < deadline:
        time.sleep(0.05)
        first = phone.request("stats")
    time.sleep(0.5)
    second = phone.request("stats")
    assert second["rx_packets"] > first["rx_packets"] > 0, (first, second)
    assert second["tx_packets"] > first["tx_packets"] > 0, (first, second)


def test_call_between_two_phones_end_to_end(make_phone: PhoneFactory, tmp_path: Path) -> None:
    a, b = make_phone("1001"), make_phone("1002")
    assert "Phone" in a.screen()[0]

    a.lift()
    assert a.state()["phase"] == "dialtone"
    assert a.request("tone") == "dial"
    a.press("1", "0", "0", "2")
    assert a.request("tone") is None  # dial tone stops at the first digit
    a.press("#")

    ringing = b.wait(phase="ringing")
    assert ringing["call"]["remote"] == "sip:1001@lab.test"
    assert b.request("ringer") is True
    assert any("1001" in line for line in b.screen())
    a.wait(**{"call.ringing": True})
    assert a.request("tone") == "ringback"

    b.lift()
    a.wait(phase="in_call", **{"call.media_active": True})
    b.wait(phase="in_call", **{"call.media_active": True})
    assert b.request("ringer") is False
    assert a.request("tone") is None
    _packets_grow(a)
    _packets_grow(b)

    # Real audio crosses in both directions: each side sends its own tone and records the other's.
    a.request("play_into_call", freq=1000)
    b.request("play_into_call", freq=600)
    a.request("record_call", path=str(tmp_path / "a-heard.wav"))
    b.request("record_call", path=str(tmp_path / "b-heard.wav"))
    time.sleep(1.0)
    a.request("stop_recording")
    b.request("stop_recording")
    for path, sent, expected in (
        (tmp_path / "a-heard.wav", 1000, 600),
        (tmp_path / "b-heard.wav", 600, 1000),
    ):
        samples, rate = read_wav(path)
        assert len(samples) > rate // 2, f"{path.name}: only {len(samples)} samples"
        assert dominant(samples, rate, [sent, expected, 440, 350]) == expected
        assert tone_power(samples, rate, expected) > 10 * tone_power(samples, rate, sent)

    a.hang_up()
    assert a.wait(phase="idle")["call"] is None
    ended = b.wait(phase="ended")
    assert ended["ended_reason"] == "Call ended"
    assert "Call ended" in " ".join(b.screen())
    b.hang_up()
    b.wait(phase="idle")


def test_incoming_call_answered_by_lifting_and_ended_by_caller(make_phone: PhoneFactory) -> None:
    a, b = make_phone("1003"), make_phone("1004")
    b.dial("1003")  # the far end calls in (DialRequest, hands-free)
    ringing = a.wait(phase="ringing")
    assert ringing["call"]["direction"] == "incoming"
    assert a.request("ringer") is True
    assert "Lift to answer" in a.screen()
    a.lift()
    a.wait(phase="in_call", **{"call.media_active": True})
    assert a.request("ringer") is False
    b.press("speaker")  # hands-free caller ends the call with the speaker key
    assert a.wait(phase="ended")["ended_reason"] == "Call ended"
    assert a.request("tone") == "busy"  # handset still up after the far end hung up
    a.hang_up()
    a.wait(phase="idle")


def test_call_to_a_busy_phone(make_phone: PhoneFactory) -> None:
    a, b, c = make_phone("1001"), make_phone("1002"), make_phone("1003")
    connect(b, c, "1003")
    a.lift()
    a.press("1", "0", "0", "2", "#")
    ended = a.wait(phase="ended")
    assert ended["ended_reason"] == "Busy"
    assert a.request("tone") == "busy"
    assert "Busy" in " ".join(a.screen())
    # The busy phone's own call is untouched.
    assert b.state()["phase"] == "in_call"
    assert c.state()["phase"] == "in_call"


def test_call_to_an_unknown_user(make_phone: PhoneFactory) -> None:
    a = make_phone("1001")
    a.lift()
    a.press("7", "7", "7", "#")
    assert a.wait(phase="ended")["ended_reason"] == "Not found"
    assert "Not found" in " ".join(a.screen())
    assert a.request("tone") == "error"


def test_unanswered_call_is_declined_by_callee(make_phone: PhoneFactory) -> None:
    a, b = make_phone("1001"), make_phone("1002")
    a.lift()
    a.press("1", "0", "0", "2", "#")
    b.wait(phase="ringing")
    b.press("back")  # reject
    assert a.wait(phase="ended")["ended_reason"] == "Declined"
    b.wait(phase="idle")


def test_inter_digit_timeout_sends_the_call(make_phone: PhoneFactory) -> None:
    a, b = make_phone("1001"), make_phone("1002")
    a.lift()
    a.press("1", "0", "0", "2")  # no '#': the 2 s inter-digit timeout of the lab config sends it
    b.wait(phase="ringing", timeout=6)
    a.hang_up()
    b.wait(phase="ended")


def test_dtmf_hold_resume_and_volume_in_call(make_phone: PhoneFactory) -> None:
    a, b = make_phone("1001"), make_phone("1002")
    connect(a, b, "1002")
    a.press("4", "2", "*", "#")
    deadline = time.monotonic() + 5
    while b.request("dtmf_received") != "42*#" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert b.request("dtmf_received") == "42*#"  # RFC 4733 telephone-events, in order

    a.press("hold")
    b.wait(**{"call.remote_hold": True})
    a.wait(**{"call.local_hold": True})
    assert any("hold" in line.lower() for line in a.screen())
    a.press("hold")
    b.wait(**{"call.remote_hold": False, "call.media_active": True})
    _packets_grow(b)

    before = a.request("audio")["handset"]
    a.press("vol_up")
    assert a.request("audio")["handset"] == min(100, before + 10)
    a.press("speaker")  # hands-free during the call
    assert a.request("audio")["route"] == "speaker"
    a.hang_up()  # the handset goes down but hands-free keeps the call
    assert a.state()["phase"] == "in_call"
    a.press("speaker")
    a.wait(phase="idle")
    b.wait(phase="ended")


def test_redial_calls_the_last_number(make_phone: PhoneFactory) -> None:
    a, b = make_phone("1001"), make_phone("1002")
    a.lift()
    a.press("1", "0", "0", "2", "#")
    b.wait(phase="ringing")
    a.hang_up()
    b.wait(phase="ended")
    b.hang_up()
    b.wait(phase="idle", timeout=8)
    a.wait(phase="idle")
    a.press("redial")  # on-hook redial goes hands-free
    b.wait(phase="ringing")
    assert a.state()["route"] == "speaker"
    a.press("speaker")
    b.wait(phase="ended")


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_register_and_call_over_stream_transports(make_phone: PhoneFactory, transport: str) -> None:
    a, b = make_phone("1005", transport=transport), make_phone("1006", transport=transport)
    connect(a, b, "1006")
    _packets_grow(a)
    a.hang_up()
    b.wait(phase="ended")


def test_srtp_call(make_phone: PhoneFactory) -> None:
    a = make_phone("1007", transport="tls", srtp="mandatory")
    b = make_phone("1008", transport="tls", srtp="mandatory")
    connect(a, b, "1008")
    _packets_grow(b)
    a.hang_up()
    b.wait(phase="ended")


def test_wrong_password_is_shown_clearly(make_phone: PhoneFactory) -> None:
    a = make_phone("1001", password="not-the-password", wait=False)
    state = a.wait(registration="auth_failed")
    assert state["reg_code"] in (401, 403, 407)
    text = " ".join(a.screen())
    assert "Wrong password" in text or "password" in text.lower()
    assert "not-the-password" not in a.log_path.read_text()  # secrets never in logs


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_registrar_killed_and_restarted(
    make_phone: PhoneFactory, registrar: Kamailio, transport: str
) -> None:
    a = make_phone("1001", transport=transport)
    registrar.kill()
    a.wait(registration="unreachable", timeout=8)
    assert any("unreachable" in line.lower() for line in a.screen())
    registrar.start()
    back = time.monotonic()
    a.wait(registration="registered", timeout=5)
    recovered = time.monotonic() - back
    assert recovered < 5.0
    registrar.wait_registered("1001", timeout=2)  # the registrar really has the binding again
    print(f"{transport}: registered again {recovered:.2f} s after the registrar's return")


def test_tls_server_certificate_is_verified(registrar: Kamailio, tmp_path: Path) -> None:
    """A phone that trusts a different CA must refuse the registrar's certificate."""
    from firmware.lab.certs import make_ca
    from firmware.lab.phone import phone_config

    other_ca = make_ca(tmp_path / "other-ca", name="other")
    config = phone_config(registrar, "1009", "secret-09-pw", "tls", tls_ca_file=str(other_ca))
    with PhoneAgent(tmp_path / "phone", "tlsbad", config) as phone:
        state = phone.wait(timeout=8, registration="unreachable")
        assert state["registration"] != "registered"
        assert registrar.contacts("1009") == []
