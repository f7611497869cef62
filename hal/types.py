"""Typed values that cross the boundary between the hardware layer and its users."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image


class Key(enum.Enum):
    """Every key a desk phone keypad can carry. Values are the names used in key maps."""

    D0 = "0"
    D1 = "1"
    D2 = "2"
    D3 = "3"
    D4 = "4"
    D5 = "5"
    D6 = "6"
    D7 = "7"
    D8 = "8"
    D9 = "9"
    STAR = "*"
    HASH = "#"
    UP = "up"
    DOWN = "down"
    LEFT = "left"
    RIGHT = "right"
    SELECT = "select"
    BACK = "back"
    SPEAKER = "speaker"
    HOLD = "hold"
    REDIAL = "redial"
    VOL_UP = "vol_up"
    VOL_DOWN = "vol_down"
    MENU = "menu"
    CONTACTS = "contacts"
    DND = "dnd"

    @property
    def dtmf(self) -> str | None:
        """The DTMF digit this key sends in a call, or None for function keys."""
        return self.value if len(self.value) == 1 else None


class AudioPath(enum.Enum):
    """Where a call's audio goes."""

    HANDSET = "handset"
    SPEAKER = "speaker"


@dataclass(frozen=True, slots=True)
class KeyPressed:
    """A debounced key press (one per press, never repeated while held)."""

    key: Key


@dataclass(frozen=True, slots=True)
class HookChanged:
    """The hook switch settled in a new position after debouncing."""

    off_hook: bool


HalEvent = KeyPressed | HookChanged


@dataclass(frozen=True, slots=True)
class Frame:
    """One display frame: the bitmap sent to the panel and the same content as text lines.

    The text lets tests and the terminal simulator read the screen without OCR.
    """

    image: Image.Image
    text: tuple[str, ...]
