"""An interactive terminal front-end for the simulated board: see the screen, type on the keypad.

The frame is drawn with Unicode half blocks (two pixel rows per text row) inside a border, with a
status line below. Plain ANSI escapes only (no curses), so it works over ssh and in any emulator.
The terminal is put in raw mode while attached: keys arrive one by one, Ctrl-C arrives as a byte
(we quit cleanly instead of getting a KeyboardInterrupt), and output lines need "\r\n".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
import tty
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from PIL import Image

from hal.backends.sim import SimBoard
from hal.errors import HalError
from hal.types import AudioPath, Frame, Key

_ESC = b"\x1b"
_CTRL_C = b"\x03"

KEY_BYTES: dict[bytes, Key] = {
    **{str(d).encode(): Key(str(d)) for d in range(10)},
    b"*": Key.STAR,
    b"#": Key.HASH,
    b"\r": Key.SELECT,
    b"\n": Key.SELECT,
    b"\x7f": Key.BACK,  # what most terminals send for Backspace
    b"\x08": Key.BACK,  # ... and what the others send
    b"s": Key.SPEAKER,
    b"h": Key.HOLD,
    b"r": Key.REDIAL,
    b"+": Key.VOL_UP,
    b"-": Key.VOL_DOWN,
    b"d": Key.DND,
    b"m": Key.MENU,
    b"c": Key.CONTACTS,
}

# Normal ("ESC [") and application ("ESC O") cursor-key modes.
ARROWS: dict[bytes, Key] = {
    prefix + final: key
    for prefix in (b"\x1b[", b"\x1bO")
    for final, key in ((b"A", Key.UP), (b"B", Key.DOWN), (b"C", Key.RIGHT), (b"D", Key.LEFT))
}

HOOK_TOGGLE = b" "
QUIT = frozenset({b"q", _CTRL_C})

HELP = "0-9 * #  arrows  Enter=select  Bksp=back  s=speaker h=hold r=redial +/- vol d=dnd m=menu c=contacts"
HELP2 = "SPACE=lift/hang up  q=quit"

# (top pixel on, bottom pixel on) -> character
_HALF_BLOCKS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def _split_tokens(data: bytes) -> list[bytes]:
    """Cut raw terminal input into single keys and whole escape sequences."""
    tokens: list[bytes] = []
    i = 0
    while i < len(data):
        end = i + 1
        if data[i : i + 1] == _ESC and data[i + 1 : i + 2] in (b"[", b"O"):
            # A control sequence runs to its final byte (0x40-0x7E): skip unknown ones whole.
            end = i + 2
            while end < len(data) and not 0x40 <= data[end] <= 0x7E:
                end += 1
            end = min(end + 1, len(data))
        tokens.append(data[i:end])
        i = end
    return tokens


def half_block_rows(image: Image.Image) -> list[str]:
    """The image as text rows, each character showing two vertically stacked pixels."""
    mono = image.convert("1")
    width, height = mono.size
    pixels = mono.load()
    assert pixels is not None

    def on(x: int, y: int) -> bool:
        return y < height and bool(pixels[x, y])

    return ["".join(_HALF_BLOCKS[on(x, y), on(x, y + 1)] for x in range(width)) for y in range(0, height, 2)]


# Quadrant block for (top-left, top-right, bottom-left, bottom-right) pixels: 2x2 pixels per cell,
# so a 128x64 panel fits an 80-column terminal.
_QUADRANTS = " ▘▝▀▖▌▞▛▗▚▐▜▄▙▟█"


def quadrant_rows(image: Image.Image) -> list[str]:
    """The image as text rows, each character showing a 2x2 block of pixels."""
    mono = image.convert("1")
    width, height = mono.size
    pixels = mono.load()
    assert pixels is not None

    def on(x: int, y: int) -> int:
        return int(x < width and y < height and bool(pixels[x, y]))

    return [
        "".join(
            _QUADRANTS[on(x, y) | on(x + 1, y) << 1 | on(x, y + 1) << 2 | on(x + 1, y + 1) << 3]
            for x in range(0, width, 2)
        )
        for y in range(0, height, 2)
    ]


def rows_for_width(image: Image.Image, columns: int) -> list[str]:
    """Half blocks (1 pixel per column) when the terminal is wide enough, else quadrants."""
    if columns >= image.size[0] + 2:
        return half_block_rows(image)
    return quadrant_rows(image)


class TerminalConsole:
    """Draws a SimBoard in a terminal and turns keystrokes into key presses and hook moves."""

    def __init__(
        self,
        board: SimBoard,
        out: TextIO,
        on_quit: Callable[[], None],
        actions: Mapping[bytes, tuple[str, Callable[[], None]]] | None = None,
    ) -> None:
        """`actions`: extra demo keys, e.g. b"i": ("incoming call", callback); listed under the help."""
        self._board = board
        self._out = out
        self._on_quit = on_quit
        self._actions = dict(actions or {})
        self.message = ""  # shown under the status line (e.g. a key this keypad does not have)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fd: int | None = None
        self._saved_tty: list[Any] | None = None

    # -- input -------------------------------------------------------------------------------------

    def handle_input(self, data: bytes) -> None:
        """Act on raw bytes read from the terminal, then redraw if attached."""
        for token in _split_tokens(data):
            if token in QUIT:
                self._on_quit()
                return
            self._dispatch(token)
        if self._loop is not None:
            self.redraw()

    def _dispatch(self, token: bytes) -> None:
        if token in self._actions:
            label, action = self._actions[token]
            self.message = label
            action()
            return
        if token == HOOK_TOGGLE:
            self.message = ""
            if self._board.hook.is_off_hook():
                self._board.hang_up()
            else:
                self._board.lift()
            return
        key = KEY_BYTES.get(token) or ARROWS.get(token)
        if key is None:
            return
        try:
            self._board.press(key)
            self.message = ""
        except HalError as exc:
            self.message = str(exc)

    # -- output ------------------------------------------------------------------------------------

    def status(self) -> str:
        board = self._board
        hook = "OFF-HOOK" if board.hook.is_off_hook() else "on-hook"
        ringer = "RINGING" if board.is_ringing() else "off"
        handset, speaker = board.volume(AudioPath.HANDSET), board.volume(AudioPath.SPEAKER)
        return (
            f"hook: {hook}  ringer: {ringer}  route: {board.route().value}  "
            f"volume: handset {handset}% speaker {speaker}%"
        )

    def render(self) -> str:
        """The whole screen as one string of text and ANSI escapes (cursor home, clear to end)."""
        rows = rows_for_width(self._board.display.image(), self._columns())
        width = len(rows[0]) if rows else 0
        lines = ["┌" + "─" * width + "┐", *("│" + row + "│" for row in rows), "└" + "─" * width + "┘"]
        # The screen's text too: small fonts are hard to read at 2x2 pixels per character.
        text = " | ".join(self._board.screen_text())
        lines += [f"screen: {text}"[: max(width + 2, 80)], self.status(), HELP, HELP2]
        if self._actions:
            lines.append(
                "demo: " + "  ".join(f"{k.decode()} {label}" for k, (label, _) in self._actions.items())
            )
        if self.message:
            lines.append(self.message)
        # Raw mode: "\n" does not return the carriage. "\x1b[K" wipes what a longer line left.
        return "\x1b[H" + "".join(line + "\x1b[K\r\n" for line in lines) + "\x1b[J"

    def _columns(self) -> int:
        try:
            return os.get_terminal_size(self._out.fileno()).columns
        except (OSError, ValueError, AttributeError):
            return 80  # not a terminal (tests, pipes): the compact rendering

    def redraw(self) -> None:
        self._out.write(self.render())
        self._out.flush()

    def _on_frame(self, _frame: Frame) -> None:
        self.redraw()

    # -- terminal ----------------------------------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop, fd: int) -> None:
        """Read keys from `fd` on `loop` (raw mode if it is a tty) and redraw on every frame."""
        if self._loop is not None:
            return
        if os.isatty(fd):
            self._saved_tty = termios.tcgetattr(fd)
            tty.setraw(fd)
        self._loop, self._fd = loop, fd
        loop.add_reader(fd, self._on_readable)
        self._board.on_frame.append(self._on_frame)
        self._out.write("\x1b[?25l\x1b[2J")  # hide the cursor, clear once
        self.redraw()

    def detach(self) -> None:
        """Stop reading, restore the terminal mode and the cursor. Idempotent."""
        loop, fd, self._loop, self._fd = self._loop, self._fd, None, None
        if loop is None or fd is None:
            return
        loop.remove_reader(fd)
        with contextlib.suppress(ValueError):
            self._board.on_frame.remove(self._on_frame)
        if self._saved_tty is not None:
            termios.tcsetattr(fd, termios.TCSADRAIN, self._saved_tty)
            self._saved_tty = None
        self._out.write("\x1b[?25h\r\n")
        self._out.flush()

    def _on_readable(self) -> None:
        assert self._fd is not None
        try:
            data = os.read(self._fd, 1024)
        except BlockingIOError:
            return
        except OSError:
            data = b""  # the terminal went away (pty closed): same as end of input
        if not data:
            # EOF stays readable forever: stop watching it, or on_quit would be called in a loop.
            if self._loop is not None:
                self._loop.remove_reader(self._fd)
            self._on_quit()
            return
        self.handle_input(data)
