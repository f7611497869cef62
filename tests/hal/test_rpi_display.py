"""The OLED display through the real luma.oled drivers, with the bus replaced by a byte recorder."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import replace

import pytest
from fake_gpio import BCM, FakeGPIO
from fake_serial import FakeSerial
from luma.core.error import DeviceNotFoundError
from PIL import Image

from hal import DeviceError, DisplayConfig, Frame, HalConfigError, HalError
from hal.backends.rpi_display import OledDisplay

# luma.oled 3.16 still calls Image.getdata(), deprecated by Pillow 13 (removed in Pillow 14:
# pyproject.toml caps pillow below 14 until luma.oled stops).
pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata is deprecated:DeprecationWarning")

# SSD1306 datasheet commands, spelled out so the test checks bytes, not luma's constants.
SSD1306_INIT = [
    0xAE,  # display off
    0xD5, 0x80,  # clock divide ratio / oscillator
    0xA8, 0x3F,  # multiplex ratio: 64 rows
    0xD3, 0x00,  # display offset 0
    0x40,  # start line 0
    0x8D, 0x14,  # charge pump on
    0x20, 0x00,  # horizontal addressing mode
    0xA1,  # segment remap (column 127 is SEG0)
    0xC8,  # COM scan direction: remapped
    0xDA, 0x12,  # COM pins: alternative configuration
    0xD9, 0xF1,  # pre-charge period
    0xDB, 0x40,  # VCOMH deselect level
    0xA4,  # display follows RAM
    0xA6,  # normal (not inverted)
]  # fmt: skip
SSD1306_WINDOW = [0x21, 0x00, 0x7F, 0x22, 0x00, 0x07]  # columns 0-127, pages 0-7


def frame(
    size: tuple[int, int] = (128, 64), pixels: tuple[tuple[int, int], ...] = (), mode: str = "1"
) -> Frame:
    image = Image.new(mode, size, 0)
    for xy in pixels:
        image.putpixel(xy, 255 if mode == "L" else 1)
    return Frame(image, ("line one", "line two"))


def test_ssd1306_init_sequence_and_contrast_bytes() -> None:
    serial = FakeSerial()
    OledDisplay(DisplayConfig(driver="ssd1306", contrast=200), serial=serial)
    assert serial.commands() == [
        *SSD1306_INIT,
        0x81, 0xCF,  # luma's default contrast
        *SSD1306_WINDOW,  # clear(): a blank frame...
        0xAF,  # ...then display on
        0x81, 200,  # our contrast from the profile
    ]  # fmt: skip
    assert serial.data_blocks() == [[0] * 1024]


def test_ssd1306_frame_bytes_are_pages_of_vertical_bytes() -> None:
    serial = FakeSerial()
    display = OledDisplay(DisplayConfig(), serial=serial)
    serial.clear()
    display.show(frame(pixels=((0, 0), (5, 9), (127, 63))))
    assert serial.commands() == SSD1306_WINDOW
    (data,) = serial.data_blocks()
    expected = [0] * 1024
    expected[0] = 0x01  # x 0, y 0: page 0, bit 0
    expected[128 + 5] = 0x02  # x 5, y 9: page 1, bit 1
    expected[7 * 128 + 127] = 0x80  # x 127, y 63: page 7, bit 7
    assert data == expected


def test_frame_in_another_mode_is_converted() -> None:
    serial = FakeSerial()
    display = OledDisplay(DisplayConfig(), serial=serial)
    serial.clear()
    display.show(frame(pixels=((1, 0),), mode="L"))
    assert serial.data_blocks()[0][1] == 0x01


def test_frame_of_the_wrong_size_is_refused() -> None:
    display = OledDisplay(DisplayConfig(), serial=FakeSerial())
    with pytest.raises(HalError, match="display is"):
        display.show(frame(size=(64, 32)))


def test_rotation_swaps_the_drawing_size() -> None:
    display = OledDisplay(DisplayConfig(rotate=1), serial=FakeSerial())
    assert display.size == (64, 128)
    display.show(frame(size=(64, 128)))


def test_sh1106_sends_page_by_page_with_column_offset() -> None:
    serial = FakeSerial()
    display = OledDisplay(DisplayConfig(driver="sh1106"), serial=serial)
    assert serial.commands()[0] == 0xAE
    assert display.size == (128, 64)
    serial.clear()
    display.show(frame(pixels=((0, 8),)))
    commands = [values for kind, values in serial.log if kind == "command"]
    assert commands == [[0xB0 + page, 0x02, 0x10] for page in range(8)]
    blocks = serial.data_blocks()
    assert len(blocks) == 8 and all(len(b) == 128 for b in blocks)
    assert blocks[1][0] == 0x01


def test_ssd1309_construction() -> None:
    serial = FakeSerial()
    display = OledDisplay(DisplayConfig(driver="ssd1309"), serial=serial)
    assert display.size == (128, 64)
    assert serial.commands()[:3] == [0xAE, 0xD5, 0x80]


def test_ssd1322_is_driven_in_1_bit_mode_at_256x64() -> None:
    serial = FakeSerial()
    display = OledDisplay(DisplayConfig(driver="ssd1322"), serial=serial)
    assert display.size == (256, 64)
    assert display.mode == "1"
    # The SSD1322 takes command arguments as data bytes (D/C high): unlock is 0xFD then data 0x12.
    assert serial.log[:2] == [("command", [0xFD]), ("data", [0x12])]
    serial.clear()
    display.show(frame(size=(256, 64), pixels=((0, 0),)))
    assert serial.commands()[-1] == 0x5C  # write RAM
    assert serial.data_blocks()[-1][0] == 0xF0  # 4 bits per pixel, first pixel in the high nibble


def test_close_blanks_the_panel_releases_the_bus_and_is_idempotent() -> None:
    serial = FakeSerial()
    display = OledDisplay(DisplayConfig(), serial=serial)
    serial.clear()
    display.close()
    display.close()
    assert serial.commands()[0] == 0xAE
    assert serial.cleanups == 1
    with pytest.raises(HalError, match="after close"):
        display.show(frame())


def test_bad_profile_values_are_config_errors() -> None:
    with pytest.raises(HalConfigError, match="contrast"):
        OledDisplay(DisplayConfig(contrast=300), serial=FakeSerial())
    with pytest.raises(HalConfigError, match="rotate"):
        OledDisplay(DisplayConfig(rotate=4), serial=FakeSerial())
    with pytest.raises(HalConfigError, match="SPI speed"):
        OledDisplay(DisplayConfig(bus="spi", spi_speed_hz=3_000_000), gpio=FakeGPIO())


def test_silent_i2c_address_is_a_device_error() -> None:
    dead = FakeSerial(fail=DeviceNotFoundError("I2C device not found on address: 0x3C"))
    with pytest.raises(DeviceError, match=r"no display answers at I2C address 0x3C on bus 1.*i2cdetect"):
        OledDisplay(DisplayConfig(), serial=dead)
    assert dead.cleanups == 1


def test_runtime_bus_failure_is_a_device_error() -> None:
    serial = FakeSerial()
    display = OledDisplay(DisplayConfig(), serial=serial)
    serial.fail = OSError(121, "Remote I/O error")
    with pytest.raises(DeviceError):
        display.show(frame())


@pytest.mark.skipif(os.path.exists("/dev/i2c-1"), reason="this machine has an I2C bus 1")
def test_missing_i2c_bus_says_how_to_enable_it() -> None:
    """The real luma i2c interface (smbus2) on a machine without /dev/i2c-1."""
    with pytest.raises(DeviceError, match=r"I2C bus 1 not found.*dtparam=i2c_arm=on"):
        OledDisplay(DisplayConfig(bus="i2c", i2c_port=1))


def test_spi_without_spidev_is_a_device_error_and_frees_dc_rst() -> None:
    if importlib.util.find_spec("spidev") is not None:
        pytest.skip("spidev is installed here")
    gpio = FakeGPIO()
    gpio.setmode(BCM)
    config = replace(DisplayConfig(), bus="spi")
    with pytest.raises(DeviceError, match="spidev"):
        OledDisplay(config, gpio=gpio)
    assert not gpio.is_setup(config.gpio_dc)
    assert not gpio.is_setup(config.gpio_rst)
