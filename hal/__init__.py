"""Hardware layer of the desk phone: keypad, hook switch, display and audio.

Backends are chosen by name (`rpi`, `sim`) and never by silent fallback. Hardware libraries
(RPi.GPIO, luma.oled, alsaaudio) are imported only inside the `rpi` backend.
"""

from __future__ import annotations

from typing import Any

from hal.config import AudioConfig, DisplayConfig, HalConfig, HookConfig, KeypadConfig
from hal.errors import DeviceError, HalConfigError, HalError, UnknownBackendError
from hal.interfaces import Audio, Board, Display, EventSink, HookSwitch, Keypad
from hal.types import AudioPath, Frame, HalEvent, HookChanged, Key, KeyPressed

BACKENDS = ("rpi", "sim")


def make_board(config: HalConfig, **inject: Any) -> Board:
    """Build the board named by `config.backend`.

    `inject` passes backend-specific dependencies (for `rpi`: a fake `gpio` module, a `serial`
    interface, an `alsa` module) so tests run the real backend code without hardware.
    """
    if config.backend == "sim":
        from hal.backends.sim import SimBoard

        return SimBoard(config, **inject)
    if config.backend == "rpi":
        from hal.backends.rpi import RpiBoard

        return RpiBoard(config, **inject)
    raise UnknownBackendError(f"unknown hardware backend {config.backend!r}; choose one of {BACKENDS}")


__all__ = [
    "BACKENDS",
    "Audio",
    "AudioConfig",
    "AudioPath",
    "Board",
    "DeviceError",
    "Display",
    "DisplayConfig",
    "EventSink",
    "Frame",
    "HalConfig",
    "HalConfigError",
    "HalError",
    "HalEvent",
    "HookChanged",
    "HookConfig",
    "HookSwitch",
    "Key",
    "KeyPressed",
    "Keypad",
    "KeypadConfig",
    "UnknownBackendError",
    "make_board",
]
