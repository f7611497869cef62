"""Text sanitising and fitting: what the bitmap font can show, cut to the pixels available."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.ui.drawing import FontName
from firmware.ui.fonts import (
    ELLIPSIS,
    METRICS,
    REPLACEMENT,
    SUPPORTED,
    fit,
    sanitize,
    tail,
    text_bitmap,
    wrap,
)

SMALL = FontName.SMALL
LARGE = FontName.LARGE


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Alice", "Alice"),
        ("Zoë Müller-Lüdenscheidt", "Zoë Müller-Lüdenscheidt"),  # Latin-1: kept
        ("Dvořák", "Dvorák"),  # ř is not Latin-1: loses the caron
        ("\uff26\uff55\uff4c\uff4c", "Full"),  # compatibility forms
        ("a\tb\nc\r\nd", "a b c d"),  # whitespace controls: one space
        ("  lots   of   space  ", "lots of space"),
        ("bell\x07", "bell" + REPLACEMENT),
        ("esc\x1b[31m", "esc" + REPLACEMENT + "[31m"),
        ("\u202eevil\u202c", "evil"),  # bidi overrides dropped, never applied
        ("\u05e9\u05dc\u05d5\u05dd", REPLACEMENT * 4),  # Hebrew: no glyphs
        ("hi \U0001f44b\U0001f3fd", "hi " + REPLACEMENT),  # emoji + skin tone: one box
        ("\u2764\ufe0f", REPLACEMENT),  # variation selector dropped
        ("\U0001f468\u200d\U0001f469", REPLACEMENT * 2),  # ZWJ dropped
        ("soft\u00adhyphen", "softhyphen"),
        ("it\u2019s \u201cok\u201d \u2013 fine", 'it\'s "ok" - fine'),
        ("nbsp\u00a0here", "nbsp here"),
        ("\ud800", REPLACEMENT),
        ("wait\u2026", "wait\u2026"),
    ],
)
def test_sanitize(raw: str, shown: str) -> None:
    assert sanitize(raw) == shown


@given(st.text())
def test_sanitize_only_leaves_drawable_glyphs(text: str) -> None:
    assert set(sanitize(text)) <= SUPPORTED


def test_fit_cuts_with_ellipsis() -> None:
    assert fit("Short", 128, SMALL) == "Short"
    assert fit("Registrar unreachable", 126, SMALL) == "Registrar unreachable"  # exactly 21 x 6 px
    assert fit("Registrar unreachable!", 126, SMALL) == "Registrar unreachabl" + ELLIPSIS
    assert fit("Maximilian Alexander", 128, LARGE) == "Maximilia" + ELLIPSIS
    assert fit("ab cd", 24, SMALL) == "ab" + ELLIPSIS  # no space before the ellipsis
    assert fit("anything", 5, SMALL) == ""
    assert fit("x" * 100_000, 128, SMALL) == "x" * 20 + ELLIPSIS


def test_fit_marks_a_cut_even_when_the_rest_is_invisible() -> None:
    assert fit("ab" + "\u200b" * 100_000 + "c", 128, SMALL) == "ab" + ELLIPSIS


@given(st.text(max_size=400), st.integers(0, 300), st.sampled_from(FontName))
def test_fit_never_exceeds_width(text: str, width: int, font: FontName) -> None:
    fitted = fit(text, width, font)
    assert len(fitted) * METRICS[font].char_w <= width
    assert set(fitted) <= SUPPORTED


def test_tail_keeps_the_end() -> None:
    assert tail("1002", 120, LARGE) == "1002"
    assert tail("0049301234567890", 120, LARGE) == ELLIPSIS + "234567890"
    assert tail("1" * 100_000 + "2", 24, SMALL) == ELLIPSIS + "112"


def test_wrap() -> None:
    assert wrap("Service Unavailable (503)", 128, SMALL, 2) == ("Service Unavailable", "(503)")
    assert wrap("Audio device error: USB headset disconnected", 124, SMALL, 2) == (
        "Audio device error:",
        "USB headset disconn" + ELLIPSIS,
    )
    assert wrap("x" * 30, 60, SMALL, 3) == ("x" * 10, "x" * 10, "x" * 10)
    assert wrap("", 128, SMALL, 2) == ()
    assert wrap("word", 0, SMALL, 2) == ()


@given(st.text(max_size=400), st.integers(0, 300), st.integers(0, 4))
def test_wrap_fits(text: str, width: int, lines: int) -> None:
    wrapped = wrap(text, width, SMALL, lines)
    assert len(wrapped) <= lines
    assert all(len(line) * 6 <= width for line in wrapped)


def test_bitmaps_are_deterministic_sizes() -> None:
    small = text_bitmap("Hello" + ELLIPSIS + REPLACEMENT, SMALL)
    large = text_bitmap("Hello", LARGE)
    assert small.mode == "1" and small.size == (7 * 6, 11)
    assert large.size == (5 * 12, 22)
    # the large font is the small one scaled 2x, pixel for pixel
    assert text_bitmap("Hello", SMALL).resize((60, 22)).tobytes() == large.tobytes()


def test_custom_glyphs_are_drawn() -> None:
    ellipsis = text_bitmap(ELLIPSIS, SMALL)
    box = text_bitmap(REPLACEMENT, SMALL)
    assert ellipsis.getbbox() is not None and box.getbbox() is not None
    assert ellipsis.tobytes() != box.tobytes()
