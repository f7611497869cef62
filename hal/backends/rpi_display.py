"""OLED panel through luma.oled over I2C or SPI.

luma is imported here only, lazily. A test injects `serial` (anything with command(*bytes),
data(bytes) and cleanup()) in place of the I2C/SPI interface, so the real luma driver runs and the
test sees the exact controller bytes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from hal.config import DisplayConfig
from hal.errors import DeviceError, HalConfigError, HalError
from hal.types import Frame

log = logging.getLogger(__name__)

# luma.core.interface.serial.spi asserts on any other clock; say so as a config error instead.
SPI_SPEEDS_HZ = frozenset(
    int(mhz * 1_000_000) for mhz in (0.5, 1, 2, 4, 8, 16, 20, 24, 28, 32, 36, 40, 44, 48, 50, 52)
)


class SerialInterface(Protocol):
    """What luma device drivers need from a bus (luma's i2c and spi classes, or a test fake)."""

    def command(self, *cmd: int) -> None: ...
    def data(self, data: Sequence[int]) -> None: ...
    def cleanup(self) -> None: ...


def _open_i2c(config: DisplayConfig) -> SerialInterface:
    from luma.core.error import DeviceNotFoundError, DevicePermissionError
    from luma.core.interface.serial import i2c

    port = config.i2c_port
    try:
        serial: SerialInterface = i2c(port=port, address=config.i2c_address)
    except ImportError as exc:
        raise DeviceError("smbus2 is not installed: it is luma's I2C library") from exc
    except DeviceNotFoundError as exc:
        raise DeviceError(
            f"I2C bus {port} not found (/dev/i2c-{port}): enable I2C (dtparam=i2c_arm=on)"
        ) from exc
    except DevicePermissionError as exc:
        raise DeviceError(f"no permission to open /dev/i2c-{port}: add the user to the 'i2c' group") from exc
    return serial


def _open_spi(config: DisplayConfig, gpio: Any) -> SerialInterface:
    from luma.core.error import DeviceNotFoundError
    from luma.core.interface.serial import spi

    if config.spi_speed_hz not in SPI_SPEEDS_HZ:
        raise HalConfigError(f"SPI speed {config.spi_speed_hz} Hz is not one luma supports")
    if gpio is None:
        raise DeviceError("the SPI display needs the GPIO module for its DC and RST pins")
    try:
        # Our GPIO module drives DC/RST, so they use the board's BCM numbering and its cleanup.
        serial: SerialInterface = spi(
            gpio=gpio,
            port=config.spi_port,
            device=config.spi_device,
            bus_speed_hz=config.spi_speed_hz,
            gpio_DC=config.gpio_dc,
            gpio_RST=config.gpio_rst,
        )
    except (ImportError, DeviceNotFoundError) as exc:
        gpio.cleanup([config.gpio_dc, config.gpio_rst])  # luma claimed them before opening spidev
        if isinstance(exc, ImportError):
            raise DeviceError("spidev is not installed: it is luma's SPI library") from exc
        dev = f"/dev/spidev{config.spi_port}.{config.spi_device}"
        raise DeviceError(f"SPI device {dev} not found: enable SPI (dtparam=spi=on)") from exc
    return serial


def open_serial(config: DisplayConfig, gpio: Any) -> SerialInterface:
    """Open the real bus named by the profile."""
    if config.bus == "i2c":
        return _open_i2c(config)
    return _open_spi(config, gpio)


def _no_answer(config: DisplayConfig) -> str:
    if config.bus == "i2c":
        return (
            f"no display answers at I2C address 0x{config.i2c_address:02X} on bus {config.i2c_port}: "
            f"check the wiring and display.i2c_address (i2cdetect -y {config.i2c_port})"
        )
    # SPI is write-only: a missing panel is never detected, so this only covers bus errors.
    return f"SPI display on /dev/spidev{config.spi_port}.{config.spi_device} failed"


def _make_device(config: DisplayConfig, serial: SerialInterface) -> Any:
    from luma.core.error import DeviceDisplayModeError, DeviceNotFoundError
    from luma.oled import device as oled

    classes = {
        "ssd1306": oled.ssd1306,
        "sh1106": oled.sh1106,
        "ssd1309": oled.ssd1309,
        "ssd1322": oled.ssd1322,
    }
    if config.driver not in classes:
        raise HalConfigError(f"unknown display driver {config.driver!r}; choose one of {sorted(classes)}")
    width, height = config.size
    # Frames are 1-bit; the greyscale SSD1322 would otherwise expect RGB images.
    extra = {"mode": "1"} if config.driver == "ssd1322" else {}
    try:
        device = classes[config.driver](serial, width=width, height=height, rotate=config.rotate, **extra)
        device.contrast(config.contrast)
    except DeviceNotFoundError as exc:
        raise DeviceError(_no_answer(config)) from exc
    except DeviceDisplayModeError as exc:
        raise HalConfigError(f"{config.driver} cannot drive a {width}x{height} panel: {exc}") from exc
    except OSError as exc:
        raise DeviceError(f"{_no_answer(config)}: {exc}") from exc
    return device


def _check_config(config: DisplayConfig) -> None:
    if not 0 <= config.contrast <= 255:
        raise HalConfigError(f"display contrast {config.contrast} is outside 0-255")
    if config.rotate not in (0, 1, 2, 3):
        raise HalConfigError(f"display rotate {config.rotate} must be 0-3 (quarter turns)")


class OledDisplay:
    """A luma.oled panel. show() converts each frame to the panel's mode and sends it."""

    def __init__(
        self, config: DisplayConfig, serial: SerialInterface | None = None, gpio: Any = None
    ) -> None:
        _check_config(config)
        self._config = config
        self._gpio = gpio
        # Only a bus we opened ourselves has DC/RST pins of ours to release.
        self._owns_pins = serial is None and config.bus == "spi"
        self._serial = serial if serial is not None else open_serial(config, gpio)
        try:
            self._device = _make_device(config, self._serial)
        except BaseException:
            self._release_bus()
            raise
        self._lock = threading.Lock()
        self._closed = False

    @property
    def size(self) -> tuple[int, int]:
        """Drawing size, rotation applied (a 128x64 panel turned a quarter is 64x128)."""
        width, height = self._device.size
        return (int(width), int(height))

    @property
    def mode(self) -> str:
        """The PIL mode the panel's driver renders ("1" for every panel we drive)."""
        return str(self._device.mode)

    def show(self, frame: Frame) -> None:
        if frame.image.size != self.size:
            raise HalError(f"frame is {frame.image.size}, the display is {self.size}")
        image = frame.image if frame.image.mode == self.mode else frame.image.convert(self.mode)
        from luma.core.error import Error as LumaError

        with self._lock:
            if self._closed:
                raise HalError("display used after close()")
            try:
                self._device.display(image)
            except (LumaError, OSError) as exc:
                raise DeviceError(f"{_no_answer(self._config)}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                # luma's cleanup blanks the panel (no burn-in of the last screen) and closes the bus.
                self._device.cleanup()
            except Exception:
                log.warning("display cleanup failed", exc_info=True)
            if self._owns_pins and self._gpio is not None:
                self._gpio.cleanup([self._config.gpio_dc, self._config.gpio_rst])

    def _release_bus(self) -> None:
        try:
            self._serial.cleanup()
        except Exception:
            log.warning("display bus cleanup failed", exc_info=True)
        if self._owns_pins and self._gpio is not None:
            self._gpio.cleanup([self._config.gpio_dc, self._config.gpio_rst])
