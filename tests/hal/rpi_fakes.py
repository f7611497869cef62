"""Builds the real RpiBoard on top of the fakes (GPIO, serial bus, alsaaudio, clock)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from fake_alsa import FakeAlsa
from fake_clock import FakeClock
from fake_gpio import FakeGPIO
from fake_serial import FakeSerial

from hal import HalConfig, HalEvent, make_board
from hal.backends.rpi import RpiBoard
from hal.types import Key


@dataclass
class RpiRig:
    board: RpiBoard
    gpio: FakeGPIO
    serial: FakeSerial
    alsa: FakeAlsa
    clock: FakeClock
    config: HalConfig
    events: list[HalEvent]

    def position(self, key: Key) -> tuple[int, int]:
        for r, row in enumerate(self.config.keypad.keymap):
            for c, name in enumerate(row):
                if name == key.value:
                    return r, c
        raise AssertionError(f"{key} is not on the keypad")

    def tick(self, seconds: float) -> None:
        """Let time pass as the scan threads would see it: scan and poll every scan interval."""
        step = self.config.keypad.scan_interval_ms / 1000
        for _ in range(max(1, round(seconds / step))):
            now = self.clock.advance(step)
            self.board.keypad.scan_once(now)
            self.board.hook.poll(now)


def rpi_rig(config: HalConfig | None = None, start: bool = True) -> RpiRig:
    config = replace(config or HalConfig(), backend="rpi")
    gpio = FakeGPIO(config.keypad, config.hook)
    serial, alsa, clock = FakeSerial(), FakeAlsa(), FakeClock()
    board = make_board(config, gpio=gpio, serial=serial, alsa=alsa, clock=clock, start_threads=False)
    assert isinstance(board, RpiBoard)
    events: list[HalEvent] = []
    if start:
        board.start(events.append)
    return RpiRig(board, gpio, serial, alsa, clock, config, events)
