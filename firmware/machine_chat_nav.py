"""The chat screens' navigation (RFC 7081's roster and chat on a desk phone's keypad), pure like
firmware.machine, which merges these into its tables:

- CHAT_TIMERS: the multi-tap pause, the banner and the chat screens' inactivity timeout.
- chat_key: keys while the phone is idle on-hook and a chat screen is up (or a chat key is
  pressed on the home screen). It returns None for keys the chat screens do not use, which then
  keep their idle meaning (digits pre-dial, SPEAKER, REDIAL, volume...).
- leave_idle: any call (lifting the handset, an incoming call, pre-dialling) takes the display
  over; the chat screens return to HOME, as a desk phone's menus do. A draft being composed is
  kept and comes back when "Write..." is chosen again for the same contact.

The XMPP events and the conversations' bounds are in firmware/machine_chat.py.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import replace

from firmware import commands as c
from firmware.chat_select import chat_list, chats_cursor, clamp, contact_tels, replies, roster_cursor
from firmware.cusax import tel_target
from firmware.events import (
    Event,
    Timer,
)
from firmware.machine_chat import MAX_BODY, OFFLINE_NOTICE, append_message, home_nav
from firmware.multitap import LETTER_KEYS, TEXT_KEYS, Entry, commit, press
from firmware.roster import Roster
from firmware.state import Nav, Phase, PhoneState, View
from firmware.transition import Handler, Result
from firmware.ui.chat_text import max_scroll
from firmware.xmpp.model import ChatMessage, ChatState
from hal.types import Key

PAGE = 5  # lines or rows moved by * and # (and LEFT/RIGHT)
Dial = Callable[[PhoneState, str], Result]


# ---------------------------------------------------------------- timers


def _on_multitap_pause(state: PhoneState, event: Event) -> Result:
    nav = state.nav
    if nav.view is not View.COMPOSE or nav.entry.pending is None:
        return state, ()
    return replace(state, nav=replace(nav, entry=commit(nav.entry))), ()


def _on_banner_timeout(state: PhoneState, event: Event) -> Result:
    if not state.nav.banner:
        return state, ()
    return replace(state, nav=replace(state.nav, banner="")), ()


def _on_chat_idle(state: PhoneState, event: Event) -> Result:
    if state.nav.view is View.HOME:
        return state, ()
    return replace(state, nav=home_nav(state.nav, keep_banner=True)), ()


CHAT_TIMERS: dict[tuple[Phase, Timer], Handler] = {
    (Phase.IDLE, Timer.MULTITAP): _on_multitap_pause,
    **{(phase, Timer.CHAT_BANNER): _on_banner_timeout for phase in Phase},
    **{(phase, Timer.CHAT_IDLE): _on_chat_idle for phase in Phase},
}


# ---------------------------------------------------------------- leaving the idle phase


def leave_idle(state: PhoneState) -> PhoneState:
    """A call takes the display over: the chat screens go back to HOME, the banner goes."""
    nav = state.nav
    if nav.view is View.HOME and not nav.banner:
        return state
    return replace(state, nav=home_nav(nav))


# ---------------------------------------------------------------- keys (IDLE phase only)


def _go(state: PhoneState, nav: Nav, *extra: c.Command) -> Result:
    """Show `nav`; the inactivity timeout runs while a chat screen is up."""
    old = state.nav
    if old.view is View.COMPOSE and nav.view is not View.COMPOSE:
        nav = replace(nav, entry=commit(nav.entry))
    cmds: list[c.Command] = list(extra)
    if old.entry.pending is not None and nav.entry.pending is None:
        cmds.append(c.CancelTimer(Timer.MULTITAP))
    if nav.view is View.HOME:
        if old.view is not View.HOME:
            cmds.append(c.CancelTimer(Timer.CHAT_IDLE))
    else:
        cmds.append(c.StartTimer(Timer.CHAT_IDLE, state.settings.chat_idle_s))
    return replace(state, nav=nav), tuple(cmds)


def _wrap(index: int, delta: int, count: int) -> int:
    return (index + delta) % count if count else 0


_STEPS = {Key.UP: -1, Key.DOWN: 1, Key.STAR: -PAGE, Key.LEFT: -PAGE, Key.HASH: PAGE, Key.RIGHT: PAGE}


def _step_of(key: Key) -> int | None:
    """How far a navigation key moves a cursor: +-1 wraps around, +-PAGE stops at the ends."""
    return _STEPS.get(key)


def _move(index: int, key: Key, count: int) -> int:
    delta = _step_of(key)
    assert delta is not None
    return _wrap(index, delta, count) if abs(delta) == 1 else clamp(index + delta, count)


def _open_roster(state: PhoneState) -> Result:
    return _go(state, replace(state.nav, view=View.ROSTER))


def _open_chats(state: PhoneState) -> Result:
    return _go(state, replace(state.nav, view=View.CHATS))


def _open_conversation(state: PhoneState, peer: str, came_from: View) -> Result:
    """Show a conversation at its newest message; its messages are read now."""
    chat = state.chat
    extra: list[c.Command] = []
    if peer in chat.unread:
        chat = replace(chat, unread=chat.unread.without(peer))
        extra.append(c.PersistChat(peer, chat.history.get(peer, ()), 0))
    nav = replace(
        state.nav,
        view=View.CONVERSATION,
        peer=peer,
        came_from=came_from,
        scroll=0,
        banner="" if state.nav.banner == peer else state.nav.banner,
    )
    return _go(replace(state, chat=chat), nav, *extra)


open_conversation = _open_conversation  # after a call, SELECT opens the contact's chat (machine_cusax)


def _home_key(state: PhoneState, key: Key, dial: Dial) -> Result | None:
    if key in (Key.CONTACTS, Key.UP, Key.DOWN):
        return _open_roster(state)
    if key is Key.SELECT:
        newest = state.chat.newest_unread
        return _open_conversation(state, newest, View.HOME) if newest else _open_roster(state)
    if key is Key.MENU:
        return _open_chats(state)
    if key is Key.BACK and state.nav.banner:
        return replace(state, nav=replace(state.nav, banner="")), ()
    return None


def _initial(folded_label: str) -> str:
    """The letter a label is filed under: its first character without accents ('\u00c9mile' -> 'e')."""
    return unicodedata.normalize("NFKD", folded_label[:1])[:1]


def _jump(roster: Roster, start: int, letters: str) -> int:
    """The next contact after `start` whose label begins with one of `letters` (wrapping): the
    keypad's letters find a name in a long roster, as on a phone's directory."""
    order = roster.order()
    count = len(order)
    for offset in range(1, count + 1):
        i = (start + offset) % count
        if _initial(order[i][1]) in letters:
            return i
    return start


def _roster_key(state: PhoneState, key: Key, dial: Dial) -> Result | None:
    roster, nav = state.chat.roster, state.nav
    index = roster_cursor(state)
    if _step_of(key) is not None or key in LETTER_KEYS:
        if not len(roster):
            return _go(state, nav)
        if key in LETTER_KEYS:
            index = _jump(roster, index, LETTER_KEYS[key])
        else:
            index = _move(index, key, len(roster))
        return _go(state, replace(nav, roster_jid=roster.at(index), roster_pos=index))
    if key is Key.SELECT:
        if not len(roster):
            return _go(state, nav)
        jid = roster.at(index)
        contact = replace(nav, view=View.CONTACT, contact=jid, action=0, roster_jid=jid, roster_pos=index)
        return _go(state, contact)
    if key in (Key.BACK, Key.CONTACTS):
        return _go(state, replace(nav, view=View.HOME))
    if key is Key.MENU:
        return _open_chats(state)
    return None


def _contact_key(state: PhoneState, key: Key, dial: Dial) -> Result | None:
    nav = state.nav
    tels = contact_tels(state, nav.contact)
    count = 1 + len(tels)  # "Message", then a "Call" per tel
    action = clamp(nav.action, count)
    if _step_of(key) is not None:
        return _go(state, replace(nav, action=_move(action, key, count)))
    if key is Key.SELECT:
        if action == 0:
            return _open_conversation(state, nav.contact, View.CONTACT)
        return dial(state, tel_target(tels[action - 1].uri, state.settings.domain))
    if key is Key.BACK:
        return _go(state, replace(nav, view=View.ROSTER))
    return _common_nav_key(state, key)


def _chats_key(state: PhoneState, key: Key, dial: Dial) -> Result | None:
    nav = state.nav
    peers = chat_list(state.chat)
    index = chats_cursor(state, peers)
    if _step_of(key) is not None:
        if not peers:
            return _go(state, nav)
        index = _move(index, key, len(peers))
        return _go(state, replace(nav, chats_peer=peers[index], chats_pos=index))
    if key is Key.SELECT:
        if not peers:
            return _go(state, nav)
        peer = peers[index]
        chosen = replace(state, nav=replace(nav, chats_peer=peer, chats_pos=index))
        return _open_conversation(chosen, peer, View.CHATS)
    if key in (Key.BACK, Key.MENU):
        return _go(state, replace(nav, view=View.HOME))
    if key is Key.CONTACTS:
        return _open_roster(state)
    return None


def _conversation_key(state: PhoneState, key: Key, dial: Dial) -> Result | None:
    nav = state.nav
    delta = _step_of(key)
    if delta is not None:
        top = max_scroll(state.chat.history.get(nav.peer, ()), state.settings.display_size)
        scroll = max(0, min(top, nav.scroll - delta))  # UP (-1) scrolls back, towards older lines
        return _go(state, replace(nav, scroll=scroll))
    if key is Key.SELECT:
        return _go(state, replace(nav, view=View.REPLIES, reply=0))
    if key is Key.BACK:
        return _go(state, replace(nav, view=nav.came_from))
    return _common_nav_key(state, key)


def _replies_key(state: PhoneState, key: Key, dial: Dial) -> Result | None:
    nav = state.nav
    choices = replies(state)
    index = clamp(nav.reply, len(choices))
    if _step_of(key) is not None:
        return _go(state, replace(nav, reply=_move(index, key, len(choices))))
    if key is Key.SELECT:
        if index == 0:
            entry = nav.entry if nav.draft_peer == nav.peer else Entry()
            return _go(state, replace(nav, view=View.COMPOSE, entry=entry, draft_peer=nav.peer))
        return _send(state, choices[index])
    if key is Key.BACK:
        return _go(state, replace(nav, view=View.CONVERSATION))
    return _common_nav_key(state, key)


def _compose_key(state: PhoneState, key: Key, dial: Dial) -> Result | None:
    nav = state.nav
    entry = nav.entry
    if key is Key.SELECT:
        return _send(state, commit(entry).text)
    if key is Key.BACK and not entry.shown:
        return _go(state, replace(nav, view=View.CONVERSATION, entry=Entry(), draft_peer=""))
    if key in TEXT_KEYS:
        new = press(entry, key)
        timer: tuple[c.Command, ...] = ()
        if new.pending is not None and (new.pending is not entry.pending or new.index != entry.index):
            timer = (c.StartTimer(Timer.MULTITAP, state.settings.multitap_s),)
        return _go(state, replace(nav, entry=new), *timer)
    if key in (Key.UP, Key.DOWN, Key.LEFT, Key.RIGHT):
        return _go(state, nav)
    return _common_nav_key(state, key)


def _common_nav_key(state: PhoneState, key: Key) -> Result | None:
    """MENU and CONTACTS reach the chat list and the roster from any chat screen."""
    if key is Key.MENU:
        return _open_chats(state)
    if key is Key.CONTACTS:
        return _open_roster(state)
    return None


def _send(state: PhoneState, text: str) -> Result:
    """Send `text` to the open conversation (from COMPOSE: the text typed; from REPLIES: a canned
    response, which leaves a draft alone). Offline, nothing is sent and the text stays."""
    chat = state.chat
    nav = replace(state.nav, entry=commit(state.nav.entry))
    body = text.rstrip()[:MAX_BODY]
    if not body.strip():
        return _go(state, nav, c.Log("debug", "nothing to send"))
    if chat.state is not ChatState.ONLINE:
        notice = replace(state, notice=OFFLINE_NOTICE)
        return _go(notice, nav, c.StartTimer(Timer.NOTICE, state.settings.notice_s))
    room = chat.rooms.get(nav.peer)
    message = ChatMessage(
        peer=nav.peer,
        body=body,
        at=state.now,
        outgoing=True,
        groupchat=room is not None,
        sender=room.nick if room is not None else "",
    )
    chat, cmds = append_message(chat, message, chat.unread.without(nav.peer))
    sent = replace(nav, view=View.CONVERSATION, scroll=0)
    if nav.view is View.COMPOSE:
        sent = replace(sent, entry=Entry(), draft_peer="")
    return _go(replace(state, chat=chat), sent, c.SendChat(nav.peer, body, room is not None), *cmds)


VIEW_KEYS: dict[View, Callable[[PhoneState, Key, Dial], Result | None]] = {
    View.HOME: _home_key,
    View.ROSTER: _roster_key,
    View.CONTACT: _contact_key,
    View.CHATS: _chats_key,
    View.CONVERSATION: _conversation_key,
    View.REPLIES: _replies_key,
    View.COMPOSE: _compose_key,
}


def chat_key(state: PhoneState, key: Key, dial: Dial) -> Result | None:
    """A key while idle on-hook: the chat screens' meaning, or None to let the idle phone handle it."""
    if not state.chat.enabled:
        if state.nav.view is View.HOME:
            return None
        return _go(state, home_nav(state.nav))
    return VIEW_KEYS[state.nav.view](state, key, dial)
