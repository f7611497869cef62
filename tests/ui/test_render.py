"""The renderer: Drawing -> Frame (mode '1' bitmap + text lines), and how fast it is."""

from __future__ import annotations

import time

from firmware.ui import render, screen
from firmware.ui.drawing import Align, Drawing, FontName, Icon, IconName, Line, Rect, Text

from .cases import CASES


def test_text_lines_group_rows_and_order_left_to_right() -> None:
    drawing = Drawing(
        128,
        64,
        (
            Text(128, 0, "right", align=Align.RIGHT),
            Text(0, 0, "left"),
            Text(64, 30, "middle", FontName.LARGE, align=Align.CENTER),
            Text(0, 20, "second"),
            Text(0, 40, ""),  # empty text makes no line
        ),
    )
    assert render(drawing).text == ("left  right", "second", "middle")


def test_pixels() -> None:
    frame = render(Drawing(16, 8, (Rect(0, 0, 4, 3), Line(0, 7, 15, 7), Rect(8, 0, 4, 4, fill=False))))
    image = frame.image
    assert image.mode == "1" and image.size == (16, 8)
    assert image.getpixel((1, 1)) and image.getpixel((3, 2)) and not image.getpixel((4, 1))
    assert all(image.getpixel((x, 7)) for x in range(16))
    assert image.getpixel((8, 0)) and not image.getpixel((9, 1))  # outline only
    assert frame.text == ()


def test_inverted_text_is_dark_on_lit() -> None:
    image = render(Drawing(40, 11, (Text(1, 0, "Hi", inverted=True),))).image
    assert image.getpixel((0, 5))  # the lit margin left of the glyphs
    lit = sum(1 for x in range(40) for y in range(11) if image.getpixel((x, y)))
    assert 0 < lit < 14 * 10  # a lit box with dark glyph pixels in it


def test_icons_and_clipping() -> None:
    drawing = Drawing(
        10,
        10,
        (Icon(5, 5, IconName.SPEAKER), Text(-20, -5, "clipped"), Rect(-5, -5, 100, 2), Rect(0, 0, 0, 0)),
    )
    frame = render(drawing)
    assert frame.image.size == (10, 10)
    assert frame.image.getpixel((8, 7))


def test_render_is_fast() -> None:
    """The budget is < 1 ms per 128x64 frame on a dev machine; the assertion leaves room for slow CI."""
    drawing = screen(CASES["in_call"], (128, 64))
    render(drawing)  # warm the glyph caches, as the running phone has
    runs = 300
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        render(drawing)
        timings.append(time.perf_counter() - start)
    median = sorted(timings)[runs // 2]
    assert median < 5e-3, f"render took {median * 1e3:.3f} ms"
