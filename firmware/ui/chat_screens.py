"""The chat screens (issue 3: roster, presence and chat on the display), pure like every screen.

One function per chat View, listed in CHAT_SCREENS and merged into firmware.ui.screens.SCREENS;
plus the banner that announces a new message on the idle screens.

Lists (roster, contact actions, chat list, replies) have 5 rows of small text below the status
bar (64-row panels); the row under the cursor is inverted; a scroll bar on the right edge
appears when a list is longer than the screen. Lists page: the cursor moving past the last row
shows the next five. Drawing the roster costs O(log n) to find the cursor (firmware.roster keeps
the order sorted) plus the visible rows: 5,000 contacts draw as fast as 5.

    Contacts          3/212     Alice              (o)     Alice            ^ (o)
    ---------------------------------------------------------------------------
    (o) Alice  at lunch         (o) Away: at lunch          Are you coming to|
    (o) Bob                     alice@example.org           the meeting?     |
    ...                         [Message          ]               |Yes, on my
                                Call 1002 (work)                  |way
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from firmware.chat_select import chat_list, chats_cursor, contact_tels, replies, roster_cursor
from firmware.state import PhoneState, View
from firmware.ui.chat_text import MARGIN, conversation_grid, message_lines, message_text
from firmware.ui.drawing import Align, Icon, IconName, Item, Line, Rect, Text
from firmware.ui.fonts import METRICS, REPLACEMENT, SUPPORTED, fit
from firmware.ui.geometry import Box
from firmware.ui.icons import icon_size
from firmware.ui.layout import (
    GAP,
    PRESENCE_ICONS,
    PRESENCE_WORDS,
    SMALL,
    Layout,
    Panel,
    Screen,
    centred,
    hint,
    status_bar,
    unread_text,
    uri_text,
)
from firmware.xmpp.model import ChatState, Tel

SCROLLBAR_W = 4  # a 3-px thumb on a 1-px track, and a column of space before it
PREVIEW_CHARS = 200  # of a label, status or message joined on one row: fit() cuts the rest
_CHAR_W = METRICS[SMALL].char_w
_LINE_H = METRICS[SMALL].line_h
_ICON_W = icon_size(IconName.AVAILABLE)[0]


# --- building blocks --------------------------------------------------------------------


def _page_top(cursor: int, rows: int) -> int:
    return cursor - cursor % rows


def _row(
    lay: Layout,
    row: int,
    text: str,
    *,
    width: int,
    selected: bool = False,
    icon: IconName | None = None,
    icon_column: bool = False,
    right: str = "",
) -> list[Item]:
    """One list row: an icon (or its empty column, to line up with rows that have one), the text
    cut to fit, an optional right-aligned count."""
    y = lay.list_row_y(row)
    items: list[Item] = []
    if selected:
        items.append(Rect(0, y + 1, width, _LINE_H))
    x = 1
    if icon is not None:
        items.append(Icon(x, y + 2, icon, inverted=selected))
    if icon is not None or icon_column:
        x += _ICON_W + GAP
    right_w = 0
    if right:
        items.append(Text(width - 1, y, right, inverted=selected, align=Align.RIGHT))
        right_w = len(right) * _CHAR_W + GAP
    fitted = fit(text, width - x - right_w - 1, SMALL)
    if fitted:
        items.append(Text(x, y, fitted, inverted=selected))
    return items


def _scrollbar(lay: Layout, top: int, rows: int, count: int, first_row: int = 0) -> list[Item]:
    """A thumb on the right edge showing which part of `count` rows is on screen."""
    if count <= rows:
        return []
    y0 = lay.list_row_y(first_row) + 1
    track = lay.height - y0
    if track < 3:  # the list starts too low for a visible thumb (a contact with many details)
        return []
    # Clamped: `rows` may exceed the rows that fit below `first_row`, and `top` may be past the end.
    thumb = min(track, max(3, track * rows // count))
    y = y0 + (track - thumb) * min(max(top, 0), count - rows) // max(1, count - rows)
    x = lay.width - 1
    return [Line(x, y0, x, lay.height - 1), Rect(x - 2, y, 3, thumb)]


def _peer_icon(state: PhoneState, peer: str) -> IconName | None:
    """A contact's presence, a room's sign, nothing for a stranger."""
    if peer in state.chat.rooms:
        return IconName.ROOM
    if peer not in state.chat.roster:
        return None
    return PRESENCE_ICONS[state.chat.roster.presence(peer).show]


def _joined(*parts: str, sep: str = " \u00b7 ") -> str:
    """Parts on one row (a name and a status: "Bob \u00b7 lunch"), each bounded: a hostile 1 MB
    status costs nothing, fit() cuts the rest."""
    return sep.join(p[:PREVIEW_CHARS] for p in parts if p)


def _empty(lay: Layout, text: str) -> tuple[Item, ...]:
    return centred(lay, lay.middle_y(SMALL), text)


def _offline_text(state: PhoneState, nothing: str) -> str:
    chat = state.chat
    if chat.state is ChatState.ONLINE:
        return nothing
    if chat.state in (ChatState.CONNECTING, ChatState.WAITING):
        return "Chat connecting\u2026"
    return "Chat offline"


# --- roster -----------------------------------------------------------------------------


def roster_screen(state: PhoneState, lay: Layout) -> Panel:
    roster = state.chat.roster
    count = len(roster)
    if not count:
        return Panel(
            status=status_bar(state, lay, "Contacts"),
            body=_empty(lay, _offline_text(state, "No contacts")),
        )
    rows = lay.list_rows
    cursor = roster_cursor(state)
    top = _page_top(cursor, rows)
    width = lay.width - (SCROLLBAR_W if count > rows else 0)
    body: list[Item] = []
    for i, jid in enumerate(roster.window(top, rows)):
        presence = roster.presence(jid)
        body += _row(
            lay,
            i,
            _joined(roster.label(jid), presence.status),
            width=width,
            selected=top + i == cursor,
            icon=PRESENCE_ICONS[presence.show],
        )
    body += _scrollbar(lay, top, rows, count)
    return Panel(
        status=status_bar(state, lay, "Contacts", right_text=f"{cursor + 1}/{count}"),
        body=tuple(body),
    )


# --- one contact ------------------------------------------------------------------------


def tel_action(tel: Tel, domain: str) -> str:
    """ "Call 1002 (video, work)": RFC 7081 section 3.3, a Call option per vCard tel (the user part
    alone for an address in our own SIP domain)."""
    number = uri_text(tel.uri)[:PREVIEW_CHARS]
    user, at, host = number.partition("@")
    if at and user and host.lower() == domain.lower():
        number = user
    kinds = sorted(k for k in tel.kinds if k != "voice")
    suffix = f" ({', '.join(kinds)})" if kinds else ""
    return f"Call {number}{suffix[:PREVIEW_CHARS]}"


def contact_actions(state: PhoneState, jid: str) -> tuple[str, ...]:
    domain = state.settings.domain
    return ("Message", *(tel_action(tel, domain) for tel in contact_tels(state, jid)))


def contact_screen(state: PhoneState, lay: Layout) -> Panel:
    chat, nav = state.chat, state.nav
    jid = nav.contact
    label = chat.label(jid)
    presence = chat.roster.presence(jid)
    icon = PRESENCE_ICONS[presence.show]
    width = lay.width
    status = f": {presence.status[:PREVIEW_CHARS]}" if presence.status else ""
    info: list[tuple[str, IconName | None]] = [(PRESENCE_WORDS[presence.show] + status, icon)]
    if label != jid:
        info.append((jid, None))
    actions = contact_actions(state, jid)
    rows = max(1, lay.list_rows - len(info))
    cursor = max(0, min(nav.action, len(actions) - 1))
    top = _page_top(cursor, rows)
    if len(actions) > rows:
        width -= SCROLLBAR_W
    body: list[Item] = []
    for i, (text, info_icon) in enumerate(info):
        body += _row(lay, i, text, width=width, icon=info_icon)
    for i, action in enumerate(actions[top : top + rows]):
        body += _row(lay, len(info) + i, action, width=width, selected=top + i == cursor)
    body += _scrollbar(lay, top, rows, len(actions), first_row=len(info))
    return Panel(status=status_bar(state, lay, label, icons=(icon,)), body=tuple(body))


# --- the chat list ----------------------------------------------------------------------


def chats_screen(state: PhoneState, lay: Layout) -> Panel:
    chat = state.chat
    peers = chat_list(chat)
    status = status_bar(state, lay, "Chats")
    if not peers:
        return Panel(status=status, body=_empty(lay, "No conversations"))
    rows = lay.list_rows
    cursor = chats_cursor(state, peers)
    top = _page_top(cursor, rows)
    width = lay.width - (SCROLLBAR_W if len(peers) > rows else 0)
    body: list[Item] = []
    for i, peer in enumerate(peers[top : top + rows]):
        messages = chat.history.get(peer, ())
        preview = message_text(messages[-1]) if messages else ""
        unread = chat.unread.get(peer, 0)
        body += _row(
            lay,
            i,
            _joined(chat.label(peer), preview),
            width=width,
            selected=top + i == cursor,
            icon=_peer_icon(state, peer),
            icon_column=True,
            right=unread_text(unread) if unread else "",
        )
    body += _scrollbar(lay, top, rows, len(peers))
    return Panel(status=status, body=tuple(body))


# --- a conversation ---------------------------------------------------------------------


def conversation_screen(state: PhoneState, lay: Layout) -> Panel:
    """Messages on word-wrapped lines, newest at the bottom; incoming on the left with a bar on the
    left edge, outgoing on the right with a bar on the right edge. Scrolls by lines."""
    chat, nav = state.chat, state.nav
    peer = nav.peer
    messages = chat.history.get(peer, ())
    presence_icon = _peer_icon(state, peer)
    icons: tuple[IconName, ...] = (presence_icon,) if presence_icon is not None else ()
    if not messages:
        return Panel(
            status=status_bar(state, lay, chat.label(peer), icons),
            body=_empty(lay, "No messages yet"),
            footer=hint(lay, "Select: reply"),
        )
    cols, rows = conversation_grid((lay.width, lay.height))
    # Lines newest first, only as many as the scroll position needs: (text, outgoing, first, last).
    lines: list[tuple[str, bool, bool, bool]] = []
    need = nav.scroll + rows
    older = False  # messages left that were not even wrapped
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        wrapped = message_lines(message, cols)
        last = len(wrapped) - 1
        lines += [(wrapped[j], message.outgoing, j == 0, j == last) for j in range(last, -1, -1)]
        if len(lines) >= need:
            older = index > 0
            break
    scroll = max(0, min(nav.scroll, len(lines) - rows))
    more_above = older or scroll + rows < len(lines)
    window = lines[scroll : scroll + rows][::-1]  # top to bottom
    body: list[Item] = []
    for row, (text, outgoing, first, last) in enumerate(window):
        y = lay.list_row_y(row)
        bar_x = lay.width - 1 if outgoing else 0
        body.append(Line(bar_x, y + (3 if first else 1), bar_x, y + (8 if last else 10)))
        if text:
            if outgoing:
                body.append(Text(lay.width - MARGIN, y, text, align=Align.RIGHT))
            else:
                body.append(Text(MARGIN, y, text))
    if scroll > 0:
        icons = (IconName.MORE_DOWN, *icons)
    if more_above:
        icons = (IconName.MORE_UP, *icons)
    return Panel(status=status_bar(state, lay, chat.label(peer), icons), body=tuple(body))


# --- replying ---------------------------------------------------------------------------


def replies_screen(state: PhoneState, lay: Layout) -> Panel:
    nav = state.nav
    choices = replies(state)
    rows = lay.list_rows
    cursor = max(0, min(nav.reply, len(choices) - 1))
    top = _page_top(cursor, rows)
    width = lay.width - (SCROLLBAR_W if len(choices) > rows else 0)
    body: list[Item] = []
    for i, choice in enumerate(choices[top : top + rows]):
        body += _row(lay, i, choice, width=width, selected=top + i == cursor)
    body += _scrollbar(lay, top, rows, len(choices))
    return Panel(status=status_bar(state, lay, f"To {state.chat.label(nav.peer)}"), body=tuple(body))


def _cell(ch: str) -> str:
    return ch if ch in SUPPORTED else REPLACEMENT


def compose_screen(state: PhoneState, lay: Layout) -> Panel:
    """The text being typed, cut into lines of whole cells (every character keeps its column), the
    last lines shown; the pending multi-tap character inverted, else an underline cursor after the
    text. The case or 123 mode is on the right of the status bar."""
    nav = state.nav
    entry = nav.entry
    shown = entry.shown
    cols = max(1, (lay.width - MARGIN) // _CHAR_W)
    rows = max(1, lay.list_rows - 1)  # the footer keeps its hint
    cursor = len(shown) - 1 if entry.pending is not None else len(shown)
    total = cursor // cols + 1
    first = max(0, total - rows)
    body: list[Item] = []
    for row in range(total - first):
        line_no = first + row
        y = lay.list_row_y(row)
        chunk = entry.text[line_no * cols : (line_no + 1) * cols]  # the pending character comes below
        col = 0
        for word in chunk.split(" "):
            if word:
                body.append(Text(1 + col * _CHAR_W, y, "".join(map(_cell, word))))
            col += len(word) + 1
    x = 1 + (cursor % cols) * _CHAR_W
    y = lay.list_row_y(cursor // cols - first)
    if entry.pending is not None:
        body.append(Rect(x - 1, y + 1, _CHAR_W + 1, _LINE_H))
        char = _cell(entry.pending_char)
        if char != " ":
            body.append(Text(x, y, char, inverted=True))
    else:
        body.append(Line(x, y + 10, x + _CHAR_W - 2, y + 10))
    left = entry.limit - len(entry.text)
    mode = entry.indicator if left > 50 else f"{entry.indicator} {left}"
    return Panel(
        status=status_bar(state, lay, f"To {state.chat.label(nav.peer)}", right_text=mode),
        body=tuple(body),
        footer=hint(lay, "Select: send"),
    )


# --- the new-message banner -------------------------------------------------------------


def banner(state: PhoneState, lay: Layout) -> tuple[tuple[Item, ...], Box]:
    """An inverted bar at the bottom: an envelope, who wrote and the start of the message."""
    chat = state.chat
    peer = state.nav.banner
    messages = chat.history.get(peer, ())
    preview = message_text(messages[-1]) if messages else ""
    text = _joined(chat.label(peer) + (":" if messages else ""), preview, sep=" ")
    top = lay.foot_y + METRICS[SMALL].top_pad
    icon_w = icon_size(IconName.MESSAGE)[0]
    x = 2 + icon_w + GAP
    items: tuple[Item, ...] = (
        Rect(0, top, lay.width, lay.height - top),
        Icon(2, lay.foot_y + 2, IconName.MESSAGE, inverted=True),
        Text(x, lay.foot_y, fit(text, lay.width - x - 1, SMALL), inverted=True),
    )
    return items, Box(0, top, lay.width, lay.height)


CHAT_SCREENS: Mapping[View, Screen] = MappingProxyType(
    {
        View.ROSTER: roster_screen,
        View.CONTACT: contact_screen,
        View.CHATS: chats_screen,
        View.CONVERSATION: conversation_screen,
        View.REPLIES: replies_screen,
        View.COMPOSE: compose_screen,
    }
)
