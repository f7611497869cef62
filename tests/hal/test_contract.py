"""One contract, every backend: the sim board and the rpi board (on fakes) must behave alike.

Each backend gets a small driver that moves its contacts and lets time pass in its own way (the
sim through its Python API, the rpi board through the fake GPIO and its scan_once/poll).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import pytest
from fake_clock import FakeClock
from PIL import Image
from rpi_fakes import RpiRig, rpi_rig

from hal import (
    AudioPath,
    Board,
    Frame,
    HalConfig,
    HalError,
    HalEvent,
    HookChanged,
    Key,
    KeyPressed,
    UnknownBackendError,
    make_board,
)
from hal.backends.rpi import RpiBoard
from hal.backends.sim import SimBoard

pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata is deprecated:DeprecationWarning")


class Driver(Protocol):
    board: Board
    events: list[HalEvent]

    def hold(self, key: Key) -> None: ...
    def release(self, key: Key) -> None: ...
    def set_hook(self, off_hook: bool) -> None: ...
    def advance(self, seconds: float) -> None: ...
    def shown(self, frame: Frame) -> bool: ...


class SimDriver:
    def __init__(self) -> None:
        self.sim = SimBoard(HalConfig(backend="sim"), clock=FakeClock())
        self.board: Board = self.sim
        self.events: list[HalEvent] = []
        self.board.start(self.events.append)

    def hold(self, key: Key) -> None:
        self.sim.key_down(key)

    def release(self, key: Key) -> None:
        self.sim.key_up(key)

    def set_hook(self, off_hook: bool) -> None:
        self.sim.set_hook(off_hook)

    def advance(self, seconds: float) -> None:
        self.sim.advance(seconds)

    def shown(self, frame: Frame) -> bool:
        same_pixels = self.sim.display.image().tobytes() == frame.image.convert("1").tobytes()
        return same_pixels and self.sim.screen_text() == list(frame.text)


def ssd1306_bytes(image: Image.Image) -> list[int]:
    """What an SSD1306 must receive for an image: 8 pages of column bytes, LSB at the top."""
    mono = image.convert("1")
    width, height = mono.size
    return [
        sum(1 << bit for bit in range(8) if mono.getpixel((x, page * 8 + bit)))
        for page in range(height // 8)
        for x in range(width)
    ]


class RpiDriver:
    def __init__(self) -> None:
        self.rig: RpiRig = rpi_rig()
        self.board: Board = self.rig.board
        self.events = self.rig.events

    def hold(self, key: Key) -> None:
        self.rig.gpio.hold(*self.rig.position(key))

    def release(self, key: Key) -> None:
        self.rig.gpio.release(*self.rig.position(key))

    def set_hook(self, off_hook: bool) -> None:
        self.rig.gpio.set_off_hook(off_hook)

    def advance(self, seconds: float) -> None:
        self.rig.tick(seconds)

    def shown(self, frame: Frame) -> bool:
        return self.rig.serial.last_frame_bytes(1024) == ssd1306_bytes(frame.image)


@pytest.fixture(params=["sim", "rpi"])
def driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    made: Driver = SimDriver() if request.param == "sim" else RpiDriver()
    yield made
    made.board.stop()


def press(driver: Driver, key: Key) -> None:
    driver.hold(key)
    driver.advance(0.1)
    driver.release(key)
    driver.advance(0.1)


def test_board_is_named_after_its_backend(driver: Driver) -> None:
    assert driver.board.name in ("sim", "rpi")


@pytest.mark.parametrize("key", [Key.D1, Key.D0, Key.STAR, Key.HASH, Key.SELECT, Key.VOL_DOWN])
def test_a_press_gives_exactly_one_key_pressed(driver: Driver, key: Key) -> None:
    press(driver, key)
    assert driver.events == [KeyPressed(key)]


def test_holding_a_key_does_not_repeat(driver: Driver) -> None:
    driver.hold(Key.D7)
    driver.advance(3.0)
    driver.release(Key.D7)
    driver.advance(0.1)
    assert driver.events == [KeyPressed(Key.D7)]


def test_pressing_twice_gives_two_events(driver: Driver) -> None:
    press(driver, Key.D3)
    press(driver, Key.D3)
    assert driver.events == [KeyPressed(Key.D3)] * 2


def test_bouncing_contact_gives_one_event(driver: Driver) -> None:
    for _ in range(3):
        driver.hold(Key.D9)
        driver.advance(0.005)
        driver.release(Key.D9)
        driver.advance(0.005)
    press(driver, Key.D9)
    assert driver.events == [KeyPressed(Key.D9)]


def test_lift_and_hang_up(driver: Driver) -> None:
    assert driver.board.hook.is_off_hook() is False
    driver.set_hook(True)
    driver.advance(0.1)
    assert driver.events == [HookChanged(off_hook=True)]
    assert driver.board.hook.is_off_hook() is True
    driver.set_hook(False)
    driver.advance(0.1)
    assert driver.events == [HookChanged(True), HookChanged(False)]
    assert driver.board.hook.is_off_hook() is False


def test_50hz_hook_chatter_reports_only_the_clean_final_state(driver: Driver) -> None:
    off_hook = False
    for _ in range(25):  # 250 ms of a 50 Hz square wave
        off_hook = not off_hook
        driver.set_hook(off_hook)
        driver.advance(0.01)
    assert driver.events == []
    driver.set_hook(True)
    driver.advance(0.2)
    assert driver.events == [HookChanged(off_hook=True)]


def test_chatter_ending_on_hook_reports_nothing(driver: Driver) -> None:
    for i in range(20):
        driver.set_hook(i % 2 == 0)
        driver.advance(0.01)
    driver.set_hook(False)
    driver.advance(0.2)
    assert driver.events == []


def test_display_shows_a_frame(driver: Driver) -> None:
    display = driver.board.display
    assert display.size == (128, 64)
    image = Image.new("1", display.size, 0)
    image.paste(1, (10, 20, 30, 28))
    shown = Frame(image, ("Alice", "calling..."))
    display.show(shown)
    assert driver.shown(shown)


def test_display_refuses_a_frame_of_the_wrong_size(driver: Driver) -> None:
    with pytest.raises(HalError):
        driver.board.display.show(Frame(Image.new("1", (10, 10)), ()))


def test_volume_set_and_get(driver: Driver) -> None:
    audio = driver.board.audio
    assert audio.volume(AudioPath.HANDSET) == 70
    assert audio.volume(AudioPath.SPEAKER) == 60
    audio.set_volume(AudioPath.SPEAKER, 85)
    audio.set_volume(AudioPath.HANDSET, 101)
    assert audio.volume(AudioPath.SPEAKER) == 85
    assert audio.volume(AudioPath.HANDSET) == 100


def test_route_set_and_get(driver: Driver) -> None:
    audio = driver.board.audio
    assert audio.route() is AudioPath.HANDSET
    audio.set_route(AudioPath.SPEAKER)
    assert audio.route() is AudioPath.SPEAKER


def test_ringer_start_stop(driver: Driver) -> None:
    audio = driver.board.audio
    assert not audio.is_ringing()
    audio.start_ringer()
    assert audio.is_ringing()
    audio.stop_ringer()
    assert not audio.is_ringing()
    audio.stop_ringer()


def test_sound_device_is_a_card_name_or_none(driver: Driver) -> None:
    device = driver.board.audio.sound_device()
    assert device is None or isinstance(device, str)


def test_stop_is_idempotent_and_silences_the_board(driver: Driver) -> None:
    driver.board.audio.start_ringer()
    driver.board.stop()
    driver.board.stop()
    assert not driver.board.audio.is_ringing()
    driver.hold(Key.D1)
    driver.advance(0.1)
    assert driver.events == []


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(UnknownBackendError, match="'fpga'"):
        make_board(HalConfig(backend="fpga"))


def test_make_board_builds_each_backend_by_name() -> None:
    assert isinstance(make_board(HalConfig(backend="sim")), SimBoard)
    rig = rpi_rig(start=False)  # rpi_rig goes through make_board too
    assert isinstance(rig.board, RpiBoard)
    rig.board.stop()


def test_sim_does_not_silently_accept_hardware_injections() -> None:
    with pytest.raises(TypeError):
        make_board(HalConfig(backend="sim"), gpio=object())
