"""Counters of the XMPP engine, for tests, benchmarks and the agent's "xmpp_stats" op."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class XmppStats:
    logins: int = 0  # sessions started (bind), resumed ones not included
    resumed: int = 0  # XEP-0198 resumptions
    connection_attempts: int = 0
    login_s: float | None = None  # last attempt: connect() -> session started (or resumed)
    roster_s: float | None = None  # last login: session started -> RosterLoaded posted
    roster_size: int = 0
    roster_events: int = 0  # RosterLoaded + RosterChanged posted
    presence_events: int = 0  # PresencesChanged posted
    presence_updates: int = 0  # contact updates inside them
    presence_stanzas: int = 0  # presence stanzas from contacts seen
    vcard4_requests: int = 0  # IQs sent
    vcard_temp_requests: int = 0
    vcard_cache_hits: int = 0  # contacts whose cached card was fresh at login: no request
    vcard_events: int = 0  # VCardLoaded posted
    pep_notifications: int = 0
    pep_duplicates: int = 0  # same notification id again (Prosody 0.12 sends each twice)
    pep_unchanged: int = 0  # a card equal to the one we had
    tels_dropped: int = 0  # tel entries over the per-card limit or unusable
    messages_received: int = 0  # MessageReceived posted
    messages_dropped: int = 0  # flood protection
    messages_truncated: int = 0
    messages_sent: int = 0
    send_refused: int = 0  # send_chat while not online, or to a bad address
    subscriptions_accepted: int = 0
    subscriptions_ignored: int = 0
    rooms_joined: int = 0
    keepalive_failures: int = 0
    states: list[str] = field(default_factory=list)  # ChatState values posted, last 32

    def as_dict(self) -> dict[str, object]:
        return asdict(self)
