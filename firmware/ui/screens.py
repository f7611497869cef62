"""Screens: pure functions from the phone state to a Drawing.

`screen(state, size)` looks the phase up in SCREENS, the one table from Phase to the
function that lays that phase out, and adds what every screen shares: the notice bar.
No function here reads the clock, a file or a device: the time shown is `state.now`,
so the same state always gives an equal Drawing.

Layout (64 rows; widths from `size`, so 128x64 SSD1306 and 256x64 SSD1322 both work):

    rows  0-9   status bar: "Phone" and its registration dot, or the call's title;
                icons and the call duration on the right
    row  11     rule
    rows 12-33  the big line: clock, dialled digits, the other party, the end reason
    rows 33-43  small line 1 (cell; ink starts a row lower)
    rows 43-53  small line 2
    rows 53-63  footer: a hint or the volume bar; a notice replaces it, inverted

Small text is set on a 10-row pitch: a cell's top row holds only accents on capitals,
so it may touch the descenders of the line above.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from firmware.events import RegState
from firmware.state import EPOCH, CallView, Phase, PhoneState
from firmware.ui.drawing import Align, Drawing, FontName, Icon, IconName, Item, Line, Rect, Text
from firmware.ui.fonts import METRICS, fit, max_chars, sanitize, tail, wrap
from firmware.ui.geometry import Box, bbox
from firmware.ui.icons import icon_size
from hal.types import AudioPath

SMALL = FontName.SMALL
LARGE = FontName.LARGE

# RFC 7081 section 2: a CUSAX client's SIP side is "Phone" (its XMPP side, "Chat", will
# get its own label and dot right of this one: keep the left half of the status bar free).
PHONE_LABEL = "Phone"
WIDE = 192  # from this width on, the idle status bar also shows the date

_GAP = 3  # between items on one row
_ICON_Y = 1  # status icons are 7 rows: the status text's ascender row to its baseline
_CAP_CENTRE = MappingProxyType({SMALL: 6, LARGE: 12})  # rows from the cell top to the middle of a capital

_REG_ICONS = MappingProxyType(
    {
        RegState.UNCONFIGURED: IconName.UNCONFIGURED,
        RegState.REGISTERING: IconName.REGISTERING,
        RegState.REGISTERED: IconName.REGISTERED,
        RegState.AUTH_FAILED: IconName.REG_ERROR,
        RegState.UNREACHABLE: IconName.REG_ERROR,
        RegState.FAILED: IconName.REG_ERROR,
    }
)
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class Layout:
    """Where things go on a panel of this size."""

    width: int
    height: int

    status_y = -1  # fixed ASCII labels only: the accent row can go, the descenders stay clear of the rule
    rule_y = 11
    big_y = 12

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

    def middle_y(self, font: FontName) -> int:
        """Text y that centres a line of `font` between the rule and the footer."""
        return (self.rule_y + 1 + self.foot_y) // 2 - _CAP_CENTRE[font]


@dataclass(frozen=True, slots=True)
class Panel:
    """A phase's screen before the shared parts are applied: the footer gives way to a notice."""

    status: tuple[Item, ...]
    body: tuple[Item, ...] = ()
    footer: tuple[Item, ...] = ()


Screen = Callable[[PhoneState, Layout], Panel]


# --- building blocks --------------------------------------------------------------------


def _centred(lay: Layout, y: int, text: str, font: FontName = SMALL) -> tuple[Item, ...]:
    fitted = fit(text, lay.width, font)
    return (Text(lay.cx, y, fitted, font, align=Align.CENTER),) if fitted else ()


def _status_bar(
    state: PhoneState,
    lay: Layout,
    title: str | None = None,
    icons: tuple[IconName, ...] = (),
    right_text: str = "",
) -> tuple[Item, ...]:
    """Title (or the "Phone" label with its registration dot) on the left; icons, then text, on the right."""
    items: list[Item] = []
    x = lay.width
    for name in reversed(icons):
        x -= icon_size(name)[0]
        items.append(Icon(x, _ICON_Y, name))
        x -= _GAP
    if right_text:
        items.append(Text(x, lay.status_y, right_text, align=Align.RIGHT))
        x -= len(right_text) * METRICS[SMALL].char_w + _GAP
    if title is None:
        dot = _REG_ICONS[state.registration.state]
        items.append(Icon(0, _ICON_Y, dot))
        items.append(Text(icon_size(dot)[0] + 2, lay.status_y, PHONE_LABEL))
    else:
        items.append(Text(0, lay.status_y, fit(title, x - _GAP, SMALL)))
    items.append(Line(0, lay.rule_y, lay.width - 1, lay.rule_y))
    return tuple(items)


def _route_icons(state: PhoneState) -> tuple[IconName, ...]:
    if state.route is AudioPath.SPEAKER:
        return (IconName.SPEAKER,)
    return (IconName.HANDSET,) if state.off_hook else ()


def _hint(lay: Layout, text: str) -> tuple[Item, ...]:
    return _centred(lay, lay.foot_y, text)


def _clock(now: datetime) -> str:
    """HH:MM of `now` in its own timezone; dashes until the clock has been set."""
    return "--:--" if now == EPOCH else f"{now.hour:02d}:{now.minute:02d}"


def _date(now: datetime) -> str:
    return f"{_DAYS[now.weekday()]} {now.day} {_MONTHS[now.month - 1]}"


def _duration(start: datetime | None, now: datetime) -> str:
    if start is None or (start.tzinfo is None) != (now.tzinfo is None):
        return "00:00"
    seconds = max(0, int((now - start).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


def uri_text(remote: str) -> str:
    """A SIP URI as a person reads it: no brackets, scheme, parameters or headers."""
    uri = remote.strip().strip("<>")
    scheme, colon, rest = uri.partition(":")
    if colon and scheme.lower() in ("sip", "sips", "tel"):
        uri = rest
    for sep in (";", "?", ">"):
        uri = uri.split(sep, 1)[0]
    return uri


def _big_line(lay: Layout, text: str, y: int | None = None) -> tuple[Item, ...]:
    """`text` in the large font if it fits the width, else small on up to two lines in the same rows."""
    y = lay.big_y if y is None else y
    if 0 < len(sanitize(text)) <= max_chars(lay.width, LARGE):
        return _centred(lay, y, text, LARGE)
    small = METRICS[SMALL]
    lines = wrap(text, lay.width, SMALL, 2)
    top = y + (METRICS[LARGE].cell_h - small.cell_h - small.line_h * (len(lines) - 1)) // 2
    return tuple(
        Text(lay.cx, top + i * small.line_h, line, SMALL, align=Align.CENTER) for i, line in enumerate(lines)
    )


def party_name(call: CallView) -> str:
    """The display name, else the user part of the URI (the host when it has no user part)."""
    party = call.party
    if not call.display_name and "@" in party:
        return party.split("@", 1)[0] or party
    return party


def _party(lay: Layout, call: CallView) -> tuple[Item, ...]:
    """The other party big, and below it the URI when it says something more."""
    name = party_name(call)
    items = _big_line(lay, name)
    uri = uri_text(call.remote)
    if uri and uri != name:
        items += _centred(lay, lay.row1, uri)
    return items


def _status_line(lay: Layout, text: str, icon: IconName | None = None) -> tuple[Item, ...]:
    """A centred small line on row 2, with an icon before it."""
    if icon is None:
        return _centred(lay, lay.row2, text)
    icon_w = icon_size(icon)[0] + _GAP + 2
    fitted = fit(text, lay.width - icon_w, SMALL)
    left = (lay.width - icon_w - len(fitted) * METRICS[SMALL].char_w) // 2
    return (Icon(left, lay.row2 + 2, icon), Text(left + icon_w, lay.row2, fitted))


def _volume_bar(lay: Layout, percent: int) -> tuple[Item, ...]:
    char_w = METRICS[SMALL].char_w
    percent = max(0, min(100, percent))
    label = f"{percent}%"
    x0 = 3 * char_w + _GAP + 1
    x1 = lay.width - 4 * char_w - _GAP
    y = lay.foot_y + 3
    inner = (x1 - x0 - 2) * percent // 100
    items: list[Item] = [Text(0, lay.foot_y, "Vol"), Rect(x0, y, x1 - x0, 6, fill=False)]
    if inner > 0:
        items.append(Rect(x0 + 1, y + 1, inner, 4))
    items.append(Text(lay.width, lay.foot_y, label, align=Align.RIGHT))
    return tuple(items)


def _notice(lay: Layout, notice: str) -> tuple[tuple[Item, ...], Box]:
    """The notice inverted across the bottom (one line, or two if it needs them) and the area it covers."""
    lines = wrap(notice, lay.width - 4, SMALL, 2)
    if not lines:
        return (), Box(0, 0, 0, 0)
    first_y = lay.foot_y - METRICS[SMALL].line_h * (len(lines) - 1)
    top = first_y + METRICS[SMALL].top_pad
    items: list[Item] = [Rect(0, top, lay.width, lay.height - top)]
    items += [
        Text(lay.cx, first_y + i * METRICS[SMALL].line_h, line, inverted=True, align=Align.CENTER)
        for i, line in enumerate(lines)
    ]
    return tuple(items), Box(0, top, lay.width, lay.height)


# --- one function per phase -------------------------------------------------------------

_REG_LINES = MappingProxyType(
    {
        RegState.UNCONFIGURED: ("Not configured", ""),
        RegState.AUTH_FAILED: ("Wrong password", "Check user & password"),
        RegState.UNREACHABLE: ("Registrar unreachable", "Retrying\u2026"),
    }
)


def _registration_lines(state: PhoneState) -> tuple[str, str]:
    """What a person must know about the SIP account, in plain words."""
    reg = state.registration
    if reg.state is RegState.REGISTERED:
        return state.settings.domain, ""
    if reg.state is RegState.REGISTERING:
        return "Connecting\u2026", state.settings.domain
    if reg.state is RegState.FAILED:
        return f"Not registered ({reg.code})" if reg.code else "Not registered", reg.reason or "Unknown error"
    return _REG_LINES[reg.state]


def idle_screen(state: PhoneState, lay: Layout) -> Panel:
    date = _date(state.now) if lay.width >= WIDE and state.now != EPOCH else ""
    line1, line2 = _registration_lines(state)
    registered = state.registration.state is RegState.REGISTERED
    return Panel(
        status=_status_bar(state, lay, right_text=date),
        body=(
            Text(lay.cx, lay.big_y, _clock(state.now), LARGE, align=Align.CENTER),
            *_centred(lay, lay.row1, line1),
            *_centred(lay, lay.row2, line2),
        ),
        footer=_hint(lay, "Lift handset to call") if registered else (),
    )


def dialtone_screen(state: PhoneState, lay: Layout) -> Panel:
    return Panel(
        status=_status_bar(state, lay, icons=_route_icons(state)),
        body=_centred(lay, lay.middle_y(SMALL), "Enter number"),
        footer=_hint(lay, "# to call"),
    )


def dialing_screen(state: PhoneState, lay: Layout) -> Panel:
    digits = tail(state.digits, lay.width, LARGE)
    return Panel(
        status=_status_bar(state, lay, icons=_route_icons(state)),
        body=(Text(lay.cx, lay.middle_y(LARGE), digits, LARGE, align=Align.CENTER),),
        footer=_hint(lay, "# to call"),
    )


def calling_screen(state: PhoneState, lay: Layout) -> Panel:
    call = state.call
    ringing = call is not None and call.ringing
    body: tuple[Item, ...] = _party(lay, call) if call is not None else _big_line(lay, state.last_dialed)
    if call is not None and call.early_media:
        body += _status_line(lay, "Early media", IconName.SPEAKER)
    return Panel(
        status=_status_bar(state, lay, "Ringing\u2026" if ringing else "Calling\u2026", _route_icons(state)),
        body=body,
        footer=_hint(lay, "Hang up to cancel"),
    )


def ringing_screen(state: PhoneState, lay: Layout) -> Panel:
    return Panel(
        status=_status_bar(state, lay, "Incoming call", (IconName.BELL,)),
        body=_party(lay, state.call) if state.call is not None else (),
        footer=_hint(lay, "Lift to answer"),
    )


def _media_line(lay: Layout, call: CallView) -> tuple[Item, ...]:
    if call.local_hold and call.remote_hold:
        return _status_line(lay, "On hold (both sides)", IconName.HOLD)
    if call.local_hold:
        return _status_line(lay, "On hold", IconName.HOLD)
    if call.remote_hold:
        return _status_line(lay, "Held by other party", IconName.HOLD)
    if not call.media_active:
        return _status_line(lay, "No audio", IconName.NO_AUDIO)
    return ()


def in_call_screen(state: PhoneState, lay: Layout) -> Panel:
    call = state.call
    if call is None:
        return Panel(status=_status_bar(state, lay, "In call", _route_icons(state)))
    held = call.local_hold or call.remote_hold
    icons = ((IconName.HOLD,) if held else ()) + _route_icons(state)
    return Panel(
        status=_status_bar(state, lay, "In call", icons, _duration(call.connected_at, state.now)),
        body=_party(lay, call) + _media_line(lay, call),
        footer=_volume_bar(lay, state.volume),
    )


def ended_screen(state: PhoneState, lay: Layout) -> Panel:
    reason = state.ended_reason.strip() or "Call ended"
    party = party_name(state.call) if state.call is not None else state.last_dialed
    # No footer here: the reason and the party move down a little to sit in the middle.
    return Panel(
        status=_status_bar(state, lay, icons=_route_icons(state)),
        body=_big_line(lay, reason, lay.big_y + 3) + _centred(lay, lay.row1 + 5, party),
    )


SCREENS: Mapping[Phase, Screen] = MappingProxyType(
    {
        Phase.IDLE: idle_screen,
        Phase.DIALTONE: dialtone_screen,
        Phase.DIALING: dialing_screen,
        Phase.CALLING: calling_screen,
        Phase.RINGING: ringing_screen,
        Phase.IN_CALL: in_call_screen,
        Phase.ENDED: ended_screen,
    }
)


def screen(state: PhoneState, size: tuple[int, int]) -> Drawing:
    """The Drawing for `state` on a panel of `size` (width, height) pixels."""
    lay = Layout(*size)
    panel = SCREENS[state.phase](state, lay)
    notice, covered = _notice(lay, state.notice)
    if not notice:
        return Drawing(lay.width, lay.height, panel.status + panel.body + panel.footer)
    # The notice replaces the footer and hides whatever else it covers (so the text lines
    # list only what can be seen).
    visible = tuple(item for item in panel.status + panel.body if not bbox(item).intersects(covered))
    return Drawing(lay.width, lay.height, visible + notice)
