"""The phone against a different, real SIP stack: baresip 1.0 through Kamailio."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware.lab.baresip import Baresip
from firmware.lab.kamailio import Kamailio
from tests.e2e.audio import dominant, read_wav
from tests.e2e.conftest import PhoneFactory

pytestmark = pytest.mark.integration

PEER, PEER_PASSWORD = "2001", "baresip-peer-pw"


@pytest.fixture
def peer(registrar: Kamailio, tmp_path: Path) -> Iterator[Baresip]:
    registrar.add_account(PEER, PEER_PASSWORD)
    with Baresip(tmp_path / "baresip", PEER, PEER_PASSWORD, registrar, answer="auto", tone_hz=440) as bs:
        bs.wait_registered()
        yield bs


def test_phone_calls_baresip_and_hears_its_tone(
    make_phone: PhoneFactory, peer: Baresip, tmp_path: Path
) -> None:
    a = make_phone("1001")
    a.lift()
    a.press(*PEER, "#")
    peer.wait_for_event("CALL_ESTABLISHED")
    a.wait(phase="in_call", **{"call.media_active": True})
    peer.wait_rtp()  # RTP from the phone reached baresip
    a.request("record_call", path=str(tmp_path / "heard.wav"))
    time.sleep(1.0)
    a.request("stop_recording")
    samples, rate = read_wav(tmp_path / "heard.wav")
    assert dominant(samples, rate, [440, 1000, 350, 600]) == 440  # baresip's sine crossed the call
    a.hang_up()
    assert "reset by peer" in peer.wait_for_event("CALL_CLOSED").param.lower()


def test_baresip_calls_the_phone_and_hangs_up(make_phone: PhoneFactory, peer: Baresip) -> None:
    a = make_phone("1001")
    peer.dial("1001")
    ringing = a.wait(phase="ringing")
    assert ringing["call"]["remote"] == f"sip:{PEER}@lab.test"
    assert a.request("ringer") is True
    a.lift()
    peer.wait_for_event("CALL_ESTABLISHED")
    a.wait(phase="in_call", **{"call.media_active": True})
    peer.hangup()
    assert a.wait(phase="ended")["ended_reason"] == "Call ended"
    a.hang_up()
    a.wait(phase="idle")


def test_early_media_replaces_local_ringback(make_phone: PhoneFactory) -> None:
    a, b = make_phone("1001"), make_phone("1002")
    a.lift()
    a.press("1", "0", "0", "2", "#")
    b.wait(phase="ringing")
    a.wait(**{"call.ringing": True})
    assert a.request("tone") == "ringback"
    b.request("early_media")  # 183 Session Progress with SDP
    a.wait(**{"call.early_media": True})
    assert a.request("tone") is None  # the far end's audio is heard instead of our ringback
    assert a.state()["phase"] == "calling"
    b.lift()
    a.wait(phase="in_call", **{"call.media_active": True})
    a.hang_up()
    b.wait(phase="ended")
