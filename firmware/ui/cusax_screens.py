"""What RFC 7081 adds to the screens, pure like every screen (firmware/ui/screens.py calls these).

    Call Bob?                 Cost warning            Incoming call    (bell)
    -----------------------   ----------------------  ----------------------
    [Call 1002 (video)    ]   Telephone network:         Bob \u2713
     Call bob@biloxi.test  !  may cost money               1002
     Call +1 555 0100     !   Call +1 555 0100
                              Select: call  Back: no  (a caller the vCards confirm)

    Incoming call             Conference  01:12
    ----------------------    ----------------------
         1003                       conf
    claims alice@lab.test     Audio: You, carol
        (unverified)          Chat only: bob
                              bob: slides are up

- `prompt_panel`: the chooser (several addresses, C7; "!" marks those with a cost warning) and
  the cost/federation warning (section 5), over whatever the phase shows.
- `party_lines`: the other party as the roster knows it (C10): a verified contact by name with a
  check mark, a claim that no vCard confirms as "claims <jid>" and "(unverified)", else nothing
  (the call screens show the bare number as before).
- `conference_panel`: a call linked to a group chat (section 4): who is on audio as far as the
  phone can know (itself, and occupants whose room presence says "On the phone"), who is only in
  the chat, and the room's latest message.
- `offer_hint`, `idle_line`, `idle_icons`: after a call "Select: chat with Bob"; the idle screen's
  do-not-disturb and security-parity lines (section 8) and the DND icon.
"""

from __future__ import annotations

from firmware.cusax import cost_warning
from firmware.cusax_state import Identity
from firmware.state import PhoneState
from firmware.ui.chat_screens import tel_action
from firmware.ui.chat_text import message_text
from firmware.ui.drawing import Align, IconName, Item, Rect, Text
from firmware.ui.fonts import METRICS, fit, max_chars, sanitize, wrap
from firmware.ui.layout import LARGE, SMALL, Layout, Panel, centred, hint, status_bar, uri_text

CHECK = "\u2713"
DND_LINE = "Do not disturb"
UNVERIFIED = "(unverified)"
_LINE_H = METRICS[SMALL].line_h


def _list_row(lay: Layout, row: int, text: str, selected: bool, mark: str = "") -> list[Item]:
    y = lay.list_row_y(row)
    items: list[Item] = []
    if selected:
        items.append(Rect(0, y + 1, lay.width, _LINE_H))
    right = 0
    if mark:
        items.append(Text(lay.width - 1, y, mark, inverted=selected, align=Align.RIGHT))
        right = METRICS[SMALL].char_w + 2
    items.append(Text(1, y, fit(text, lay.width - 2 - right, SMALL), inverted=selected))
    return items


def prompt_panel(state: PhoneState, lay: Layout) -> Panel | None:
    """The call prompt, or None when there is none."""
    prompt = state.cusax.prompt
    if prompt is None:
        return None
    domain = state.settings.domain
    label = state.chat.label(prompt.jid)
    if prompt.confirming:
        lines = wrap(prompt.warning, lay.width, SMALL, 3)
        body: list[Item] = [Text(1, lay.list_row_y(i), line) for i, line in enumerate(lines)]
        body += centred(lay, lay.list_row_y(len(lines)), tel_action(prompt.chosen.tel, domain))
        return Panel(
            status=status_bar(state, lay, "Cost warning"),
            body=tuple(body),
            footer=hint(lay, "Select: call  Back: no"),
        )
    rows = lay.list_rows
    top = prompt.cursor - prompt.cursor % rows
    items: list[Item] = []
    for i, candidate in enumerate(prompt.choices[top : top + rows]):
        warned = bool(cost_warning(state.settings.cusax, domain, candidate, prompt.jid))
        text = tel_action(candidate.tel, domain)
        items += _list_row(lay, i, text, top + i == prompt.cursor, "!" if warned else "")
    return Panel(status=status_bar(state, lay, f"Call {label}?"), body=tuple(items))


def party_lines(state: PhoneState, lay: Layout) -> tuple[Item, ...] | None:
    """The call's other party as the roster knows it; None: draw the number as usual."""
    call, party = state.call, state.cusax.party
    if call is None or party is None or party.call_id != call.call_id:
        return None
    if party.identity is Identity.VERIFIED:
        name = state.chat.label(party.jid)
        if len(sanitize(f"{name} {CHECK}")) <= max_chars(lay.width, LARGE):
            items: tuple[Item, ...] = centred(lay, lay.big_y, f"{name} {CHECK}", LARGE)
        else:  # small, on the big line's rows; the name cut so the check mark stays
            short = fit(name, lay.width - 2 * METRICS[SMALL].char_w, SMALL)
            items = centred(lay, lay.big_y + 5, f"{short} {CHECK}")
        return items + centred(lay, lay.row1, uri_text(call.remote))
    if party.identity is Identity.CLAIMED_UNVERIFIED:
        number = call.party.split("@", 1)[0] if not call.display_name else call.party
        verb = "claims" if party.source == "call-info" else "maybe"
        return (
            *centred(lay, lay.big_y, fit(number, lay.width, LARGE), LARGE),
            *centred(lay, lay.row1, f"{verb} {party.jid}"),
            *centred(lay, lay.row2, UNVERIFIED),
        )
    return None


def conference_panel(state: PhoneState, lay: Layout, right: str, icons: tuple[IconName, ...]) -> Panel | None:
    """A call linked to a joined group chat (RFC 7081 section 4); None otherwise."""
    room = state.chat.rooms.get(state.cusax.conference)
    if state.call is None or room is None:
        return None
    audio = ["You", *room.on_phone]
    chat_only = [n for n in room.occupants if n not in room.on_phone]
    messages = state.chat.history.get(room.jid, ())
    footer = centred(lay, lay.foot_y, message_text(messages[-1])) if messages else ()
    return Panel(
        status=status_bar(state, lay, "Conference", icons, right),
        body=(
            *centred(lay, lay.big_y, fit(room.name or room.jid, lay.width, LARGE), LARGE),
            *centred(lay, lay.row1, "Audio: " + ", ".join(audio)),
            *centred(lay, lay.row2, "Chat only: " + (", ".join(chat_only) or "nobody")),
        ),
        footer=footer,
    )


def offer_hint(state: PhoneState, lay: Layout) -> tuple[Item, ...]:
    """After a call with a verified contact or a conference: SELECT opens its chat."""
    peer = state.cusax.offer
    if not peer:
        return ()
    return hint(lay, f"Select: chat {state.chat.label(peer)}")


def idle_line(state: PhoneState) -> str:
    """The idle screen's second line when nothing more urgent is there: security parity, then DND
    (which the status bar also shows)."""
    return state.settings.cusax.security.line() or (DND_LINE if state.cusax.dnd else "")


def idle_icons(state: PhoneState) -> tuple[IconName, ...]:
    return (IconName.DND,) if state.cusax.dnd else ()
