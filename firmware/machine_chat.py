"""The chat side of the state machine (RFC 7081: roster, presence and chat over XMPP).

Pure, like firmware.machine, which merges these handlers into its one table:

- CHAT_COMMON: the XMPP events, handled the same in every phase. They change only
  `state.chat` and `state.nav` and return chat commands (SetPresence, PersistChat, the banner
  timer), so a call is never disturbed by chat: no tone, route, ringer or call command, ever.
- append_message, bounded_message: a conversation's bookkeeping, shared with the chat screens'
  keys and timers (firmware/machine_chat_nav.py: CHAT_TIMERS, chat_key, leave_idle).

Bounds (hostile servers, floods): HISTORY_PER_PEER messages per conversation, MAX_PEERS
conversations (the least recently active one is forgotten, on disk too), bodies cut to MAX_BODY
characters, JIDs longer than MAX_JID dropped; the roster has its own bounds (firmware.roster).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from firmware import commands as c
from firmware.events import (
    ChatConnectionChanged,
    ChatHistoryLoaded,
    Event,
    MessageReceived,
    PresencesChanged,
    RoomJoined,
    RosterChanged,
    RosterLoaded,
    Timer,
    VCardLoaded,
)
from firmware.frozen import FrozenMap
from firmware.multitap import commit
from firmware.roster import Roster
from firmware.state import ChatView, Nav, Phase, PhoneState, View
from firmware.transition import Handler, Result
from firmware.ui.chat_text import conversation_grid, message_lines
from firmware.xmpp.model import ChatMessage, ChatState, Show

HISTORY_PER_PEER = 50
MAX_PEERS = 200
MAX_BODY = 1000
MAX_JID = 3071  # RFC 7622: a JID is at most 3071 bytes
MAX_NICK = 128
MAX_ID = 128
MAX_ROOMS = 50
MAX_REASON = 200
MAX_UNREAD = 1_000_000
ECHO_WINDOW = 10  # a room reflects our own message: look this far back for it

OFFLINE_NOTICE = "Chat offline: not sent"


# ---------------------------------------------------------------- bounding hostile input


def bounded_message(message: ChatMessage) -> ChatMessage | None:
    """The message as the state keeps it, or None if it names no usable peer."""
    if not message.peer or len(message.peer) > MAX_JID:
        return None
    body, truncated = message.body, message.truncated
    if len(body) > MAX_BODY:
        body, truncated = body[:MAX_BODY], True
    if (
        body is message.body
        and len(message.sender) <= MAX_NICK
        and len(message.id) <= MAX_ID
        and truncated == message.truncated
    ):
        return message
    return replace(
        message, body=body, truncated=truncated, sender=message.sender[:MAX_NICK], id=message.id[:MAX_ID]
    )


# ---------------------------------------------------------------- conversations


def append_message(
    chat: ChatView, message: ChatMessage, unread: FrozenMap[str, int]
) -> tuple[ChatView, list[c.Command]]:
    """`message` added to its conversation (now the most recent one); the oldest conversations
    beyond MAX_PEERS are forgotten. Returns the commands that keep the disk in step."""
    peer = message.peer
    messages = (*chat.history.get(peer, ()), message)[-HISTORY_PER_PEER:]
    history = chat.history.moved_to_end(peer, messages)
    cmds: list[c.Command] = []
    if len(history) > MAX_PEERS:
        evicted = list(history)[: len(history) - MAX_PEERS]
        history = history.without(*evicted)
        unread = unread.without(*evicted)
        cmds += [c.PersistChat(old, ()) for old in evicted]
    cmds.append(c.PersistChat(peer, messages, unread.get(peer, 0)))
    return replace(chat, history=history, unread=unread), cmds


def _is_echo(history: Iterable[ChatMessage], message: ChatMessage) -> bool:
    return any(m.outgoing and m.body == message.body for m in list(history)[-ECHO_WINDOW:])


def _is_duplicate(history: tuple[ChatMessage, ...], message: ChatMessage) -> bool:
    """Same id, sender and body as a recent message: a room's history replayed, a carbon twice."""
    if not message.id:
        return False
    return any(m.id == message.id and m.body == message.body and m.sender == message.sender for m in history)


def home_nav(nav: Nav, keep_banner: bool = False) -> Nav:
    """Back to HOME; cursors stay (the roster reopens where it was), a draft is kept."""
    return replace(nav, view=View.HOME, entry=commit(nav.entry), banner=nav.banner if keep_banner else "")


# ---------------------------------------------------------------- XMPP events (every phase)


def _on_connection(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, ChatConnectionChanged)
    chat = replace(state.chat, state=event.state, reason=event.reason[:MAX_REASON])
    cmds: list[c.Command] = [c.Log("info", f"chat {event.state.value} {chat.reason}".strip())]
    if event.state is ChatState.ONLINE:
        cmds.append(c.SetPresence(Show.AVAILABLE))
    else:
        chat = replace(chat, roster=chat.roster.all_offline())
    nav = state.nav
    if not chat.enabled and nav.view is not View.HOME:
        nav = home_nav(nav)
    return replace(state, chat=chat, nav=nav), tuple(cmds)


def _with_roster(state: PhoneState, roster: Roster) -> PhoneState:
    return replace(state, chat=replace(state.chat, roster=roster))


def _on_roster_loaded(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, RosterLoaded)
    return _with_roster(state, state.chat.roster.loaded(event.contacts)), ()


def _on_roster_changed(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, RosterChanged)
    return _with_roster(state, state.chat.roster.changed(event.changed, event.removed)), ()


def _on_presences(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, PresencesChanged)
    return _with_roster(state, state.chat.roster.with_presences(event.updates)), ()


def _on_vcard(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, VCardLoaded)
    return _with_roster(state, state.chat.roster.with_card(event.card)), ()


def _on_room_joined(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, RoomJoined)
    rooms = state.chat.rooms
    if event.room.jid not in rooms and len(rooms) >= MAX_ROOMS:
        return state, (c.Log("warning", f"room {event.room.jid[:80]} not shown: too many rooms"),)
    return replace(state, chat=replace(state.chat, rooms=rooms.set(event.room.jid, event.room))), ()


def _viewing(state: PhoneState, peer: str) -> bool:
    """The person is looking at this conversation right now."""
    nav = state.nav
    return state.phase is Phase.IDLE and nav.view is View.CONVERSATION and nav.peer == peer


def _on_message(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, MessageReceived)
    message = bounded_message(event.message)
    if message is None:
        return state, (c.Log("warning", "chat message without a usable peer dropped"),)
    chat = state.chat
    history = chat.history.get(message.peer, ())
    if _is_duplicate(history, message):
        return state, ()
    room = chat.rooms.get(message.peer) if message.groupchat else None
    if room is not None and not message.outgoing and message.sender == room.nick:
        if _is_echo(history, message):
            return state, ()  # our own message, reflected by the room: already shown
        message = replace(message, outgoing=True)  # sent from another of our clients
    viewing = _viewing(state, message.peer)
    unread = chat.unread
    if message.outgoing:
        unread = unread.without(message.peer)  # answered from another device: read there
    elif not viewing:
        unread = unread.set(message.peer, min(MAX_UNREAD, unread.get(message.peer, 0) + 1))
    chat, cmds = append_message(chat, message, unread)
    nav = state.nav
    if viewing and nav.scroll > 0:  # keep the lines being read where they are
        cols, _ = conversation_grid(state.settings.display_size)
        nav = replace(nav, scroll=nav.scroll + len(message_lines(message, cols)))
    if not message.outgoing and not viewing and state.phase is Phase.IDLE:
        nav = replace(nav, banner=message.peer)
        cmds.append(c.StartTimer(Timer.CHAT_BANNER, state.settings.banner_s))
    return replace(state, chat=chat, nav=nav), tuple(cmds)


def _on_history_loaded(state: PhoneState, event: Event) -> Result:
    """History from disk goes before what arrived since the start (it is older)."""
    assert isinstance(event, ChatHistoryLoaded)
    history: dict[str, tuple[ChatMessage, ...]] = {}
    unread: dict[str, int] = {}
    for saved in event.chats:
        kept = [m for m in map(bounded_message, saved.messages) if m is not None and m.peer == saved.peer]
        if not kept:
            continue
        history.pop(saved.peer, None)
        history[saved.peer] = tuple(kept[-HISTORY_PER_PEER:])
        if saved.unread > 0:
            unread[saved.peer] = min(MAX_UNREAD, saved.unread)
    chat = state.chat
    for peer, messages in chat.history.items():
        history[peer] = (*history.pop(peer, ()), *messages)[-HISTORY_PER_PEER:]
    for peer, count in chat.unread.items():
        unread[peer] = min(MAX_UNREAD, unread.get(peer, 0) + count)
    cmds: list[c.Command] = [c.Log("info", f"chat history: {len(event.chats)} conversations")]
    evicted = list(history)[: max(0, len(history) - MAX_PEERS)]
    for peer in evicted:
        del history[peer]
        unread.pop(peer, None)
        cmds.append(c.PersistChat(peer, ()))
    unread = {peer: n for peer, n in unread.items() if peer in history}
    chat = replace(chat, history=FrozenMap.of_dict(history), unread=FrozenMap.of_dict(unread))
    return replace(state, chat=chat), tuple(cmds)


CHAT_COMMON: dict[type, Handler] = {
    ChatConnectionChanged: _on_connection,
    RosterLoaded: _on_roster_loaded,
    RosterChanged: _on_roster_changed,
    PresencesChanged: _on_presences,
    VCardLoaded: _on_vcard,
    MessageReceived: _on_message,
    RoomJoined: _on_room_joined,
    ChatHistoryLoaded: _on_history_loaded,
}
