"""Immutable drawing primitives: what a screen looks like, as plain values.

Screens (firmware.ui.screens) build a `Drawing` from the phone state; the renderer
(firmware.ui.render) turns it into pixels. Keeping the two apart makes screens pure
functions that tests can compare with `==`, and lets the renderer stay the only place
that touches Pillow.

Coordinates are pixels, origin top-left. Everything is drawn "lit" (1) on a dark (0)
panel, except inverted text, which is dark glyphs on a lit box.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypeAlias


class FontName(enum.Enum):
    SMALL = "small"  # 6 x 11 px cell (Pillow's built-in bitmap font)
    LARGE = "large"  # the same font scaled 2x: 12 x 22 px cell


class Align(enum.Enum):
    """How a Text's x is read: its left edge, its centre or its right edge."""

    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


class IconName(enum.Enum):
    REGISTERED = "registered"  # filled dot: the SIP account is registered
    REGISTERING = "registering"  # half-filled dot: registration in progress
    REG_ERROR = "reg_error"  # cross: registration failed
    UNCONFIGURED = "unconfigured"  # hollow dot with a dash: no account configured
    HANDSET = "handset"  # audio on the handset
    SPEAKER = "speaker"  # hands-free
    HOLD = "hold"  # pause bars
    BELL = "bell"  # incoming call
    NO_AUDIO = "no_audio"  # speaker with a cross: no media flowing
    MESSAGE = "message"  # envelope: unread chat messages
    AVAILABLE = "available"  # presence: available or free for chat (filled dot)
    AWAY = "away"  # presence: away (clock)
    XA = "xa"  # presence: extended away (crescent)
    DND = "dnd"  # presence: do not disturb (no-entry sign)
    OFFLINE = "offline"  # presence: offline (hollow dot)
    MORE_UP = "more_up"  # more lines above
    MORE_DOWN = "more_down"  # more lines below
    ROOM = "room"  # a group chat


@dataclass(frozen=True, slots=True)
class Text:
    """One line of text. `y` is the top of the font cell; `x` is read according to `align`.

    The string should already be fitted (firmware.ui.fonts.fit); the renderer only
    sanitises it. Inverted text is drawn dark on a lit box covering the glyphs.
    """

    x: int
    y: int
    text: str
    font: FontName = FontName.SMALL
    inverted: bool = False
    align: Align = Align.LEFT


@dataclass(frozen=True, slots=True)
class Rect:
    """A lit rectangle, filled or outlined, `w` x `h` pixels with its top-left at (x, y)."""

    x: int
    y: int
    w: int
    h: int
    fill: bool = True


@dataclass(frozen=True, slots=True)
class Line:
    """A lit 1-pixel line between two points (both included)."""

    x0: int
    y0: int
    x1: int
    y1: int


@dataclass(frozen=True, slots=True)
class Icon:
    """A small hand-drawn bitmap (firmware.ui.icons) with its top-left at (x, y).

    Inverted icons are drawn dark, for use on a lit box (a selected row, a banner)."""

    x: int
    y: int
    name: IconName
    inverted: bool = False


Item: TypeAlias = Text | Rect | Line | Icon


@dataclass(frozen=True, slots=True)
class Drawing:
    """A whole screen: its size and the items drawn in order (later items on top)."""

    width: int
    height: int
    items: tuple[Item, ...] = ()

    @property
    def texts(self) -> tuple[Text, ...]:
        return tuple(item for item in self.items if isinstance(item, Text))

    @property
    def icons(self) -> tuple[IconName, ...]:
        return tuple(item.name for item in self.items if isinstance(item, Icon))
