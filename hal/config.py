"""Hardware profile: what is wired where. Plain frozen dataclasses so hal/ needs no config library."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from hal.errors import HalConfigError
from hal.types import Key

DEFAULT_KEYMAP: tuple[tuple[str, ...], ...] = (
    ("1", "2", "3", "up"),
    ("4", "5", "6", "down"),
    ("7", "8", "9", "select"),
    ("*", "0", "#", "back"),
    ("speaker", "hold", "redial", "vol_up"),
    ("menu", "contacts", "dnd", "vol_down"),
)


@dataclass(frozen=True)
class KeypadConfig:
    """A row/column matrix. Rows are driven low one at a time, columns read with pull-ups (BCM numbering)."""

    # Defaults avoid I2C (2, 3), SPI0 (7-11), I2S audio (18-21), the hook (17) and the OLED's DC/RST (24, 25).
    rows: tuple[int, ...] = (5, 6, 13, 26, 4, 27)
    cols: tuple[int, ...] = (12, 16, 22, 23)
    keymap: tuple[tuple[str, ...], ...] = DEFAULT_KEYMAP
    scan_interval_ms: int = 5
    debounce_ms: int = 20

    def __post_init__(self) -> None:
        if len(self.keymap) != len(self.rows):
            raise HalConfigError(f"keymap has {len(self.keymap)} rows, wiring has {len(self.rows)}")
        known = {k.value for k in Key}
        for r, row in enumerate(self.keymap):
            if len(row) != len(self.cols):
                raise HalConfigError(
                    f"keymap row {r} has {len(row)} keys, wiring has {len(self.cols)} columns"
                )
            for name in row:
                if name and name not in known:
                    raise HalConfigError(f"keymap row {r}: unknown key {name!r}")
        pins = list(self.rows) + list(self.cols)
        if len(set(pins)) != len(pins):
            raise HalConfigError("keypad rows and columns share a GPIO pin")
        if self.scan_interval_ms <= 0 or self.debounce_ms < 0:
            raise HalConfigError("scan interval must be > 0 and debounce >= 0")

    def key_at(self, row: int, col: int) -> Key | None:
        name = self.keymap[row][col]
        return Key(name) if name else None


@dataclass(frozen=True)
class HookConfig:
    """Hook switch on one GPIO with a pull-up; active_low means the contact closes to ground off-hook."""

    pin: int = 17
    active_low: bool = True
    debounce_ms: int = 30


DisplayDriver = Literal["ssd1306", "sh1106", "ssd1309", "ssd1322"]


@dataclass(frozen=True)
class DisplayConfig:
    driver: DisplayDriver = "ssd1306"
    bus: Literal["i2c", "spi"] = "i2c"
    i2c_port: int = 1
    i2c_address: int = 0x3C
    spi_port: int = 0
    spi_device: int = 0
    spi_speed_hz: int = 8_000_000
    gpio_dc: int = 24
    gpio_rst: int = 25
    rotate: int = 0
    contrast: int = 200

    @property
    def size(self) -> tuple[int, int]:
        return (256, 64) if self.driver == "ssd1322" else (128, 64)


@dataclass(frozen=True)
class AudioConfig:
    """ALSA devices are chosen by card *name* (card numbers change across reboots)."""

    card: str = "default"
    handset_mixer: str = "PCM"
    speaker_mixer: str = "Speaker"
    ringer_card: str = ""  # empty: same card as the call audio
    ringtone: str = ""  # WAV file; empty: a built-in synthesised ring
    handset_volume: int = 70
    speaker_volume: int = 60
    ringer_volume: int = 80


@dataclass(frozen=True)
class HalConfig:
    backend: str = "sim"
    keypad: KeypadConfig = field(default_factory=KeypadConfig)
    hook: HookConfig = field(default_factory=HookConfig)
    display: DisplayConfig = field(default_factory=DisplayConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
