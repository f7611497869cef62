"""Deterministic bitmap fonts and text fitting.

Only Pillow's built-in bitmap font (`ImageFont.load_default_imagefont()`, Courier Bold
8 embedded in Pillow itself) is used: no TrueType, no system fonts, so every machine
draws the same pixels and the golden images in tests/ui/golden stay valid.

SMALL is that font as is: every glyph is 6 px wide in an 11 px cell (cap height rows
3-8, ascenders from row 2, descenders to row 10, accents on capitals in rows 0-1).
LARGE is the same rendering scaled 2x with NEAREST: 12 x 22 px.

The font covers printable Latin-1 (U+0020-U+007E, U+00A1-U+00FF). Two more glyphs are
drawn here: '…' (the ellipsis used for truncation) and U+FFFD, a small box that stands
for any character the font lacks. `sanitize` maps any string onto that repertoire;
`fit`, `tail` and `wrap` cut it to a pixel width.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from PIL import Image, ImageDraw, ImageFont

from firmware.ui.drawing import FontName

ELLIPSIS = "\u2026"
REPLACEMENT = "\ufffd"


@dataclass(frozen=True, slots=True)
class Metrics:
    char_w: int  # every glyph has this advance (the font is monospaced)
    cell_h: int  # height of the glyph cell; Text.y is its top
    top_pad: int  # rows at the top of the cell used only by accents on capitals

    @property
    def line_h(self) -> int:
        """Rows that hold ink for ASCII text (ascender to descender): the tightest line pitch."""
        return self.cell_h - self.top_pad


METRICS = MappingProxyType(
    {
        FontName.SMALL: Metrics(char_w=6, cell_h=11, top_pad=1),
        FontName.LARGE: Metrics(char_w=12, cell_h=22, top_pad=2),
    }
)

_SCALE = MappingProxyType({FontName.SMALL: 1, FontName.LARGE: 2})

# Glyphs drawn here rather than taken from the font (6 x 11, '#' lit).
_CUSTOM_GLYPHS = MappingProxyType(
    {
        ELLIPSIS: ("......",) * 7 + ("#.#.#.", "#.#.#.") + ("......",) * 2,
        REPLACEMENT: ("......",) * 3 + ("#####.",) + ("#...#.",) * 4 + ("#####.",) + ("......",) * 2,
        "\u2713": ("......",) * 2
        + (".....#", "....##", "....#.", "#..##.", "##.#..", ".###..", "..#...")
        + ("......",) * 2,  # check mark: a caller the vCards confirm (RFC 7081 section 3.5)
    }
)

_FONT_CHARS = frozenset(chr(c) for c in (*range(0x20, 0x7F), *range(0xA1, 0x100))) - {"\u00ad"}
SUPPORTED = _FONT_CHARS | frozenset(_CUSTOM_GLYPHS)

# Typographic characters people paste into names, mapped to what the font has.
_SUBSTITUTES = MappingProxyType(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": ",",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2022": "\u00b7",
        "\u20ac": "EUR",
    }
)
_WHITESPACE = frozenset(
    "\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\u00a0\u1680\u2028\u2029\u202f\u205f\u3000"
) | frozenset(chr(c) for c in range(0x2000, 0x200B))
# Invisible modifiers of the previous character (emoji skin tones, tag characters).
_DROP = frozenset(chr(c) for c in (*range(0x1F3FB, 0x1F400), *range(0xE0000, 0xE0080)))
_SANITIZE_CACHE_MAX_LEN = 256


def _sanitize_char(ch: str) -> str:
    if ch in SUPPORTED:
        return ch
    if ch in _WHITESPACE:
        return " "
    if ch in _SUBSTITUTES:
        return _SUBSTITUTES[ch]
    category = unicodedata.category(ch)
    # Format characters (bidi controls, zero-width joiners, soft hyphen), combining marks,
    # variation selectors and emoji modifiers only change how a neighbour looks: drop them.
    if ch in _DROP or category in ("Cf", "Mn", "Me"):
        return ""
    if category[0] != "C":  # a letter or symbol the font may carry without its decoration
        base = "".join(
            c for c in unicodedata.normalize("NFKD", ch) if unicodedata.category(c) not in ("Mn", "Me")
        )
        if base and all(c in _FONT_CHARS for c in base):
            return base
    return REPLACEMENT  # control characters, RTL scripts, CJK, emoji, lone surrogates...


def _sanitize(text: str) -> str:
    out = "".join(_sanitize_char(ch) for ch in unicodedata.normalize("NFC", text))
    return " ".join(out.split())  # only ' ' is left as whitespace: collapse runs, strip the ends


_sanitize_cached = lru_cache(maxsize=4096)(_sanitize)


def sanitize(text: str) -> str:
    """Map `text` onto the glyphs the font has: one line, nothing invisible, nothing missing.

    Whitespace (tabs, newlines...) becomes one space and the ends are stripped; bidi
    controls, zero-width characters and combining marks are dropped; accented letters
    the font lacks lose their accent (ř -> r); anything else it cannot draw (control
    characters, emoji, Hebrew, Arabic, CJK...) becomes REPLACEMENT, drawn as a box.
    Right-to-left text is therefore never reordered: it is shown as boxes.
    """
    if len(text) <= _SANITIZE_CACHE_MAX_LEN:
        return _sanitize_cached(text)
    return _sanitize(text)


def max_chars(width_px: int, font: FontName) -> int:
    return max(0, width_px // METRICS[font].char_w)


def _bounded(text: str, limit: int, from_end: bool = False) -> tuple[str, bool]:
    """Sanitise at most `limit` characters of a possibly huge string; True if some were cut."""
    if len(text) <= limit:
        return sanitize(text), False
    return sanitize(text[-limit:] if from_end else text[:limit]), True


def fit(text: str, width_px: int, font: FontName) -> str:
    """`text` sanitised and, if wider than `width_px`, cut with a trailing '…'."""
    n = max_chars(width_px, font)
    if n == 0:
        return ""
    s, cut = _bounded(text, 4 * n + 64)
    if len(s) <= n and not cut:
        return s
    return s[: n - 1].rstrip() + ELLIPSIS


def tail(text: str, width_px: int, font: FontName) -> str:
    """Like fit, but keeps the end: a long dialled number shows its last digits after '…'."""
    n = max_chars(width_px, font)
    if n == 0:
        return ""
    s, cut = _bounded(text, 4 * n + 64, from_end=True)
    if len(s) <= n and not cut:
        return s
    return ELLIPSIS + s[len(s) - (n - 1) :].lstrip() if n > 1 else ELLIPSIS


def wrap(text: str, width_px: int, font: FontName, max_lines: int) -> tuple[str, ...]:
    """Word-wrap `text` into at most `max_lines` lines of `width_px`; the last one ends in '…' if cut."""
    n = max_chars(width_px, font)
    if n == 0 or max_lines <= 0:
        return ()
    s, cut = _bounded(text, max_lines * (4 * n + 64))
    lines: list[str] = []
    rest = s
    while rest:
        if len(lines) == max_lines - 1:  # the last line takes what is left
            lines.append(rest if len(rest) <= n and not cut else rest[: n - 1].rstrip() + ELLIPSIS)
            break
        if len(rest) <= n:
            lines.append(rest)
            break
        space = rest.rfind(" ", 0, n + 1)
        if space <= 0:  # one word longer than the line: break it
            lines.append(rest[:n])
            rest = rest[n:].lstrip()
        else:
            lines.append(rest[:space].rstrip())
            rest = rest[space + 1 :].lstrip()
    if cut and lines and not lines[-1].endswith(ELLIPSIS):
        lines[-1] = lines[-1][: n - 1].rstrip() + ELLIPSIS
    return tuple(lines)


# --- glyph rendering (used by the renderer only) ---------------------------------------


@lru_cache(maxsize=1)
def _pil_font() -> ImageFont.ImageFont:
    return ImageFont.load_default_imagefont()


@lru_cache(maxsize=len(_CUSTOM_GLYPHS))
def _custom_glyph(ch: str) -> Image.Image:
    rows = _CUSTOM_GLYPHS[ch]
    glyph = Image.new("1", (len(rows[0]), len(rows)), 0)
    glyph.putdata([255 if c == "#" else 0 for row in rows for c in row])
    return glyph


@lru_cache(maxsize=1024)
def text_bitmap(text: str, font: FontName) -> Image.Image:
    """A mode '1' mask of `text` (sanitised) in `font`: lit where the glyphs are.

    Cached: screens repeat the same strings frame after frame. Callers must not modify it.
    """
    s = sanitize(text)
    small = METRICS[FontName.SMALL]
    image = Image.new("1", (max(1, len(s) * small.char_w), small.cell_h), 0)
    draw = ImageDraw.Draw(image)
    run_start = 0
    for i, ch in enumerate((*s, "")):
        if ch in _CUSTOM_GLYPHS or ch == "":
            if i > run_start:
                draw.text((run_start * small.char_w, 0), s[run_start:i], font=_pil_font(), fill=255)
            if ch:
                image.paste(_custom_glyph(ch), (i * small.char_w, 0))
            run_start = i + 1
    scale = _SCALE[font]
    if scale != 1:
        image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    return image
