"""The simulated board's own Python API (the shared behaviour is in test_contract.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fake_clock import FakeClock
from PIL import Image

from hal import AudioPath, DisplayConfig, Frame, HalConfig, HalError, HalEvent, HookChanged, Key, KeyPressed
from hal.backends.sim import SimBoard, parse_key


def started(
    config: HalConfig | None = None, clock: FakeClock | None = None
) -> tuple[SimBoard, list[HalEvent]]:
    board = SimBoard(config or HalConfig(), clock=clock or FakeClock())
    events: list[HalEvent] = []
    board.start(events.append)
    return board, events


def test_press_accepts_keys_values_and_names() -> None:
    board, events = started()
    board.press(Key.D5)
    board.press("5")
    board.press("select")
    board.press("VOL_UP")
    board.press("D0")
    assert events == [KeyPressed(k) for k in (Key.D5, Key.D5, Key.SELECT, Key.VOL_UP, Key.D0)]


def test_unknown_key_and_key_not_on_the_keypad_are_errors() -> None:
    board, events = started()
    with pytest.raises(HalError, match="unknown key"):
        board.press("F13")
    with pytest.raises(HalError, match="not on this keypad"):
        board.press(Key.LEFT)  # the default keypad has no left/right
    assert events == []


def test_parse_key() -> None:
    assert parse_key("#") is Key.HASH
    assert parse_key("hash") is Key.HASH
    assert parse_key(Key.MENU) is Key.MENU


def test_events_reach_the_sink_synchronously() -> None:
    board, events = started()
    board.lift()
    assert events == [HookChanged(True)]  # already there when lift() returns
    board.hang_up()
    assert events == [HookChanged(True), HookChanged(False)]
    assert list(board.events) == events


def test_lift_when_already_off_hook_reports_nothing() -> None:
    board, events = started()
    board.lift()
    board.lift()
    assert events == [HookChanged(True)]


@pytest.mark.parametrize(("times", "expected"), [(1, [HookChanged(True)]), (7, [HookChanged(True)]), (8, [])])
def test_flap_reports_only_the_final_settled_position(times: int, expected: list[HalEvent]) -> None:
    board, events = started()
    board.flap(times, hz=50)
    assert events == expected
    assert board.hook.is_off_hook() is bool(expected)


def test_flap_takes_simulated_time_not_real_time() -> None:
    clock = FakeClock(50.0)
    board, _ = started(clock=clock)
    board.flap(100, hz=50)  # one second of chatter
    assert board.now() == pytest.approx(50.0 + 1.0 + 0.03)
    assert clock.now == 50.0


def test_simulated_time_never_runs_behind_the_clock() -> None:
    clock = FakeClock(10.0)
    board, _ = started(clock=clock)
    clock.advance(5.0)
    assert board.now() == 15.0
    board.advance(1.0)
    assert board.now() == 16.0


def test_events_before_start_are_recorded_but_not_delivered() -> None:
    board = SimBoard(HalConfig(), clock=FakeClock())
    board.press("1")
    assert list(board.events) == [KeyPressed(Key.D1)]
    events: list[HalEvent] = []
    board.start(events.append)
    board.press("2")
    assert events == [KeyPressed(Key.D2)]


def frame_with(text: tuple[str, ...], box: tuple[int, int, int, int] = (0, 0, 8, 8)) -> Frame:
    image = Image.new("1", (128, 64), 0)
    image.paste(1, box)
    return Frame(image, text)


def test_screen_text_png_frames_shown_and_callbacks(tmp_path: Path) -> None:
    board, _ = started()
    assert board.screen_text() == []
    assert board.frames_shown == 0
    seen: list[Frame] = []
    board.on_frame.append(seen.append)
    board.display.show(frame_with(("Ready", "12:00")))
    assert board.screen_text() == ["Ready", "12:00"]
    assert board.frames_shown == 1
    assert [f.text for f in seen] == [("Ready", "12:00")]
    png = Image.open(io.BytesIO(board.screen_png()))
    assert png.size == (128, 64)
    assert png.convert("1").getpixel((1, 1)) and not png.convert("1").getpixel((20, 20))
    board.save_png(tmp_path / "screen.png")
    assert (tmp_path / "screen.png").read_bytes() == board.screen_png()


def test_shown_frame_is_a_copy() -> None:
    board, _ = started()
    shown = frame_with(("x",))
    board.display.show(shown)
    shown.image.paste(0, (0, 0, 128, 64))
    assert board.display.image().getpixel((1, 1))


def test_blank_png_before_the_first_frame() -> None:
    board, _ = started()
    assert Image.open(io.BytesIO(board.screen_png())).size == (128, 64)


def test_display_size_follows_driver_and_rotation() -> None:
    assert SimBoard(HalConfig(display=DisplayConfig(driver="ssd1322"))).display.size == (256, 64)
    assert SimBoard(HalConfig(display=DisplayConfig(rotate=3))).display.size == (64, 128)


def test_audio_helpers_and_null_sound_device() -> None:
    board, _ = started()
    board.audio.set_volume(AudioPath.SPEAKER, 40)
    board.audio.set_route(AudioPath.SPEAKER)
    board.audio.start_ringer()
    assert board.volume(AudioPath.SPEAKER) == 40
    assert board.route() is AudioPath.SPEAKER
    assert board.is_ringing()
    assert board.audio.sound_device() is None


def test_show_after_stop_is_an_error() -> None:
    board, _ = started()
    board.stop()
    with pytest.raises(HalError):
        board.display.show(frame_with(()))
