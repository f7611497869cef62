"""Screens: pure functions from the phone state to a Drawing.

`screen(state, size)` looks the phase up in SCREENS, the one table from Phase to the
function that lays that phase out -- while the phone is idle, from the chat View on show
(firmware.ui.chat_screens) -- and adds what every screen shares: the notice bar, or the
banner of a new chat message.
No function here reads the clock, a file or a device: the time shown is `state.now`,
so the same state always gives an equal Drawing.

Layout (64 rows; widths from `size`, so 128x64 SSD1306 and 256x64 SSD1322 both work):

    rows  0-9   status bar: "Phone" and "Chat" with their state dots, or the call's title;
                icons, the call duration and unread messages on the right (firmware.ui.layout)
    row  11     rule
    rows 12-33  the big line: clock, dialled digits, the other party, the end reason
    rows 33-43  small line 1 (cell; ink starts a row lower)
    rows 43-53  small line 2
    rows 53-63  footer: a hint or the volume bar; a notice replaces it, inverted

Small text is set on a 10-row pitch: a cell's top row holds only accents on capitals,
so it may touch the descenders of the line above.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType

from firmware.events import RegState
from firmware.state import EPOCH, CallView, Phase, PhoneState, View
from firmware.ui.chat_screens import CHAT_SCREENS, banner
from firmware.ui.cusax_screens import (
    conference_panel,
    idle_icons,
    idle_line,
    offer_hint,
    party_lines,
    prompt_panel,
)
from firmware.ui.drawing import Align, Drawing, Icon, IconName, Item, Rect, Text
from firmware.ui.fonts import METRICS, fit, max_chars, sanitize, tail, wrap
from firmware.ui.geometry import Box, bbox
from firmware.ui.icons import icon_size
from firmware.ui.layout import (
    GAP,
    LARGE,
    PHONE_LABEL,
    SMALL,
    WIDE,
    Layout,
    Panel,
    Screen,
    centred,
    hint,
    status_bar,
    unread_text,
    uri_text,
)
from firmware.ui.status_screens import STATUS_SCREENS
from firmware.xmpp.model import ChatState
from hal.types import AudioPath

__all__ = ["PHONE_LABEL", "SCREENS", "Layout", "Panel", "Screen", "party_name", "screen", "uri_text"]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --- building blocks --------------------------------------------------------------------


def _route_icons(state: PhoneState) -> tuple[IconName, ...]:
    if state.route is AudioPath.SPEAKER:
        return (IconName.SPEAKER,)
    return (IconName.HANDSET,) if state.off_hook else ()


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


def _big_line(lay: Layout, text: str, y: int | None = None) -> tuple[Item, ...]:
    """`text` in the large font if it fits the width, else small on up to two lines in the same rows."""
    y = lay.big_y if y is None else y
    if 0 < len(sanitize(text)) <= max_chars(lay.width, LARGE):
        return centred(lay, y, text, LARGE)
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
        items += centred(lay, lay.row1, uri)
    return items


def _status_line(lay: Layout, text: str, icon: IconName | None = None) -> tuple[Item, ...]:
    """A centred small line on row 2, with an icon before it."""
    if icon is None:
        return centred(lay, lay.row2, text)
    icon_w = icon_size(icon)[0] + GAP + 2
    fitted = fit(text, lay.width - icon_w, SMALL)
    left = (lay.width - icon_w - len(fitted) * METRICS[SMALL].char_w) // 2
    return (Icon(left, lay.row2 + 2, icon), Text(left + icon_w, lay.row2, fitted))


def _volume_bar(lay: Layout, percent: int) -> tuple[Item, ...]:
    char_w = METRICS[SMALL].char_w
    percent = max(0, min(100, percent))
    label = f"{percent}%"
    x0 = 3 * char_w + GAP + 1
    x1 = lay.width - 4 * char_w - GAP
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


_CHAT_PROBLEMS = MappingProxyType(
    {
        ChatState.AUTH_FAILED: "Chat: wrong password",
        ChatState.TLS_FAILED: "Chat: TLS error",
        ChatState.UNREACHABLE: "Chat unreachable",
        ChatState.FAILED: "Chat failed",
    }
)


def _chat_problem(state: PhoneState) -> str:
    """What a person must know about the chat account ("" while it is fine or connecting)."""
    chat = state.chat
    text = _CHAT_PROBLEMS.get(chat.state, "")
    if chat.state is ChatState.FAILED and chat.reason:
        text += f": {chat.reason}"
    return text


def _unread_line(state: PhoneState, lay: Layout, y: int) -> tuple[Item, ...]:
    """An envelope and "2 from Alice" (one conversation) or "5 in 3 chats", centred."""
    chat = state.chat
    count = unread_text(chat.unread_total)
    peers = len(chat.unread)
    text = f"{count} from {chat.label(chat.newest_unread)}" if peers == 1 else f"{count} in {peers} chats"
    icon_w = icon_size(IconName.MESSAGE)[0] + GAP
    fitted = fit(text, lay.width - icon_w, SMALL)
    left = (lay.width - icon_w - len(fitted) * METRICS[SMALL].char_w) // 2
    return (Icon(left, y + 2, IconName.MESSAGE), Text(left + icon_w, y, fitted))


def idle_screen(state: PhoneState, lay: Layout) -> Panel:
    """The home screen: clock, the SIP account in plain words (a chat problem when SIP is fine),
    and the footer hint -- or the unread messages, which matter more."""
    date = _date(state.now) if lay.width >= WIDE and state.now != EPOCH else ""
    line1, line2 = _registration_lines(state)
    line2 = line2 or idle_line(state) or _chat_problem(state)  # idle_line: DND, security (RFC 7081)
    registered = state.registration.state is RegState.REGISTERED
    if state.cusax.offer:
        footer = offer_hint(state, lay)  # after a call: "Select: chat with Bob"
    elif state.chat.unread:
        footer = _unread_line(state, lay, lay.foot_y)
    else:
        footer = hint(lay, "Lift handset to call") if registered else ()
    return Panel(
        status=status_bar(state, lay, icons=idle_icons(state), right_text=date),
        body=(
            Text(lay.cx, lay.big_y, _clock(state.now), LARGE, align=Align.CENTER),
            *centred(lay, lay.row1, line1),
            *centred(lay, lay.row2, line2),
        ),
        footer=footer,
    )


def dialtone_screen(state: PhoneState, lay: Layout) -> Panel:
    return Panel(
        status=status_bar(state, lay, icons=_route_icons(state)),
        body=centred(lay, lay.middle_y(SMALL), "Enter number"),
        footer=hint(lay, "# to call"),
    )


def dialing_screen(state: PhoneState, lay: Layout) -> Panel:
    digits = tail(state.digits, lay.width, LARGE)
    return Panel(
        status=status_bar(state, lay, icons=_route_icons(state)),
        body=(Text(lay.cx, lay.middle_y(LARGE), digits, LARGE, align=Align.CENTER),),
        footer=hint(lay, "# to call"),
    )


def calling_screen(state: PhoneState, lay: Layout) -> Panel:
    call = state.call
    ringing = call is not None and call.ringing
    body: tuple[Item, ...] = _party(lay, call) if call is not None else _big_line(lay, state.last_dialed)
    body = party_lines(state, lay) or body  # a roster contact by name (RFC 7081 section 3.5)
    if call is not None and call.early_media:
        body += _status_line(lay, "Early media", IconName.SPEAKER)
    return Panel(
        status=status_bar(state, lay, "Ringing\u2026" if ringing else "Calling\u2026", _route_icons(state)),
        body=body,
        footer=hint(lay, "Hang up to cancel"),
    )


def ringing_screen(state: PhoneState, lay: Layout) -> Panel:
    return Panel(
        status=status_bar(state, lay, "Incoming call", (IconName.BELL,)),
        body=party_lines(state, lay) or (_party(lay, state.call) if state.call is not None else ()),
        footer=hint(lay, "Lift to answer"),
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
        return Panel(status=status_bar(state, lay, "In call", _route_icons(state)))
    held = call.local_hold or call.remote_hold
    icons = ((IconName.HOLD,) if held else ()) + _route_icons(state)
    conference = conference_panel(state, lay, _duration(call.connected_at, state.now), icons)
    if conference is not None:  # linked to a group chat (RFC 7081 section 4)
        return conference
    return Panel(
        status=status_bar(state, lay, "In call", icons, _duration(call.connected_at, state.now)),
        body=(party_lines(state, lay) or _party(lay, call)) + _media_line(lay, call),
        footer=_volume_bar(lay, state.volume),
    )


def ended_screen(state: PhoneState, lay: Layout) -> Panel:
    reason = state.ended_reason.strip() or "Call ended"
    party = party_name(state.call) if state.call is not None else state.last_dialed
    # No footer here: the reason and the party move down a little to sit in the middle.
    return Panel(
        status=status_bar(state, lay, icons=_route_icons(state)),
        body=_big_line(lay, reason, lay.big_y + 3) + centred(lay, lay.row1 + 5, party),
        footer=offer_hint(state, lay),  # "Select: chat with Bob" (RFC 7081 C10)
    )


SCREENS: Mapping[Phase | View, Screen] = MappingProxyType(
    {
        Phase.IDLE: idle_screen,  # View.HOME; the other views replace it while idle
        View.ROSTER: CHAT_SCREENS[View.ROSTER],
        View.CONTACT: CHAT_SCREENS[View.CONTACT],
        View.CHATS: CHAT_SCREENS[View.CHATS],
        View.CONVERSATION: CHAT_SCREENS[View.CONVERSATION],
        View.REPLIES: CHAT_SCREENS[View.REPLIES],
        View.COMPOSE: CHAT_SCREENS[View.COMPOSE],
        View.STATUS: STATUS_SCREENS[View.STATUS],  # provisioning, Phone and Chat (issue 4)
        View.CREDENTIALS: STATUS_SCREENS[View.CREDENTIALS],  # the provisioning server's sign-in
        Phase.DIALTONE: dialtone_screen,
        Phase.DIALING: dialing_screen,
        Phase.CALLING: calling_screen,
        Phase.RINGING: ringing_screen,
        Phase.IN_CALL: in_call_screen,
        Phase.ENDED: ended_screen,
    }
)


def screen_key(state: PhoneState) -> Phase | View:
    """The SCREENS entry for `state`: the phase, or the chat view while the phone is idle."""
    view = state.nav.view
    return view if state.phase is Phase.IDLE and view is not View.HOME else state.phase


def screen(state: PhoneState, size: tuple[int, int]) -> Drawing:
    """The Drawing for `state` on a panel of `size` (width, height) pixels."""
    lay = Layout(*size)
    panel = prompt_panel(state, lay) or SCREENS[screen_key(state)](state, lay)  # a call prompt first
    overlay, covered = _notice(lay, state.notice)
    if not overlay and state.phase is Phase.IDLE and state.nav.banner:
        overlay, covered = banner(state, lay)  # a new message, for a few seconds
    if not overlay:
        return Drawing(lay.width, lay.height, panel.status + panel.body + panel.footer)
    # The notice (or banner) replaces the footer and hides whatever else it covers (so the
    # text lines list only what can be seen).
    visible = tuple(item for item in panel.status + panel.body if not bbox(item).intersects(covered))
    return Drawing(lay.width, lay.height, visible + overlay)
