"""The chat engine when the XMPP account must not run (RFC 7081 section 8, security_parity = "require").

XMPP is the less protected leg (e.g. plaintext while SIP is TLS with a verified certificate): the
phone does not connect at all, and the idle screen says why (firmware/cusax.py `Security`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from firmware.events import ChatConnectionChanged, Event
from firmware.xmpp.model import ChatState, Show

log = logging.getLogger(__name__)


class RefusedChat:
    """Satisfies firmware.app.ChatEngine without connecting."""

    def __init__(self, post: Callable[[Event], None], reason: str) -> None:
        self.post, self.reason = post, reason
        self.state = ChatState.FAILED

    def start(self) -> None:
        log.warning("XMPP not started: %s (cusax.security_parity = require)", self.reason)
        self.post(ChatConnectionChanged(ChatState.FAILED, self.reason))

    async def stop(self) -> None:
        return None

    def send_chat(self, peer: str, body: str, groupchat: bool = False) -> bool:
        return False

    def set_presence(self, show: Show, status: str = "") -> None:
        return None

    def join_room(self, room: str) -> None:
        return None
