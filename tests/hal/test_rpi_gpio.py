"""The GPIO keypad and hook of the rpi backend against the electrical fake of RPi.GPIO."""

from __future__ import annotations

import importlib.util
import threading
import time
from dataclasses import replace

import pytest
from fake_gpio import BCM, BOARD, HIGH, IN, LOW, OUT, PUD_UP, FakeGPIO
from rpi_fakes import rpi_rig

from hal import DeviceError, HalConfig, HookChanged, HookConfig, Key, KeypadConfig, KeyPressed, make_board
from hal.backends.rpi_gpio import GpioHook, GpioKeypad, Ticker, load_gpio

pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata is deprecated:DeprecationWarning")


def test_pins_are_set_up_as_the_wiring_needs() -> None:
    rig = rpi_rig()
    gpio, keypad = rig.gpio, rig.config.keypad
    assert gpio.getmode() == BCM
    for pin in keypad.rows:
        assert gpio.direction(pin) == OUT
        assert gpio.driven(pin) == HIGH
    for pin in keypad.cols:
        assert gpio.direction(pin) == IN
        assert gpio.pull(pin) == PUD_UP
    assert gpio.direction(rig.config.hook.pin) == IN
    assert gpio.pull(rig.config.hook.pin) == PUD_UP


def test_every_key_of_the_matrix_maps_to_its_key() -> None:
    rig = rpi_rig()
    expected = []
    for r, row in enumerate(rig.config.keypad.keymap):
        for c, name in enumerate(row):
            rig.gpio.hold(r, c)
            rig.tick(0.05)
            rig.gpio.release(r, c)
            rig.tick(0.05)
            expected.append(KeyPressed(Key(name)))
    assert rig.events == expected


def test_rows_idle_high_between_scans() -> None:
    rig = rpi_rig()
    rig.gpio.hold(0, 0)
    rig.tick(0.05)
    assert all(rig.gpio.driven(pin) == HIGH for pin in rig.config.keypad.rows)


def test_press_is_reported_once_after_debounce_and_never_repeats() -> None:
    rig = rpi_rig()
    rig.gpio.hold(*rig.position(Key.D5))
    rig.tick(0.015)
    assert rig.events == []
    rig.tick(0.01)
    assert rig.events == [KeyPressed(Key.D5)]
    rig.tick(2.0)
    assert rig.events == [KeyPressed(Key.D5)]


def test_contact_bounce_gives_one_press() -> None:
    rig = rpi_rig()
    r, c = rig.position(Key.HASH)
    for _ in range(3):  # closes and opens on alternate scans
        rig.gpio.hold(r, c)
        rig.tick(0.005)
        rig.gpio.release(r, c)
        rig.tick(0.005)
    rig.gpio.hold(r, c)
    rig.tick(0.1)
    rig.gpio.release(r, c)
    rig.tick(0.1)
    assert rig.events == [KeyPressed(Key.HASH)]


def test_scan_once_returns_the_events_it_delivers() -> None:
    rig = rpi_rig()
    rig.gpio.hold(0, 0)
    returned = []
    for _ in range(10):
        returned += rig.board.keypad.scan_once(rig.clock.advance(0.005))
    assert returned == rig.events == [KeyPressed(Key.D1)]


def test_two_keys_in_one_column_short_a_high_row_to_the_low_one() -> None:
    """Documents the wiring caveat of outputs driven HIGH: pressing two keys of one column shorts
    two rows through the switches (series resistors or diodes on the rows avoid it)."""
    rig = rpi_rig()
    rig.gpio.hold(0, 0)
    rig.gpio.hold(1, 0)
    rig.tick(0.05)
    assert rig.events == [KeyPressed(Key.D1), KeyPressed(Key.D4)]
    assert rig.gpio.contentions > 0


def test_hook_lift_and_hang_up_are_reported_after_debounce() -> None:
    rig = rpi_rig()
    assert rig.board.hook.is_off_hook() is False
    rig.gpio.set_off_hook(True)
    rig.tick(0.025)
    assert rig.events == []
    rig.tick(0.01)
    assert rig.events == [HookChanged(off_hook=True)]
    assert rig.board.hook.is_off_hook() is True
    rig.gpio.set_off_hook(False)
    rig.tick(0.1)
    assert rig.events == [HookChanged(True), HookChanged(False)]


def test_hook_chatter_at_50hz_reports_only_the_clean_final_state() -> None:
    rig = rpi_rig()
    step = 0.001
    for i in range(500):  # 0.5 s of a 50 Hz square wave, polled every millisecond
        rig.gpio.set_off_hook((i // 10) % 2 == 0)
        now = rig.clock.advance(step)
        rig.board.hook.poll(now)
    assert rig.events == []
    rig.gpio.set_off_hook(True)
    rig.tick(0.2)
    assert rig.events == [HookChanged(off_hook=True)]


def test_hook_position_at_start_is_not_reported() -> None:
    config = HalConfig(backend="rpi")
    gpio = FakeGPIO(config.keypad, config.hook)
    gpio.setmode(BCM)
    gpio.set_off_hook(True)
    hook = GpioHook(gpio, config.hook, lambda: 0.0, threads=False)
    assert hook.is_off_hook() is True
    events: list[object] = []
    hook.start(events.append)
    assert [hook.poll(t / 100) for t in range(10)] == [None] * 10
    assert events == []


def test_active_high_hook_switch() -> None:
    config = HalConfig(hook=HookConfig(active_low=False))
    rig = rpi_rig(config)
    # An active-high switch holds its pin LOW on-hook.
    assert rig.gpio.input(config.hook.pin) == LOW
    assert rig.board.hook.is_off_hook() is False
    rig.gpio.set_off_hook(True)
    rig.tick(0.1)
    assert rig.events == [HookChanged(True)]


def test_stop_releases_every_pin_and_is_idempotent() -> None:
    rig = rpi_rig()
    pins = [*rig.config.keypad.rows, *rig.config.keypad.cols, rig.config.hook.pin]
    rig.board.stop()
    assert not any(rig.gpio.is_setup(pin) for pin in pins)
    rig.board.stop()
    rig.gpio.hold(0, 0)
    assert rig.board.keypad.scan_once(rig.clock.advance(1.0)) == []
    assert rig.board.hook.poll(rig.clock.now) is None


def test_keypad_restarts_after_stop() -> None:
    rig = rpi_rig()
    rig.board.keypad.stop()
    events: list[object] = []
    rig.board.keypad.start(events.append)
    rig.gpio.hold(0, 1)
    rig.tick(0.05)
    assert events == [KeyPressed(Key.D2)]


def test_scan_threads_deliver_events() -> None:
    """The real background threads with the real clock, made fast by a 1 ms scan."""
    config = HalConfig(keypad=KeypadConfig(scan_interval_ms=1, debounce_ms=2), hook=HookConfig(debounce_ms=2))
    gpio = FakeGPIO(config.keypad, config.hook)
    from fake_alsa import FakeAlsa
    from fake_serial import FakeSerial

    board = make_board(
        replace(config, backend="rpi"), gpio=gpio, serial=FakeSerial(), alsa=FakeAlsa(), clock=time.monotonic
    )
    got: list[object] = []
    arrived = threading.Event()

    def sink(event: object) -> None:
        got.append(event)
        arrived.set()

    board.start(sink)
    try:
        gpio.hold(2, 1)
        assert arrived.wait(2.0)
        assert got[0] == KeyPressed(Key.D8)
        arrived.clear()
        gpio.set_off_hook(True)
        assert arrived.wait(2.0)
        assert got[-1] == HookChanged(True)
    finally:
        board.stop()
    assert not any(t.name in ("keypad-scan", "hook-poll") and t.is_alive() for t in threading.enumerate())


def test_ticker_survives_a_failing_tick_and_stops() -> None:
    calls = 0
    twice = threading.Event()

    def tick() -> None:
        nonlocal calls
        calls += 1
        if calls >= 2:
            twice.set()
        raise RuntimeError("glitch")

    ticker = Ticker("test-ticker", 0.001, tick)
    ticker.start()
    ticker.start()
    assert twice.wait(2.0)
    ticker.stop()
    ticker.stop()


# -- the fake is strict, so the backend's use of the API is really checked -----------------------


def test_fake_rejects_use_before_setmode() -> None:
    gpio = FakeGPIO()
    with pytest.raises(RuntimeError, match="setmode"):
        gpio.setup(5, gpio.IN)
    with pytest.raises(RuntimeError, match="setmode"):
        GpioKeypad(gpio, KeypadConfig(), lambda: 0.0, threads=False)


def test_fake_rejects_input_on_a_pin_not_set_up_and_output_to_an_input() -> None:
    gpio = FakeGPIO()
    gpio.setmode(BCM)
    with pytest.raises(RuntimeError, match="setup"):
        gpio.input(5)
    gpio.setup(5, IN, pull_up_down=PUD_UP)
    with pytest.raises(RuntimeError, match="OUTPUT"):
        gpio.output(5, LOW)
    with pytest.raises(ValueError):
        gpio.setup(6, OUT, pull_up_down=PUD_UP)
    with pytest.raises(ValueError):
        gpio.setup(99, IN)


def test_board_needs_bcm_numbering() -> None:
    gpio = FakeGPIO()
    gpio.setmode(BOARD)
    with pytest.raises(DeviceError, match="BCM"):
        make_board(HalConfig(backend="rpi"), gpio=gpio, serial=None, alsa=None, start_threads=False)


def test_failed_board_releases_the_pins_it_claimed() -> None:
    config = HalConfig(backend="rpi")
    gpio = FakeGPIO(config.keypad, config.hook)
    from fake_alsa import FakeAlsa
    from fake_serial import FakeSerial

    with pytest.raises(DeviceError, match="not found"):
        make_board(
            replace(config, audio=replace(config.audio, card="Nope")),
            gpio=gpio,
            serial=FakeSerial(),
            alsa=FakeAlsa(),
        )
    assert not any(gpio.is_setup(p) for p in [*config.keypad.rows, *config.keypad.cols, config.hook.pin])


@pytest.mark.skipif(importlib.util.find_spec("RPi") is not None, reason="RPi.GPIO is installed here")
def test_no_gpio_library_is_a_device_error_not_a_fallback() -> None:
    with pytest.raises(DeviceError, match=r"RPi\.GPIO"):
        load_gpio()
    with pytest.raises(DeviceError, match=r"RPi\.GPIO"):
        make_board(HalConfig(backend="rpi"))
