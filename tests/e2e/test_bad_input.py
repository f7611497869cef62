"""Bad input never crashes the phone: after each case it still places a real call through Kamailio."""

from __future__ import annotations

import pytest

from firmware.lab.phone import PhoneAgent
from hal.config import DEFAULT_KEYMAP
from tests.e2e.conftest import PhoneFactory

pytestmark = pytest.mark.integration

ALL_KEYS = [name for row in DEFAULT_KEYMAP for name in row]


def _still_calls(a: PhoneAgent, b: PhoneAgent, number: str) -> None:
    a.hang_up()
    a.wait(phase="idle", timeout=8)
    a.lift()
    a.press(*number, "#")
    b.wait(phase="ringing")
    b.lift()
    a.wait(phase="in_call", **{"call.media_active": True})
    a.hang_up()
    b.wait(phase="ended")
    b.hang_up()


@pytest.mark.parametrize(
    "target", ["sip:a b@lab.test", "sip:@lab.test", "bob", "sip:bob@host:99999", "1" * 40]
)
def test_malformed_address_shows_an_error_and_the_phone_keeps_working(
    make_phone: PhoneFactory, target: str
) -> None:
    a, b = make_phone("1001"), make_phone("1002")
    a.lift()
    a.dial(target)
    ended = a.wait(phase="ended")
    assert ended["ended_reason"] in {"Invalid address", "Invalid number", "Invalid port", "Number too long",
                                     "Address has no user"}  # fmt: skip
    assert ended["ended_reason"] in " ".join(a.screen())
    assert a.request("tone") == "error"
    _still_calls(a, b, "1002")


def test_every_key_in_every_phase(make_phone: PhoneFactory) -> None:
    """Mash the whole keypad while idle, at dial tone, ringing, in a call and after it: no crash."""
    a, b = make_phone("1001"), make_phone("1002")
    harmless = [k for k in ALL_KEYS if k not in {"select", "#", "redial", "speaker", "back", "hold"}]
    a.press(*harmless)  # idle (digits pre-dial on-hook)
    a.press("back", "back", "back", "back", "back", "back", "back", "back", "back", "back", "back", "back")
    a.wait(phase="idle")
    a.lift()
    a.press(*harmless)  # dial tone, then dialing
    a.hang_up()
    a.wait(phase="idle")
    b.dial("1001")
    a.wait(phase="ringing")
    a.press(*[k for k in harmless if k not in {"vol_up", "vol_down"}])  # ringing: ignored, still ringing
    assert a.state()["phase"] == "ringing"
    a.lift()
    a.wait(phase="in_call")
    a.press(*ALL_KEYS)  # in call: DTMF, hold toggles, speaker toggles, everything at once
    assert a.state()["phase"] in {"in_call", "idle", "ended"}
    b.press("speaker")  # caller hangs up (hands-free)
    a.wait(phase="ended", timeout=8) if a.state()["phase"] == "in_call" else None
    a.press(*ALL_KEYS)  # ended: redial and friends
    b.hang_up()
    b.wait(phase="idle", timeout=10)
    _still_calls(a, b, "1002")


def test_unknown_key_gives_a_clear_error_not_a_crash(make_phone: PhoneFactory) -> None:
    a, b = make_phone("1001"), make_phone("1002")
    with pytest.raises(Exception, match=r"not on this keypad|no such key|unknown"):
        a.press("left")  # not wired on the default keypad
    with pytest.raises(Exception, match=r"not on this keypad|no such key|unknown|not a valid"):
        a.press("launch-missiles")
    _still_calls(a, b, "1002")


@pytest.mark.parametrize("phase", ["idle", "ringing", "in_call"])
def test_hook_flapping_at_50_hz(make_phone: PhoneFactory, phase: str) -> None:
    a, b = make_phone("1001"), make_phone("1002")
    if phase != "idle":
        b.dial("1001")
        a.wait(phase="ringing")
    if phase == "in_call":
        a.lift()
        a.wait(phase="in_call")
    a.request("flap", times=100, hz=50)  # 2 s of contact chatter, ends where it started
    state = a.state()
    if phase == "idle":
        assert state["phase"] == "idle" and not state["off_hook"]
    elif phase == "ringing":
        assert state["phase"] == "ringing"  # chatter shorter than the debounce never answers
        assert a.request("ringer") is True
    else:
        assert state["phase"] == "in_call" and state["off_hook"]  # the call survives the chatter
    if phase != "idle":
        b.press("speaker")  # the hands-free caller ends its call
        b.wait(phase="idle")
    _still_calls(a, b, "1002")
