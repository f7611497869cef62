"""The status screen and the provisioning sign-in dialog (issue 4), pure like every screen.

Listed in STATUS_SCREENS and merged into firmware.ui.screens.SCREENS.

    Status                  v      Sign in                123
    ------------------------------  ------------------------------
    Provisioning: failed           deskphone provisioning
    Error: cannot reach            [User ID] 4711
     prov.example.org: refused     Password  ***o
    Profile: v42                   # letters
    Select: update now             Select: next

Status: the lines of firmware.ui.status_text, scrolled by whole lines; arrows in the status bar say
there is more above or below. Sign-in: the active field's label is inverted; the password shows
a `*` per character and only the letter being chosen (multi-tap) in clear; long values show their
end. The mode (123, abc, Abc, ABC) is on the right of the status bar, as in the compose screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from firmware.multitap import Case, Entry
from firmware.state import PhoneState, View
from firmware.ui.drawing import Align, IconName, Item, Line, Rect, Text
from firmware.ui.fonts import ELLIPSIS, METRICS, REPLACEMENT, SUPPORTED, fit
from firmware.ui.layout import GAP, SMALL, Layout, Panel, Screen, centred, hint, status_bar
from firmware.ui.status_text import status_grid, status_hint, status_lines

_CHAR_W = METRICS[SMALL].char_w
_LINE_H = METRICS[SMALL].line_h
USER_LABEL = "User ID"
PASSWORD_LABEL = "Password"  # noqa: S105 (a label)
REJECTED = "Rejected, try again"
MASK = "*"


# --- status -----------------------------------------------------------------------------


def status_screen(state: PhoneState, lay: Layout) -> Panel:
    cols, rows = status_grid(state, (lay.width, lay.height))
    lines = status_lines(state, cols)
    top = max(0, min(state.provisioning.scroll, len(lines) - rows))
    body: list[Item] = []
    for row, line in enumerate(lines[top : top + rows]):
        indent = len(line) - len(line.lstrip(" "))  # continuation lines: one column in
        if line.strip():
            body.append(Text(1 + indent * _CHAR_W, lay.list_row_y(row), line.strip()))
    icons: tuple[IconName, ...] = ()
    if top + rows < len(lines):
        icons = (IconName.MORE_DOWN,)
    if top > 0:
        icons = (IconName.MORE_UP, *icons)
    return Panel(
        status=status_bar(state, lay, "Status", icons),
        body=tuple(body),
        footer=hint(lay, status_hint(state)),
    )


# --- sign-in ----------------------------------------------------------------------------


def _cell(ch: str) -> str:
    return ch if ch in SUPPORTED else REPLACEMENT


def _cells(x: int, y: int, text: str) -> list[Item]:
    """`text` with every character in its own column (runs of spaces kept), word by word."""
    items: list[Item] = []
    col = 0
    for word in text.split(" "):
        if word:
            items.append(Text(x + col * _CHAR_W, y, "".join(map(_cell, word))))
        col += len(word) + 1
    return items


def _field(lay: Layout, row: int, label: str, entry: Entry, *, active: bool, masked: bool) -> list[Item]:
    """A label, inverted on the active field, and the value: its end when long, the pending
    multi-tap letter inverted (in clear, even in the password) or a cursor after the text."""
    y = lay.list_row_y(row)
    label_w = len(PASSWORD_LABEL) * _CHAR_W + 2
    items: list[Item] = []
    if active:
        items += [Rect(0, y + 1, label_w, _LINE_H), Text(1, y, label, inverted=True)]
    else:
        items.append(Text(1, y, label))
    x = label_w + GAP
    cols = max(2, (lay.width - x - 1) // _CHAR_W)
    text = MASK * len(entry.text) if masked else entry.text
    shown_cols = cols - 1 if active else cols  # the pending letter or the cursor takes a column
    if len(text) > shown_cols:
        text = ELLIPSIS + text[len(text) - (shown_cols - 1) :]
    items += _cells(x, y, text)
    if not active:
        return items
    cx = x + len(text) * _CHAR_W
    if entry.pending is not None:
        items.append(Rect(cx - 1, y + 1, _CHAR_W + 1, _LINE_H))
        char = _cell(entry.pending_char)
        if char != " ":
            items.append(Text(cx, y, char, inverted=True))
    else:
        items.append(Line(cx, y + 10, cx + _CHAR_W - 2, y + 10))
    return items


_NEXT_CASE = MappingProxyType({Case.LOWER: "ABC", Case.UPPER: "Abc", Case.SENTENCE: "abc"})


def _mode_hint(entry: Entry) -> str:
    """What # (and * in letter modes) switch to."""
    return "# letters" if entry.digits else f"# digits  * {_NEXT_CASE[entry.case]}"


def _message(lay: Layout, text: str, *, error: bool) -> list[Item]:
    """The top row: the server's realm, or inverted, what went wrong."""
    y = lay.list_row_y(0)
    if not error:
        return [*centred(lay, y, text)]
    return [
        Rect(0, y + 1, lay.width, _LINE_H),
        Text(lay.cx, y, fit(text, lay.width - 2, SMALL), inverted=True, align=Align.CENTER),
    ]


def sign_in_screen(state: PhoneState, lay: Layout) -> Panel:
    sign = state.provisioning.sign_in
    active = sign.password if sign.on_password else sign.user
    error = sign.message or (REJECTED if sign.rejected else "")
    body = _message(lay, error or sign.realm or "Provisioning server", error=bool(error))
    body += _field(lay, 1, USER_LABEL, sign.user, active=not sign.on_password, masked=False)
    body += _field(lay, 2, PASSWORD_LABEL, sign.password, active=sign.on_password, masked=True)
    body += _cells(1, lay.list_row_y(3), _mode_hint(active))
    return Panel(
        status=status_bar(state, lay, "Sign in", right_text=active.indicator),
        body=tuple(body),
        footer=hint(lay, "Select: sign in" if sign.on_password else "Select: next"),
    )


STATUS_SCREENS: Mapping[View, Screen] = MappingProxyType(
    {
        View.STATUS: status_screen,
        View.CREDENTIALS: sign_in_screen,
    }
)
