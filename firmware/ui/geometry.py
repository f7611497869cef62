"""Where drawing items land: bounding boxes shared by the screens (layout) and the renderer."""

from __future__ import annotations

from typing import NamedTuple

from firmware.ui.drawing import Align, Icon, Item, Line, Rect, Text
from firmware.ui.fonts import METRICS, sanitize
from firmware.ui.icons import icon_size


class Box(NamedTuple):
    """x0, y0 inclusive; x1, y1 exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    def intersects(self, other: Box) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def inside(self, width: int, height: int) -> bool:
        return 0 <= self.x0 <= self.x1 <= width and 0 <= self.y0 <= self.y1 <= height


def text_left(item: Text) -> int:
    """The x of the first glyph column, whatever the alignment."""
    width = len(sanitize(item.text)) * METRICS[item.font].char_w
    if item.align is Align.CENTER:
        return item.x - width // 2
    if item.align is Align.RIGHT:
        return item.x - width
    return item.x


def text_box(item: Text) -> Box:
    """Where the glyphs can put ink: the cell without its top rows, which hold only accents on
    capitals (a line may overlap them); for inverted text, plus the 1 px lit margin left and right.
    """
    m = METRICS[item.font]
    x0 = text_left(item)
    x1 = x0 + len(sanitize(item.text)) * m.char_w
    if item.inverted:
        return Box(x0 - 1, item.y + m.top_pad, x1 + 1, item.y + m.cell_h)
    return Box(x0, item.y + m.top_pad, x1, item.y + m.cell_h)


def bbox(item: Item) -> Box:
    if isinstance(item, Text):
        return text_box(item)
    if isinstance(item, Rect):
        return Box(item.x, item.y, item.x + item.w, item.y + item.h)
    if isinstance(item, Line):
        return Box(
            min(item.x0, item.x1), min(item.y0, item.y1), max(item.x0, item.x1) + 1, max(item.y0, item.y1) + 1
        )
    assert isinstance(item, Icon)
    w, h = icon_size(item.name)
    return Box(item.x, item.y, item.x + w, item.y + h)
