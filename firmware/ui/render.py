"""Turn a Drawing into a display Frame: a mode '1' bitmap plus the same content as text lines.

Drawing uses PIL's ImageDraw on a mode '1' image, which is what luma's canvas does; the
Raspberry Pi display backend hands `Frame.image` to luma unchanged.
"""

from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageDraw

from firmware.ui.drawing import Drawing, Icon, IconName, Line, Rect, Text
from firmware.ui.fonts import sanitize, text_bitmap
from firmware.ui.geometry import text_box, text_left
from firmware.ui.icons import ICONS
from hal.types import Frame

_LIT = 255  # mode "1" stores lit pixels as 255 (what luma draws with fill="white")
_DARK = 0


@lru_cache(maxsize=len(IconName))
def _icon_bitmap(name: IconName) -> Image.Image:
    rows = ICONS[name]
    bitmap = Image.new("1", (len(rows[0]), len(rows)), _DARK)
    bitmap.putdata([_LIT if c == "#" else _DARK for row in rows for c in row])
    return bitmap


def _draw_text(draw: ImageDraw.ImageDraw, item: Text) -> None:
    if item.inverted:
        box = text_box(item)
        draw.rectangle((box.x0, box.y0, box.x1 - 1, box.y1 - 1), fill=_LIT)
    draw.bitmap(
        (text_left(item), item.y), text_bitmap(item.text, item.font), fill=_DARK if item.inverted else _LIT
    )


def text_lines(drawing: Drawing) -> tuple[str, ...]:
    """The Text items as lines: one per distinct y, top to bottom.

    Items on one row are ordered left to right and joined by two spaces.
    """
    rows: dict[int, list[tuple[int, str]]] = {}
    for item in drawing.items:
        if isinstance(item, Text):
            s = sanitize(item.text)
            if s:
                rows.setdefault(item.y, []).append((text_left(item), s))
    return tuple("  ".join(s for _, s in sorted(rows[y])) for y in sorted(rows))


def render(drawing: Drawing) -> Frame:
    """Rasterise `drawing`. Items are drawn in order; anything outside the panel is clipped."""
    image = Image.new("1", (drawing.width, drawing.height), _DARK)
    draw = ImageDraw.Draw(image)
    for item in drawing.items:
        if isinstance(item, Text):
            _draw_text(draw, item)
        elif isinstance(item, Rect):
            if item.w > 0 and item.h > 0:
                xy = (item.x, item.y, item.x + item.w - 1, item.y + item.h - 1)
                draw.rectangle(xy, fill=_LIT if item.fill else None, outline=_LIT)
        elif isinstance(item, Line):
            draw.line((item.x0, item.y0, item.x1, item.y1), fill=_LIT, width=1)
        elif isinstance(item, Icon):
            draw.bitmap((item.x, item.y), _icon_bitmap(item.name), fill=_DARK if item.inverted else _LIT)
    return Frame(image=image, text=text_lines(drawing))
