"""What every screen shares: the panel's layout, the status bar, centred lines and the footer hint.

Used by the call screens (firmware.ui.screens) and the chat screens (firmware.ui.chat_screens).

The status bar (RFC 7081 section 2): a CUSAX phone shows its two connections under names a
person understands, "Phone" (SIP) and "Chat" (XMPP), each with a dot for its state: filled when
connected, half while connecting, a cross on an error. "Chat" appears once an XMPP account is
configured. Unread messages show as an envelope and a count on the right, on every screen (a
call only ever gets this discreet count, never a banner).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from firmware.events import RegState
from firmware.state import PhoneState
from firmware.ui.drawing import Align, FontName, Icon, IconName, Item, Line, Text
from firmware.ui.fonts import METRICS, fit
from firmware.ui.icons import icon_size
from firmware.xmpp.model import ChatState, Show

SMALL = FontName.SMALL
LARGE = FontName.LARGE

PHONE_LABEL = "Phone"
CHAT_LABEL = "Chat"
WIDE = 192  # from this width on, the idle status bar also shows the date

GAP = 3  # between items on one row
ICON_Y = 1  # status icons are 7 rows: the status text's ascender row to its baseline
CAP_CENTRE = MappingProxyType({SMALL: 6, LARGE: 12})  # rows from the cell top to the middle of a capital

REG_ICONS = MappingProxyType(
    {
        RegState.UNCONFIGURED: IconName.UNCONFIGURED,
        RegState.REGISTERING: IconName.REGISTERING,
        RegState.REGISTERED: IconName.REGISTERED,
        RegState.AUTH_FAILED: IconName.REG_ERROR,
        RegState.UNREACHABLE: IconName.REG_ERROR,
        RegState.FAILED: IconName.REG_ERROR,
    }
)
CHAT_ICONS = MappingProxyType(
    {
        ChatState.DISABLED: IconName.UNCONFIGURED,
        ChatState.WAITING: IconName.REGISTERING,
        ChatState.CONNECTING: IconName.REGISTERING,
        ChatState.ONLINE: IconName.REGISTERED,
        ChatState.AUTH_FAILED: IconName.REG_ERROR,
        ChatState.TLS_FAILED: IconName.REG_ERROR,
        ChatState.UNREACHABLE: IconName.REG_ERROR,
        ChatState.FAILED: IconName.REG_ERROR,
    }
)
PRESENCE_ICONS = MappingProxyType(
    {
        Show.CHAT: IconName.AVAILABLE,
        Show.AVAILABLE: IconName.AVAILABLE,
        Show.AWAY: IconName.AWAY,
        Show.XA: IconName.XA,
        Show.DND: IconName.DND,
        Show.OFFLINE: IconName.OFFLINE,
    }
)
PRESENCE_WORDS = MappingProxyType(
    {
        Show.CHAT: "Free to chat",
        Show.AVAILABLE: "Available",
        Show.AWAY: "Away",
        Show.XA: "Away for long",
        Show.DND: "Do not disturb",
        Show.OFFLINE: "Offline",
    }
)


@dataclass(frozen=True, slots=True)
class Layout:
    """Where things go on a panel of this size."""

    width: int
    height: int

    status_y = -1  # fixed ASCII labels only: the accent row can go, the descenders stay clear of the rule
    rule_y = 11
    big_y = 12
    list_y = 12  # first row of a list (chat screens); rows are a small line apart

    @property
    def cx(self) -> int:
        return self.width // 2

    @property
    def foot_y(self) -> int:
        return self.height - METRICS[SMALL].cell_h

    @property
    def row2(self) -> int:
        return self.foot_y - METRICS[SMALL].line_h

    @property
    def row1(self) -> int:
        return self.row2 - METRICS[SMALL].line_h

    @property
    def list_rows(self) -> int:
        """Rows of a list between the status bar and the bottom edge (5 on a 64-row panel)."""
        return max(1, (self.height - self.list_y) // METRICS[SMALL].line_h)

    def list_row_y(self, row: int) -> int:
        return self.list_y + row * METRICS[SMALL].line_h

    def middle_y(self, font: FontName) -> int:
        """Text y that centres a line of `font` between the rule and the footer."""
        return (self.rule_y + 1 + self.foot_y) // 2 - CAP_CENTRE[font]


@dataclass(frozen=True, slots=True)
class Panel:
    """A screen before the shared parts are applied: the footer gives way to a notice."""

    status: tuple[Item, ...]
    body: tuple[Item, ...] = ()
    footer: tuple[Item, ...] = ()


Screen = Callable[[PhoneState, Layout], Panel]


def centred(lay: Layout, y: int, text: str, font: FontName = SMALL) -> tuple[Item, ...]:
    fitted = fit(text, lay.width, font)
    return (Text(lay.cx, y, fitted, font, align=Align.CENTER),) if fitted else ()


def hint(lay: Layout, text: str) -> tuple[Item, ...]:
    return centred(lay, lay.foot_y, text)


def uri_text(remote: str) -> str:
    """A SIP URI as a person reads it: no brackets, scheme, parameters or headers."""
    uri = remote.strip().strip("<>")
    scheme, colon, rest = uri.partition(":")
    if colon and scheme.lower() in ("sip", "sips", "tel"):
        uri = rest
    for sep in (";", "?", ">"):
        uri = uri.split(sep, 1)[0]
    return uri


def unread_text(count: int) -> str:
    return "99+" if count > 99 else str(count)


def _connection(x: int, icon: IconName, label: str) -> tuple[tuple[Item, ...], int]:
    """A state dot and its label at x; returns the items and the x after them."""
    w = icon_size(icon)[0]
    items = (Icon(x, ICON_Y, icon), Text(x + w + 2, Layout.status_y, label))
    return items, x + w + 2 + len(label) * METRICS[SMALL].char_w


def status_bar(
    state: PhoneState,
    lay: Layout,
    title: str | None = None,
    icons: tuple[IconName, ...] = (),
    right_text: str = "",
) -> tuple[Item, ...]:
    """Title (or "Phone" and "Chat" with their state dots) on the left; on the right the icons, then
    the text, then the unread messages."""
    items: list[Item] = []
    x = lay.width
    for name in reversed(icons):
        x -= icon_size(name)[0]
        items.append(Icon(x, ICON_Y, name))
        x -= GAP
    if right_text:
        items.append(Text(x, lay.status_y, right_text, align=Align.RIGHT))
        x -= len(right_text) * METRICS[SMALL].char_w + GAP
    unread = state.chat.unread_total
    if unread:
        count = unread_text(unread)
        items.append(Text(x, lay.status_y, count, align=Align.RIGHT))
        x -= len(count) * METRICS[SMALL].char_w + 1 + icon_size(IconName.MESSAGE)[0]
        items.append(Icon(x, ICON_Y, IconName.MESSAGE))
        x -= GAP
    if title is None:
        phone, end = _connection(0, REG_ICONS[state.registration.state], PHONE_LABEL)
        items += phone
        if state.chat.enabled:
            chat, end = _connection(end + 2 * GAP, CHAT_ICONS[state.chat.state], CHAT_LABEL)
            items += chat
    else:
        items.append(Text(0, lay.status_y, fit(title, x - GAP, SMALL)))
    items.append(Line(0, lay.rule_y, lay.width - 1, lay.rule_y))
    return tuple(items)
