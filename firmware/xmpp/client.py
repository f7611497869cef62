"""The XMPP engine: roster, presence, vCards and chat for the phone, over slixmpp.

Like the SIP engine it is built with its configuration and a `post` callback for events, runs on
the phone's single asyncio loop, and has a symmetric `start()` / `async stop()`.

Connection: one slixmpp ClientXMPP for the engine's life (XEP-0198 resumption needs its state),
connected by the engine itself, one attempt at a time, each bounded by `login_timeout_s` (slixmpp
waits forever on several failures). slixmpp's own reconnection is never used: a failed attempt
waits `Backoff` (0.5 s doubling to 4 s, the SIP engine's policy), a refused login AUTH_RETRY_S.
TLS is direct or STARTTLS as configured, verified against `ca_file` or the system store, with
SCRAM only; plaintext only when the config says both `tls = "plaintext"` and `allow_plaintext`.
A dead link is noticed by the TCP close (a killed server) or by a keepalive ping (XEP-0199) that
gets no answer within KEEPALIVE_TIMEOUT_S.

Events posted (firmware/events.py): ChatConnectionChanged, RosterLoaded, RosterChanged,
PresencesChanged (coalesced), VCardLoaded, MessageReceived, RoomJoined. `send_chat` does not
echo the message back as an event (the phone knows what it sent); carbon copies of messages sent
by our other clients arrive as MessageReceived(outgoing=True), and a room echoes ours with our nick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.jid import JID
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from firmware.backoff import Backoff
from firmware.config import Xmpp
from firmware.events import ChatConnectionChanged, Event
from firmware.xmpp import features, stanzas
from firmware.xmpp.model import ChatState, Show
from firmware.xmpp.session import IQ_TIMEOUT_S, Session, bare_jid
from firmware.xmpp.stats import XmppStats
from firmware.xmpp.text import Clock, clean_text
from firmware.xmpp.transport import PacedClient
from firmware.xmpp.vcards import START_DELAY_S

log = logging.getLogger(__name__)

AUTH_RETRY_S = 60.0  # wrong credentials: retry slowly (a server's brute-force guard must not lock us out)
KEEPALIVE_S = 20.0
KEEPALIVE_TIMEOUT_S = 10.0
SAVE_EVERY_S = 5.0
MAX_OUT_BODY = 2000
SCRAM = frozenset(f"SCRAM-SHA-{n}{plus}" for n in ("1", "256", "512") for plus in ("", "-PLUS"))


@dataclass(frozen=True, slots=True)
class Outcome:
    state: ChatState
    reason: str = ""


def _failure(err: object) -> Outcome:
    """What a failed TCP/TLS connect means for a person (short: it is shown on the phone)."""
    if isinstance(err, ssl.SSLCertVerificationError):
        return Outcome(ChatState.TLS_FAILED, f"certificate not trusted: {err.verify_message}")
    if isinstance(err, ssl.SSLError):
        return Outcome(ChatState.TLS_FAILED, f"TLS handshake failed: {err.reason or err}")
    if isinstance(err, ConnectionRefusedError):
        return Outcome(ChatState.UNREACHABLE, "connection refused")
    if isinstance(err, TimeoutError):
        return Outcome(ChatState.UNREACHABLE, "connection timed out")
    if isinstance(err, OSError):
        return Outcome(ChatState.UNREACHABLE, err.strerror or str(err))
    return Outcome(ChatState.UNREACHABLE, str(err)[:80])  # slixmpp reports DNS failures as text


class XmppEngine:
    def __init__(
        self,
        config: Xmpp,
        post: Callable[[Event], None],
        *,
        cache_dir: Path,
        clock: Clock = time.monotonic,
        sip_aor: str | None = None,
        backoff: Backoff | None = None,
        keepalive_s: float = KEEPALIVE_S,
        keepalive_timeout_s: float = KEEPALIVE_TIMEOUT_S,
        vcard_start_delay: float = START_DELAY_S,
        extensions: Sequence[Callable[[Any], None]] = (),
    ) -> None:
        self._config, self.post = config, post
        self._extensions = tuple(extensions)  # run on each new slixmpp client (ad-hoc commands...)
        self._bare = bare_jid(config.jid) or config.jid.lower()
        self._domain = self._bare.partition("@")[2]
        self._sip_aor = sip_aor
        # A vCard number "1002" and a caller sip:1002@<SIP domain> are the same party.
        sip_domain = sip_aor.partition("@")[2].partition(";")[0].partition(":")[0] if sip_aor else ""
        self.stats = XmppStats()
        self._backoff = backoff or Backoff()
        self._keepalive_s, self._keepalive_timeout_s = keepalive_s, keepalive_timeout_s
        self.session = Session(
            self._bare, post, self.stats, lambda: self.client,
            cache_path=cache_dir / "vcards.json", clock=clock,
            default_domain=sip_domain or None, vcard_start_delay=vcard_start_delay,
        )  # fmt: skip
        self._caps_ver = features.caps_ver()
        self._show, self._status = Show.AVAILABLE, ""
        self.client: PacedClient | None = None
        self.state = ChatState.DISABLED
        self._last_post: tuple[ChatState, str] | None = None
        self._task: asyncio.Task[None] | None = None
        self._saver: asyncio.Task[None] | None = None
        self._session_tasks: set[asyncio.Task[None]] = set()
        self._waiter: asyncio.Future[Outcome] | None = None
        self._disconnects = 0
        self._online_gen = -1
        self._stream_error = ""
        self._session_t0 = 0.0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Schedule the login on the running loop (returns at once). Call from the loop."""
        loop = asyncio.get_running_loop()
        if self.client is not None:
            return  # already started
        loaded = self.session.cache.load()
        log.info("XMPP %s: %d cached vCards", self._bare, loaded)
        self.client = self._build_client()
        for extend in self._extensions:
            extend(self.client)
        self._publish(Outcome(ChatState.CONNECTING))
        self.session.vcards.start()
        self._task = loop.create_task(self._run(), name="xmpp-connection")
        self._saver = loop.create_task(self._save_periodically(), name="xmpp-cache-save")

    async def stop(self) -> None:
        """Log out (unavailable presence, stream close), cancel every task, save the cache."""
        xmpp, self.client = self.client, None
        if xmpp is None:
            return
        tasks = [t for t in (self._task, self._saver) if t is not None] + list(self._session_tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._session_tasks.clear()
        await self.session.vcards.stop()
        self.session.presences.close()
        if xmpp.transport is not None:
            if self.state is ChatState.ONLINE:
                xmpp.send_presence(ptype="unavailable")
            with contextlib.suppress(Exception):
                await asyncio.wait_for(xmpp.disconnect(wait=1.0), 2.0)
        xmpp.cancel_connection_attempt()
        xmpp.abort()
        sender = getattr(xmpp, "_run_out_filters", None)  # slixmpp's send queue task: not ended by disconnect
        if isinstance(sender, asyncio.Future):
            sender.cancel()
        if self.session.cache.dirty:
            self.session.cache.save()

    def _build_client(self) -> PacedClient:
        cfg = self._config
        xmpp = PacedClient(f"{self._bare}/{cfg.resource}", cfg.password)
        xmpp.enable_direct_tls = cfg.tls == "direct"
        xmpp.enable_starttls = cfg.tls == "starttls"
        xmpp.enable_plaintext = cfg.tls == "plaintext"
        if cfg.ca_file:
            xmpp.ca_certs = Path(cfg.ca_file)
        xmpp.whitespace_keepalive = False  # the ping keepalive below notices a dead link instead
        # None: answer subscription requests ourselves (accepted from roster contacts only).
        xmpp.roster.auto_authorize = None  # type: ignore[assignment]
        xmpp.roster.auto_subscribe = False
        mechanisms = xmpp.plugin["feature_mechanisms"]
        mechanisms.use_mechs = set(SCRAM)
        mechanisms.unencrypted_scram = cfg.tls == "plaintext"
        for plugin in ("xep_0030", "xep_0045", "xep_0198", "xep_0199", "xep_0280"):
            xmpp.register_plugin(plugin)
        xmpp.plugin["xep_0198"].window = 5
        handlers: dict[str, Callable[[Any], None]] = {
            "session_start": self._on_session_start,
            "session_resumed": self._on_resumed,
            "failed_auth": self._on_failed_auth,
            "no_auth": self._on_no_auth,
            "stream_negotiated": self._on_negotiated,
            "connection_failed": lambda err: self._resolve(_failure(err)),
            "ssl_invalid_chain": lambda err: self._resolve(_failure(err)),
            "stream_error": self._on_stream_error,
            "disconnected": self._on_disconnected,
            "roster_update": self.session.on_roster_push,
            "presence": self.session.on_presence,
            "roster_subscription_request": self.session.on_subscribe,
            "message": self.session.on_message,
            "groupchat_message": self.session.on_groupchat,
            "groupchat_presence": self.session.on_room_presence,
            "carbon_received": lambda msg: self.session.on_carbon(msg["carbon_received"], outgoing=False),
            "carbon_sent": lambda msg: self.session.on_carbon(msg["carbon_sent"], outgoing=True),
        }
        for name, handler in handlers.items():
            xmpp.add_event_handler(name, handler)
        pep = f"{{jabber:client}}message/{{{stanzas.PUBSUB_EVENT_NS}}}event"
        xmpp.register_handler(Callback("CUSAX vCard4 PEP", MatchXPath(pep), self.session.on_pep))
        return xmpp

    # ------------------------------------------------------------------ connection

    def _publish(self, outcome: Outcome) -> None:
        self.state = outcome.state
        if self._last_post == (outcome.state, outcome.reason):
            return
        self._last_post = (outcome.state, outcome.reason)
        self.stats.states = [*self.stats.states[-31:], outcome.state.value]
        self.post(ChatConnectionChanged(outcome.state, outcome.reason))

    def _resolve(self, outcome: Outcome) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(outcome)

    async def _run(self) -> None:
        while True:
            try:
                outcome = await self._attempt()
            except Exception as err:  # a bug (or a slixmpp surprise) must not end the reconnecting
                log.exception("XMPP connection attempt failed")
                if self.client is not None:
                    self.client.abort()
                outcome = Outcome(ChatState.FAILED, str(err)[:60])
            if outcome.state is ChatState.ONLINE:
                self._backoff.reset()
                self._publish(outcome)
                lost = await self._until_lost()
                log.warning("XMPP connection lost: %s", lost.reason)
                self._publish(Outcome(ChatState.CONNECTING, f"connection lost: {lost.reason}"))
                delay = self._backoff.next_delay()
            else:
                self._publish(outcome)
                self.session.presences.all_offline()
                auth = outcome.state is ChatState.AUTH_FAILED
                delay = AUTH_RETRY_S if auth else self._backoff.next_delay()
                log.warning(
                    "XMPP login failed: %s (%s); next attempt in %.1f s",
                    outcome.state.value,
                    outcome.reason,
                    delay,
                )
            await asyncio.sleep(delay)

    async def _attempt(self) -> Outcome:
        xmpp = self.client
        assert xmpp is not None
        loop = asyncio.get_running_loop()
        self.stats.connection_attempts += 1
        self._stream_error = ""
        self._waiter = loop.create_future()
        xmpp.plugin["feature_mechanisms"].attempted_mechs = set()
        t0 = loop.time()
        xmpp.connect(self._config.effective_host, self._config.effective_port)
        timeout = self._config.login_timeout_s
        try:
            outcome = await asyncio.wait_for(self._waiter, timeout)
        except TimeoutError:
            outcome = Outcome(ChatState.UNREACHABLE, f"no login within {timeout:g} s")
        finally:
            self._waiter = None
        if outcome.state is ChatState.ONLINE:
            self.stats.login_s = loop.time() - t0
        else:
            xmpp.cancel_connection_attempt()
            xmpp.abort()
        return outcome

    async def _until_lost(self) -> Outcome:
        if self._disconnects != self._online_gen:
            return Outcome(ChatState.UNREACHABLE, "connection closed")
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            return await self._waiter
        finally:
            self._waiter = None

    def _encrypted(self) -> bool:
        xmpp = self.client
        transport = xmpp.transport if xmpp is not None else None
        return transport is not None and transport.get_extra_info("ssl_object") is not None

    def _on_failed_auth(self, failure: Any) -> None:
        # One SASL attempt per connection: mark every mechanism tried so slixmpp gives up now
        # instead of trying the next SCRAM variant with the same wrong password.
        if self.client is not None:
            self.client.plugin["feature_mechanisms"].attempted_mechs = set(SCRAM)
        condition = failure["condition"] or "not-authorized"
        self._resolve(Outcome(ChatState.AUTH_FAILED, f"login refused ({condition})"))

    def _on_no_auth(self, _event: Any) -> None:
        if not self._encrypted() and self._config.tls != "plaintext":
            self._resolve(Outcome(ChatState.TLS_FAILED, "server did not offer TLS"))
        else:
            self._resolve(Outcome(ChatState.FAILED, "server offers no SCRAM login"))

    def _on_negotiated(self, _event: Any) -> None:
        if self.client is not None and not self.client.authenticated:
            self._on_no_auth(None)

    def _on_stream_error(self, error: Any) -> None:
        self._stream_error = str(error["condition"] or "stream error")
        log.warning("XMPP stream error from the server: %s %s", self._stream_error, error["text"])
        if self._stream_error == "host-unknown":
            self._resolve(Outcome(ChatState.FAILED, f"server does not serve {self._domain}"))

    def _on_disconnected(self, reason: Any) -> None:
        self._disconnects += 1
        for task in self._session_tasks:
            task.cancel()
        self.session.vcards.offline()
        if isinstance(reason, OSError):  # e.g. a STARTTLS handshake that failed verification
            self._resolve(_failure(reason))
            return
        text = self._stream_error or (str(reason)[:80] if reason else "") or "connection closed"
        self._resolve(Outcome(ChatState.UNREACHABLE, text))

    def _on_session_start(self, _event: Any) -> None:
        self.stats.logins += 1
        self._online_gen = self._disconnects
        self._session_t0 = asyncio.get_running_loop().time()
        self.session.presences.all_offline()  # a new session: the server will tell everyone's presence again
        self.session.rooms.clear()
        self._spawn(self._setup_session(), "xmpp-session")
        self._spawn(self._keepalive(), "xmpp-keepalive")
        self._resolve(Outcome(ChatState.ONLINE))

    def _on_resumed(self, _event: Any) -> None:
        self.stats.resumed += 1
        self._online_gen = self._disconnects
        log.info("XMPP stream resumed (XEP-0198): roster, presence and rooms kept")
        self._spawn(self._keepalive(), "xmpp-keepalive")
        self.session.vcards.online(())
        self._resolve(Outcome(ChatState.ONLINE, "resumed"))

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._session_tasks.add(task)
        task.add_done_callback(self._session_tasks.discard)

    async def _keepalive(self) -> None:
        xmpp = self.client
        assert xmpp is not None
        while True:
            await asyncio.sleep(self._keepalive_s)
            try:
                await xmpp.plugin["xep_0199"].ping(jid=JID(self._domain), timeout=self._keepalive_timeout_s)
            except IqTimeout:
                self.stats.keepalive_failures += 1
                log.warning(
                    "XMPP server did not answer a ping within %g s: reconnecting", self._keepalive_timeout_s
                )
                xmpp.abort()
                return
            except IqError:
                pass  # an error answer is an answer: the link works

    async def _save_periodically(self) -> None:
        while True:
            await asyncio.sleep(SAVE_EVERY_S)
            cache = self.session.cache
            if cache.dirty:
                # fsync on an SD card takes long: off the loop that polls pjsua2 every few ms.
                await asyncio.get_running_loop().run_in_executor(None, cache.write, cache.snapshot())

    # ------------------------------------------------------------------ session set-up

    async def _setup_session(self) -> None:
        xmpp = self.client
        assert xmpp is not None
        await features.advertise(xmpp, self._caps_ver)
        await self.session.load_roster(xmpp, self._session_t0)
        self._send_presence()
        try:
            await xmpp.plugin["xep_0280"].enable(timeout=IQ_TIMEOUT_S)
        except (IqError, IqTimeout) as err:
            log.info("XMPP carbons not enabled: %s", err)
        nick = self._config.nick or self._bare.partition("@")[0]
        await self.session.join_rooms(xmpp, self._config.rooms, nick)

    # ------------------------------------------------------------------ commands

    def send_chat(self, peer: str, body: str, groupchat: bool = False) -> bool:
        """Send a chat line; False (and a log line) when offline or the address is not a JID."""
        jid = bare_jid(peer)
        text, cut = clean_text(body, MAX_OUT_BODY, newlines=True)
        if self.client is None or self.state is not ChatState.ONLINE or jid is None or not text.strip():
            self.stats.send_refused += 1
            log.warning("chat to %r not sent (%s)", peer, "not online" if jid else "not a JID")
            return False
        if groupchat and jid not in self.session.rooms:
            self.stats.send_refused += 1
            log.warning("chat to room %s not sent: not joined", jid)
            return False
        if cut:
            log.warning("chat to %s cut to %d characters", jid, MAX_OUT_BODY)
        self.client.send_message(mto=JID(jid), mbody=text, mtype="groupchat" if groupchat else "chat")
        self.stats.messages_sent += 1
        return True

    def join_room(self, room: str) -> None:
        """Join a group chat now (a conference call's linked room, RFC 7081 section 4)."""
        if self.client is None or self.state is not ChatState.ONLINE:
            log.warning("room %s not joined: chat not online", room)
            return
        if room in self.session.rooms:
            return
        self._spawn(self._join(room), "xmpp-join-room")

    async def _join(self, room: str) -> None:
        client = self.client
        assert client is not None
        nick = self._config.nick or self._bare.partition("@")[0]
        await self.session.join_room(client, room, nick)
        mine = self.session.rooms.get(room)
        if mine is not None and self._status:  # joined mid-call: the room learns "On the phone" too
            features.send_room_presence(client, f"{room}/{mine}", self._show, self._status)

    def set_presence(self, show: Show, status: str = "") -> None:
        """Our own presence (OFFLINE: appear offline while staying connected)."""
        self._show, self._status = show, clean_text(" ".join(status.split()), 140)[0]
        if self.client is not None and self.state is ChatState.ONLINE:
            self._send_presence()

    def _send_presence(self) -> None:
        assert self.client is not None
        features.send_presence(self.client, self._show, self._status, self._caps_ver, self._sip_aor)
        for room, nick in self.session.rooms.items():  # rooms see it too ("On the phone": section 4)
            features.send_room_presence(self.client, f"{room}/{nick}", self._show, self._status)

    # ------------------------------------------------------------------ observation

    @property
    def cache_path(self) -> Path:
        path: Path = self.session.cache.path
        return path

    def snapshot(self) -> dict[str, object]:
        """Counters and queue sizes (tests, benchmarks, the agent's xmpp_stats op)."""
        return {
            **self.stats.as_dict(),
            "state": self.state.value,
            "cached_vcards": len(self.session.cache),
            "vcard_queue": self.session.vcards.queued,
            "vcard_in_flight": self.session.vcards.in_flight,
            "rooms": sorted(self.session.rooms),
        }
