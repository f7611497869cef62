"""The Raspberry Pi board: GPIO keypad and hook, luma.oled display, ALSA audio.

Hardware libraries are imported lazily by the part that needs them. Tests inject fakes of the same
APIs (`gpio`, `serial`, `alsa`) and a `clock`, and pass start_threads=False to drive scans with
`keypad.scan_once(now)` / `hook.poll(now)` instead of background threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hal.backends.rpi_audio import AlsaAudio
from hal.backends.rpi_display import OledDisplay, SerialInterface
from hal.backends.rpi_gpio import GpioHook, GpioKeypad, claim_bcm, load_gpio
from hal.config import HalConfig
from hal.interfaces import EventSink


class RpiBoard:
    """A desk phone built on a Raspberry Pi. stop() releases every device; build a new board to restart."""

    name = "rpi"

    def __init__(
        self,
        config: HalConfig,
        *,
        gpio: Any = None,
        serial: SerialInterface | None = None,
        alsa: Any = None,
        clock: Callable[[], float] | None = None,
        start_threads: bool = True,
    ) -> None:
        self._config = config
        self._clock = clock if clock is not None else time.monotonic
        self._gpio = gpio if gpio is not None else load_gpio()
        self._stopped = False
        self._closers: list[Callable[[], None]] = []
        claim_bcm(self._gpio)
        try:
            self.keypad = GpioKeypad(self._gpio, config.keypad, self._clock, start_threads)
            self._closers.append(self.keypad.stop)
            self.hook = GpioHook(self._gpio, config.hook, self._clock, start_threads)
            self._closers.append(self.hook.stop)
            self.display = OledDisplay(config.display, serial=serial, gpio=self._gpio)
            self._closers.append(self.display.close)
            self.audio = AlsaAudio(config.audio, alsa=alsa)
            self._closers.append(self.audio.close)
        except BaseException:
            # A part failed (no I2C bus, no sound card...): release the parts already claimed.
            self._close_parts()
            raise

    def start(self, sink: EventSink) -> None:
        """Start scanning; `sink` is called from the scan threads (see hal.interfaces)."""
        self.keypad.start(sink)
        self.hook.start(sink)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._close_parts()

    def _close_parts(self) -> None:
        closers, self._closers = self._closers, []
        first_error: BaseException | None = None
        for close in closers:
            # One part failing to close must not leave the others (GPIO pins, the PCM) claimed.
            try:
                close()
            except Exception as exc:
                first_error = first_error or exc
        if first_error is not None:
            raise first_error
