"""The terminal console: drawing with half blocks, keys to presses, and a real pty for raw mode."""

from __future__ import annotations

import asyncio
import io
import os
import termios

import pytest
from fake_clock import FakeClock
from PIL import Image

from hal import AudioPath, Frame, HalConfig, HalEvent, HookChanged, Key, KeypadConfig, KeyPressed
from hal.backends.sim import SimBoard
from hal.backends.terminal import TerminalConsole, half_block_rows, quadrant_rows, rows_for_width

# A keypad that also has left/right, so every binding of the console can be exercised.
FULL_KEYMAP = (
    ("1", "2", "3", "up"),
    ("4", "5", "6", "down"),
    ("7", "8", "9", "select"),
    ("*", "0", "#", "back"),
    ("speaker", "hold", "redial", "vol_up"),
    ("menu", "contacts", "dnd", "vol_down"),
    ("left", "right", "", ""),
)


class Rig:
    def __init__(self, config: HalConfig | None = None) -> None:
        self.board = SimBoard(config or HalConfig(), clock=FakeClock())
        self.events: list[HalEvent] = []
        self.board.start(self.events.append)
        self.out = io.StringIO()
        self.quits = 0
        self.console = TerminalConsole(self.board, self.out, self.on_quit)

    def on_quit(self) -> None:
        self.quits += 1


def full_rig() -> Rig:
    keypad = KeypadConfig(rows=(5, 6, 13, 26, 4, 27, 7), keymap=FULL_KEYMAP)
    return Rig(HalConfig(keypad=keypad))


def test_half_blocks_pack_two_pixel_rows_per_character() -> None:
    image = Image.new("1", (4, 3), 0)
    image.putpixel((0, 0), 1)  # top only
    image.putpixel((1, 1), 1)  # bottom only
    image.putpixel((2, 0), 1)  # both
    image.putpixel((2, 1), 1)
    image.putpixel((3, 2), 1)  # odd last row: top of a half-empty pair
    assert half_block_rows(image) == ["▀▄█ ", "   ▀"]


def test_render_draws_the_frame_in_a_border_with_a_status_line() -> None:
    rig = Rig()
    image = Image.new("1", (128, 64), 0)
    image.putpixel((0, 0), 1)
    image.putpixel((1, 1), 1)
    image.paste(1, (2, 2, 4, 4))
    rig.board.display.show(Frame(image, ("Ready",)))
    screen = rig.console.render()
    lines = screen.split("\r\n")
    # Not a terminal (StringIO): the compact 2x2-pixel rendering that fits 80 columns.
    assert lines[0].startswith("\x1b[H┌" + "─" * 64 + "┐")
    assert lines[1].startswith("│▚" + " " * 63 + "│")
    assert lines[2].startswith("│ █" + " " * 62 + "│")
    assert lines[33].startswith("└")
    assert "hook: on-hook" in screen and "ringer: off" in screen
    assert "route: handset" in screen and "handset 70%" in screen and "speaker 60%" in screen


def test_status_follows_the_board() -> None:
    rig = Rig()
    rig.board.lift()
    rig.board.audio.start_ringer()
    rig.board.audio.set_route(AudioPath.SPEAKER)
    screen = rig.console.render()
    assert "hook: OFF-HOOK" in screen and "ringer: RINGING" in screen and "route: speaker" in screen


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (b"5", Key.D5),
        (b"*", Key.STAR),
        (b"#", Key.HASH),
        (b"\x1b[A", Key.UP),
        (b"\x1b[B", Key.DOWN),
        (b"\x1bOA", Key.UP),
        (b"\x1b[D", Key.LEFT),
        (b"\x1b[C", Key.RIGHT),
        (b"\r", Key.SELECT),
        (b"\x7f", Key.BACK),
        (b"\x08", Key.BACK),
        (b"s", Key.SPEAKER),
        (b"h", Key.HOLD),
        (b"r", Key.REDIAL),
        (b"+", Key.VOL_UP),
        (b"-", Key.VOL_DOWN),
        (b"d", Key.DND),
        (b"m", Key.MENU),
        (b"c", Key.CONTACTS),
    ],
)
def test_keys_map_to_keypad_presses(data: bytes, key: Key) -> None:
    rig = full_rig()
    rig.console.handle_input(data)
    assert rig.events == [KeyPressed(key)]


def test_several_keys_in_one_read() -> None:
    rig = Rig()
    rig.console.handle_input(b"12\x1b[B#")
    assert rig.events == [KeyPressed(k) for k in (Key.D1, Key.D2, Key.DOWN, Key.HASH)]


def test_space_toggles_the_hook() -> None:
    rig = Rig()
    rig.console.handle_input(b" ")
    assert rig.events == [HookChanged(True)]
    rig.console.handle_input(b" ")
    assert rig.events == [HookChanged(True), HookChanged(False)]


@pytest.mark.parametrize("data", [b"q", b"\x03"])
def test_q_and_ctrl_c_quit_and_ignore_the_rest(data: bytes) -> None:
    rig = Rig()
    rig.console.handle_input(data + b"5")
    assert rig.quits == 1
    assert rig.events == []


def test_unknown_input_is_ignored() -> None:
    rig = Rig()
    rig.console.handle_input(b"\x1bOP\x1b[15~zx\x1b")  # F1, F5, unbound letters, a lone ESC
    assert rig.events == [] and rig.quits == 0


def test_key_missing_from_the_keypad_is_shown_not_raised() -> None:
    rig = Rig()  # the default keypad has no left arrow
    rig.console.handle_input(b"\x1b[D")
    assert rig.events == []
    assert "not on this keypad" in rig.console.render()


def test_attach_on_a_pty_uses_raw_mode_reads_keys_redraws_and_restores() -> None:
    rig = Rig()
    master, slave = os.openpty()
    loop = asyncio.new_event_loop()
    try:
        before = termios.tcgetattr(slave)
        rig.console.attach(loop, slave)
        rig.console.attach(loop, slave)  # idempotent
        lflag = termios.tcgetattr(slave)[3]
        assert not lflag & termios.ICANON and not lflag & termios.ECHO

        async def type_and_wait() -> None:
            os.write(master, b"7 ")
            for _ in range(200):
                if len(rig.events) == 2:
                    return
                await asyncio.sleep(0.001)

        loop.run_until_complete(type_and_wait())
        assert rig.events == [KeyPressed(Key.D7), HookChanged(True)]
        drawn = len(rig.out.getvalue())
        rig.board.display.show(Frame(Image.new("1", (128, 64)), ("hi",)))
        assert len(rig.out.getvalue()) > drawn  # a frame redraws the console
        rig.console.detach()
        rig.console.detach()
        assert termios.tcgetattr(slave) == before
        assert rig.board.on_frame == []
        assert rig.out.getvalue().endswith("\x1b[?25h\r\n")
    finally:
        loop.close()
        os.close(master)
        os.close(slave)


def test_end_of_input_quits() -> None:
    rig = Rig()
    read_fd, write_fd = os.pipe()
    loop = asyncio.new_event_loop()
    try:
        rig.console.attach(loop, read_fd)  # not a tty: no raw mode to set
        os.close(write_fd)

        async def wait_quit() -> None:
            for _ in range(200):
                if rig.quits:
                    return
                await asyncio.sleep(0.001)

        loop.run_until_complete(wait_quit())
        assert rig.quits == 1
        rig.console.detach()
    finally:
        loop.close()
        os.close(read_fd)


def test_quadrant_rows_pack_two_by_two_pixels() -> None:
    image = Image.new("1", (4, 2))
    for xy in ((0, 0), (1, 1), (2, 0), (3, 0), (2, 1), (3, 1)):
        image.putpixel(xy, 1)
    assert quadrant_rows(image) == ["▚█"]


def test_rendering_follows_the_terminal_width() -> None:
    image = Image.new("1", (128, 64))
    assert len(rows_for_width(image, 130)[0]) == 128  # half blocks: one column per pixel
    assert len(rows_for_width(image, 80)[0]) == 64  # quadrants: fits an 80-column terminal
    assert len(rows_for_width(image, 80)) == 32
