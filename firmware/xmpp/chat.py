"""Incoming chat lines: flood protection, bounding and cleaning, then MessageReceived.

A contact (or a room occupant) gets a token bucket of RATE messages per second with BURST saved
up; all senders together get GLOBAL_RATE/GLOBAL_BURST. What exceeds them is dropped with a
rate-limited log line, so a flood costs neither memory nor the log. Bodies keep newlines, lose
other control characters and are cut to MAX_BODY characters (`truncated=True`, and a log line
saying how much was dropped). Right-to-left text and emoji are text: they pass unchanged.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime

from firmware.events import Event, MessageReceived
from firmware.xmpp.model import ChatMessage
from firmware.xmpp.stats import XmppStats
from firmware.xmpp.text import Buckets, Clock, DropLog, TokenBucket, clean_text

log = logging.getLogger(__name__)

MAX_BODY = 2000
MAX_ID = 64
MAX_NICK = 40
RATE, BURST = 10.0, 20.0
GLOBAL_RATE, GLOBAL_BURST = 50.0, 100.0
DELAY_NS = "urn:xmpp:delay"


def delay_stamp(stanza: ET.Element) -> datetime | None:
    """XEP-0203 <delay stamp=...>: when an offline or history message was really sent."""
    delay = stanza.find(f"{{{DELAY_NS}}}delay")
    if delay is None:
        return None
    try:
        stamp = datetime.fromisoformat(delay.get("stamp", ""))
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


class Chat:
    def __init__(
        self,
        post: Callable[[Event], None],
        stats: XmppStats,
        clock: Clock,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._post, self._stats, self._now = post, stats, now
        self._buckets = Buckets(RATE, BURST, clock)
        self._all = TokenBucket(GLOBAL_RATE, GLOBAL_BURST, clock)
        self._floods = DropLog(log, clock=clock)
        self._cuts = DropLog(log, clock=clock)

    def incoming(
        self,
        peer: str,
        body: str,
        *,
        outgoing: bool = False,
        groupchat: bool = False,
        sender: str = "",
        msg_id: str = "",
        at: datetime | None = None,
    ) -> None:
        """One chat line from the network (or a carbon copy of one we sent elsewhere)."""
        who = f"{peer}/{sender}" if groupchat else peer
        if not outgoing and not (self._buckets.take(who) and self._all.take()):
            self._stats.messages_dropped += 1
            self._floods.dropped("flood protection: message from %s dropped (over %g/s)", who, RATE)
            return
        text, cut = clean_text(body, MAX_BODY, newlines=True)
        if cut:
            self._stats.messages_truncated += 1
            self._cuts.dropped("message from %s cut to %d characters: %d dropped", who, MAX_BODY, cut)
        if not text.strip():
            return
        message = ChatMessage(
            peer=peer,
            body=text,
            at=at or self._now(),
            outgoing=outgoing,
            groupchat=groupchat,
            sender=clean_text(sender, MAX_NICK)[0],
            id=clean_text(msg_id, MAX_ID)[0],
            truncated=bool(cut),
        )
        self._stats.messages_received += 1
        self._post(MessageReceived(message))
