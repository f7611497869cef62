"""Screen tests: golden images, the text a person reads, hostile input, purity.

Golden images
    Every case in tests/ui/cases.py is rendered at 128x64 (and those in WIDE_CASES at
    256x64, the SSD1322) and compared pixel for pixel with
    tests/ui/golden/<case>_<width>x<height>.png. The fonts are Pillow's built-in bitmap
    font, so the pixels are the same on every machine.

    After an intended change of the look, rewrite the goldens, then open the changed
    PNGs and look at them before committing:

        UPDATE_GOLDEN=1 .venv/bin/pytest tests/ui -q

    With UPDATE_GOLDEN=1 the golden tests write instead of compare (and pass); golden
    files that no case produces any more are reported by test_no_stale_goldens.
    On a mismatch the actual image is saved next to the test's tmp_path for inspection.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops

from firmware.events import RegState
from firmware.state import CallView, Direction, Phase, PhoneState, Registration, Settings, View
from firmware.ui import SCREENS, render, screen
from firmware.ui.drawing import Drawing, FontName, IconName, Rect, Text
from firmware.ui.fonts import SUPPORTED
from firmware.ui.geometry import bbox
from hal.types import AudioPath

from .cases import BASE, BOB_IN, CASES, CHAT_EXPECTED_WORDS, CONNECTED, NOW, STATUS_EXPECTED_WORDS, WIDE_CASES

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
NARROW = (128, 64)
WIDE = (256, 64)
SIZES = (NARROW, WIDE)

GOLDEN_PARAMS = [pytest.param(name, NARROW, id=f"{name}-128x64") for name in CASES] + [
    pytest.param(name, WIDE, id=f"{name}-256x64") for name in WIDE_CASES
]


def golden_path(name: str, size: tuple[int, int]) -> Path:
    return GOLDEN / f"{name}_{size[0]}x{size[1]}.png"


def frame_text(state: PhoneState, size: tuple[int, int] = NARROW) -> str:
    return "\n".join(render(screen(state, size)).text)


# --- golden images ------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "size"), GOLDEN_PARAMS)
def test_golden(name: str, size: tuple[int, int], tmp_path: Path) -> None:
    image = render(screen(CASES[name], size)).image
    assert image.mode == "1"
    assert image.size == size
    assert image.getextrema() == (0, 255)  # lit pixels stored as 255, as luma draws them
    path = golden_path(name, size)
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        image.save(path)
        return
    assert path.exists(), f"no golden image {path.name}: run with UPDATE_GOLDEN=1 and look at it"
    with Image.open(path) as golden:
        expected = golden.convert("1")
    assert expected.size == image.size
    diff = ImageChops.logical_xor(expected, image).getbbox()
    if diff is not None:
        actual = tmp_path / path.name
        image.save(actual)
        pytest.fail(f"{path.name} differs in {diff}; actual image: {actual} (UPDATE_GOLDEN=1 to accept)")


def test_no_stale_goldens() -> None:
    expected = {golden_path(name, NARROW).name for name in CASES} | {
        golden_path(name, WIDE).name for name in WIDE_CASES
    }
    present = {p.name for p in GOLDEN.glob("*.png")}
    assert present - expected == set(), "golden images no case renders: delete them"


# --- what the text says -------------------------------------------------------------------

EXPECTED_WORDS: dict[str, tuple[str, ...]] = {
    "idle_registered": ("Phone", "14:05", "pbx.example.com", "Lift handset to call"),
    "idle_registering": ("Phone", "14:05", "Connecting\u2026"),
    "idle_auth_failed": ("Wrong password", "Check user & password"),
    "idle_unreachable": ("Registrar unreachable", "Retrying\u2026"),
    "idle_unconfigured": ("Not configured", "--:--"),
    "idle_failed": ("Not registered (503)", "Service Unavailable"),
    "idle_notice": ("Invalid number", "14:05"),
    "idle_notice_long": ("Audio device error:", "USB headset"),
    "dialtone_handset": ("Enter number", "# to call"),
    "dialtone_speaker": ("Enter number", "# to call"),
    "dialing_short": ("1002", "# to call"),
    "dialing_long": ("\u20267890123*#", "# to call"),
    "dialing_notice": ("12*", "Invalid number"),
    "calling": ("Calling\u2026", "Alice", "1002@pbx.example.com"),
    "calling_ringing": ("Ringing\u2026", "Alice"),
    "calling_early_media": ("Ringing\u2026", "Early media"),
    "incoming_named": ("Incoming call", "Bob Smith", "bob@pbx.example.com", "Lift to answer"),
    "incoming_anonymous": ("Incoming call", "1002", "1002@pbx.example.com", "Lift to answer"),
    "incoming_long_name": ("Maximilian Alexander", "Hohenzollern"),
    "in_call": ("In call", "03:07", "Alice", "Vol", "70%"),
    "in_call_local_hold": ("On hold", "03:07"),
    "in_call_remote_hold": ("Held by other party",),
    "in_call_speaker": ("40%",),
    "in_call_no_media": ("No audio",),
    "in_call_long": ("1:02:03", "Headset volume at", "maximum"),
    "ended_busy": ("Busy", "Alice"),
    "ended_declined": ("Declined", "Alice"),
    "ended_not_found": ("Not found", "Alice"),
    "ended_failed": ("Service Unavailable", "(503)", "1002"),
    "ended_normal": ("Call ended", "Alice"),
    **CHAT_EXPECTED_WORDS,
    **STATUS_EXPECTED_WORDS,
}


def test_every_case_has_expected_words() -> None:
    assert set(EXPECTED_WORDS) == set(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_text_lines(name: str) -> None:
    text = frame_text(CASES[name])
    for words in EXPECTED_WORDS[name]:
        assert words in text, f"{words!r} not on the {name} screen:\n{text}"


def test_one_table_covers_every_phase() -> None:
    # Every phase, and every chat view but HOME (which is the idle phase's own screen).
    assert set(SCREENS) == set(Phase) | (set(View) - {View.HOME})


def test_text_lines_top_to_bottom() -> None:
    assert render(screen(CASES["in_call"], NARROW)).text == (
        "In call  03:07",
        "Alice",
        "1002@pbx.example.com",
        "Vol  70%",
    )


def test_wide_screen_uses_the_width() -> None:
    long_number = CASES["dialing_long"]
    assert "0049301234567890123*#" in frame_text(long_number, WIDE)
    assert "0049301234567890123*#" not in frame_text(long_number, NARROW)
    assert "Fri 17 May" in frame_text(BASE, WIDE)


def test_clock_shows_now_in_its_own_timezone() -> None:
    assert "14:05" in frame_text(BASE)  # NOW is 12:05 UTC, 14:05 at +02:00
    assert "12:05" in frame_text(replace(BASE, now=NOW.astimezone(UTC)))


def test_notice_is_inverted_and_replaces_the_hint() -> None:
    drawing = screen(CASES["idle_notice"], NARROW)
    notice = [t for t in drawing.texts if t.text == "Invalid number"]
    assert len(notice) == 1 and notice[0].inverted
    assert "Lift handset to call" not in frame_text(CASES["idle_notice"])


@pytest.mark.parametrize("phase", list(Phase))
def test_notice_shows_on_every_screen(phase: Phase) -> None:
    state = replace(CASES["in_call"], phase=phase, notice="Invalid number")
    assert "Invalid number" in frame_text(state)


def test_long_notice_hides_what_it_covers() -> None:
    drawing = screen(CASES["in_call_long"], NARROW)
    notice_top = min(bbox(t).y0 for t in drawing.texts if t.inverted)
    for item in drawing.items:
        box = bbox(item)
        if not (isinstance(item, Text) and item.inverted) and box.y1 > notice_top:
            # only the bar itself (a Rect) may reach into the notice area
            assert isinstance(item, Rect), item


def test_speaker_icon_only_on_speaker() -> None:
    assert IconName.SPEAKER in screen(CASES["dialtone_speaker"], NARROW).icons
    assert IconName.SPEAKER not in screen(CASES["dialtone_handset"], NARROW).icons
    assert IconName.HANDSET in screen(CASES["dialtone_handset"], NARROW).icons


def test_registration_icon_follows_state() -> None:
    assert IconName.REGISTERED in screen(BASE, NARROW).icons
    assert IconName.REG_ERROR in screen(CASES["idle_auth_failed"], NARROW).icons
    assert IconName.REGISTERING in screen(CASES["idle_registering"], NARROW).icons
    assert IconName.UNCONFIGURED in screen(CASES["idle_unconfigured"], NARROW).icons


def test_dialled_digits_large_and_tail_when_long() -> None:
    drawing = screen(CASES["dialing_long"], NARROW)
    digits = [t for t in drawing.texts if t.font is FontName.LARGE]
    assert len(digits) == 1
    assert digits[0].text.startswith("\u2026") and digits[0].text.endswith("123*#")


def test_duration_is_clamped_and_survives_naive_times() -> None:
    future = replace(CONNECTED, connected_at=NOW + timedelta(seconds=30))
    assert "00:00" in frame_text(replace(CASES["in_call"], call=future))
    naive = replace(CONNECTED, connected_at=datetime(2024, 5, 17, 12, 0))
    assert "00:00" in frame_text(replace(CASES["in_call"], call=naive))


def test_phase_without_a_call_does_not_crash() -> None:
    for phase in Phase:
        state = replace(BASE, phase=phase, call=None, off_hook=True)
        for size in SIZES:
            render(screen(state, size))


# --- hostile text ---------------------------------------------------------------------------

HOSTILE = (
    "A" * 1000,
    "W" * 50 + " " + "x" * 950,
    "Bob\x00\x07\x1b[31mRed\x7f\x9b\r\nEvil\tTab",
    "\U0001f4de Mum \u2764\ufe0f \U0001f468\u200d\U0001f469\u200d\U0001f467 \U0001f44d\U0001f3fd",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",  # Hebrew
    "\u0645\u0631\u062d\u0628\u0627",  # Arabic
    "\u202eevil\u202c \u2066x\u2069 \u200f",
    "Z\u0337\u0322\u0349a\u0334l\u0338g\u0335o\u0336",
    "\u4f60\u597d\u4e16\u754c",
    "\ud800 lone surrogate",
    "",
    "   ",
    "\n\n\n",
    "\u200b" * 2000 + "visible",
)
HOSTILE_URIS = (
    "sip:example.com",
    "<sip:[2001:db8::1]:5061;transport=tls>",
    "",
    "sip:",
    "tel:+49 30 1234",
    "sip:" + "u" * 1000 + "@example.com",
    "<<<>>>",
    "sip:\u202e\u05e9@\U0001f4de.example",
)


def assert_within_bounds(drawing: Drawing) -> None:
    for item in drawing.items:
        assert bbox(item).inside(drawing.width, drawing.height), item


def assert_renders(state: PhoneState, size: tuple[int, int]) -> None:
    drawing = screen(state, size)
    assert (drawing.width, drawing.height) == size
    assert_within_bounds(drawing)
    frame = render(drawing)
    assert frame.image.size == size
    for line in frame.text:
        assert set(line) <= SUPPORTED, repr(line)


def hostile_states(text: str, uri: str) -> list[PhoneState]:
    call = CallView(
        call_id=9,
        direction=Direction.INCOMING,
        remote=uri,
        display_name=text,
        ringing=True,
        early_media=True,
        local_hold=True,
        connected_at=NOW - timedelta(days=400),
    )
    bare = replace(call, display_name="")
    base = replace(
        BASE,
        settings=Settings(domain=text),
        registration=Registration(RegState.FAILED, 999, text),
        notice=text,
        ended_reason=text,
        last_dialed=text,
        digits=text,
    )
    return [replace(base, phase=phase, call=c) for phase in Phase for c in (call, bare, None)]


@pytest.mark.parametrize("size", SIZES, ids=["128x64", "256x64"])
@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text(text: str, size: tuple[int, int]) -> None:
    for state in hostile_states(text, "sip:x@example.com"):
        assert_renders(state, size)


@pytest.mark.parametrize("uri", HOSTILE_URIS, ids=range(len(HOSTILE_URIS)))
def test_hostile_uri(uri: str) -> None:
    for state in hostile_states("", uri):
        for size in SIZES:
            assert_renders(state, size)


def test_uri_without_user_part_shows_the_host() -> None:
    call = CallView(call_id=3, direction=Direction.INCOMING, remote="sip:example.com")
    text = frame_text(replace(BASE, phase=Phase.RINGING, call=call))
    assert "example.com" in text


def test_hostile_text_is_replaced_not_shown() -> None:
    state = replace(BASE, phase=Phase.RINGING, call=replace(BOB_IN, display_name="\u202eBob\x07\U0001f4de"))
    text = frame_text(state)
    assert "Bob\ufffd" in text  # bidi control dropped; BEL and the emoji become boxes
    assert "\x07" not in text and "\u202e" not in text


texts = st.text(max_size=300)
datetimes = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.sampled_from([UTC])
)


@st.composite
def phone_states(draw: Any) -> PhoneState:
    call = CallView(
        call_id=1,
        direction=draw(st.sampled_from(Direction)),
        remote=draw(texts),
        display_name=draw(texts),
        ringing=draw(st.booleans()),
        early_media=draw(st.booleans()),
        media_active=draw(st.booleans()),
        local_hold=draw(st.booleans()),
        remote_hold=draw(st.booleans()),
        connected_at=draw(st.none() | datetimes),
    )
    return PhoneState(
        settings=Settings(domain=draw(texts)),
        phase=draw(st.sampled_from(Phase)),
        off_hook=draw(st.booleans()),
        route=draw(st.sampled_from(AudioPath)),
        digits=draw(texts),
        call=draw(st.none() | st.just(call)),
        registration=Registration(draw(st.sampled_from(RegState)), draw(st.integers(0, 999)), draw(texts)),
        last_dialed=draw(texts),
        ended_reason=draw(texts),
        notice=draw(texts),
        handset_volume=draw(st.integers(-1000, 1000)),
        speaker_volume=draw(st.integers(-1000, 1000)),
        now=draw(datetimes),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=phone_states(), size=st.sampled_from(SIZES))
def test_any_state_renders_within_bounds(state: PhoneState, size: tuple[int, int]) -> None:
    assert_renders(state, size)


# --- purity -----------------------------------------------------------------------------------

_io_events: list[str] | None = None
_IO_PREFIXES = ("socket.", "subprocess.", "os.", "shutil.", "urllib.", "http.", "ctypes.", "sqlite3.")
_IO_EVENTS = ("open", "time.sleep", "import")


def _audit(event: str, _args: tuple[object, ...]) -> None:
    if _io_events is not None and (event in _IO_EVENTS or event.startswith(_IO_PREFIXES)):
        _io_events.append(event)


sys.addaudithook(_audit)


@pytest.mark.parametrize("name", list(CASES))
def test_screen_is_pure(name: str) -> None:
    global _io_events  # noqa: PLW0603
    state = CASES[name]
    _io_events = []
    try:
        first = screen(state, NARROW)
        second = screen(state, NARROW)
    finally:
        events, _io_events = _io_events, None
    assert events == [], f"screen() did I/O: {events}"
    assert first == second
    assert hash(first) == hash(second)
    assert screen(replace(state), NARROW) == first  # an equal state, not the same object
