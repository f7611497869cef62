"""Reading the chat state: what the chat screens show and the state machine moves over.

Shared by firmware.machine_chat_nav (keys) and firmware.ui.chat_screens (drawing), so the cursor a
key moves is the cursor the screen draws. Pure functions of the state.
"""

from __future__ import annotations

from firmware.state import ChatView, PhoneState
from firmware.xmpp.model import Tel

WRITE = "Write\u2026"


def clamp(index: int, count: int) -> int:
    return max(0, min(index, count - 1))


def roster_cursor(state: PhoneState) -> int:
    """The roster index under the cursor: the contact it was on (wherever presence moved it),
    else the same position (the contact went away)."""
    roster, nav = state.chat.roster, state.nav
    if not len(roster):
        return 0
    if nav.roster_jid:
        index = roster.index(nav.roster_jid)
        if index is not None:
            return index
    return clamp(nav.roster_pos, len(roster))


def chat_list(chat: ChatView) -> list[str]:
    """The chat list: conversations, most recently active first, then joined rooms without messages."""
    peers = list(reversed(chat.history))
    peers += [room for room in chat.rooms if room not in chat.history]
    return peers


def chats_cursor(state: PhoneState, peers: list[str]) -> int:
    nav = state.nav
    if not peers:
        return 0
    if nav.chats_peer in peers:
        return peers.index(nav.chats_peer)
    return clamp(nav.chats_pos, len(peers))


def contact_tels(state: PhoneState, jid: str) -> tuple[Tel, ...]:
    """The contact's telephone entries (its vCard's when known), one "Call" action each."""
    contact = state.chat.roster.contact(jid)
    return contact.tels if contact is not None else ()


def replies(state: PhoneState) -> tuple[str, ...]:
    """The reply choices: "Write..." first, then the canned responses from the configuration."""
    return (WRITE, *state.settings.canned_responses)
