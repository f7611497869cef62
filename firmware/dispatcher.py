"""Carries out the state machine's commands: one visible table from command type to action."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from firmware import commands as c
from firmware.chat_store import ChatStore
from firmware.commands import Tone
from firmware.events import Event, Timer, TimerFired
from firmware.xmpp.model import Show
from hal.interfaces import Audio
from hal.types import AudioPath

log = logging.getLogger(__name__)


class CallControl(Protocol):
    """What the dispatcher needs from the SIP engine (the real SipEngine, or a test double in unit tests)."""

    def make_call(self, call_id: int, uri: str, headers: dict[str, str] | None = None) -> None: ...
    def answer(self, call_id: int) -> None: ...
    def hangup(self, call_id: int, code: int = 0) -> None: ...
    def send_dtmf(self, call_id: int, digit: str) -> None: ...
    def hold(self, call_id: int) -> None: ...
    def resume(self, call_id: int) -> None: ...
    def play_tone(self, tone: Tone) -> None: ...
    def stop_tone(self) -> None: ...


class ChatControl(Protocol):
    """What the dispatcher needs from the XMPP engine (firmware/xmpp/client.py XmppEngine)."""

    def send_chat(self, peer: str, body: str, groupchat: bool = False) -> bool: ...
    def set_presence(self, show: Show, status: str = "") -> None: ...
    def join_room(self, room: str) -> None: ...


class ProvisioningControl(Protocol):
    """What the dispatcher needs from the provisioner (firmware/provisioning/provisioner.py)."""

    def trigger(self, reason: str = "trigger") -> None: ...
    def provide_credentials(self, username: str, password: str) -> None: ...


class Timers:
    """Named one-shot timers on the loop; firing posts TimerFired. Restarting a timer replaces it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, post: Callable[[Event], None]) -> None:
        self._loop, self._post = loop, post
        self._handles: dict[Timer, asyncio.TimerHandle] = {}

    def start(self, timer: Timer, seconds: float) -> None:
        self.cancel(timer)
        self._handles[timer] = self._loop.call_later(seconds, self._fire, timer)

    def cancel(self, timer: Timer) -> None:
        handle = self._handles.pop(timer, None)
        if handle is not None:
            handle.cancel()

    def cancel_all(self) -> None:
        for timer in list(self._handles):
            self.cancel(timer)

    def pending(self) -> frozenset[Timer]:
        return frozenset(self._handles)

    def _fire(self, timer: Timer) -> None:
        self._handles.pop(timer, None)
        self._post(TimerFired(timer))


class Dispatcher:
    def __init__(
        self,
        sip: CallControl,
        audio: Audio,
        timers: Timers,
        chat_store: ChatStore | None = None,
        *,
        chat: ChatControl | None = None,
        provisioning: ProvisioningControl | None = None,
    ) -> None:
        self.sip, self._audio, self._timers = sip, audio, timers  # sip: replaced when the engine is
        self.chat = chat  # the XMPP engine; None without an XMPP account (or until it is started)
        self.provisioning = provisioning  # the provisioner; None without a [provisioning] section
        self._chat_store = chat_store  # None: message history is not kept across restarts
        self._table: dict[type, Callable[[Any], None]] = {
            c.PlayTone: lambda cmd: self.sip.play_tone(cmd.tone),
            c.StopTone: lambda cmd: self.sip.stop_tone(),
            c.StartRinger: lambda cmd: self._audio.start_ringer(),
            c.StopRinger: lambda cmd: self._audio.stop_ringer(),
            c.MakeCall: lambda cmd: self.sip.make_call(cmd.call_id, cmd.uri, dict(cmd.headers) or None),
            c.Answer: lambda cmd: self.sip.answer(cmd.call_id),
            c.Hangup: lambda cmd: self.sip.hangup(cmd.call_id, cmd.code),
            c.SendDtmf: lambda cmd: self.sip.send_dtmf(cmd.call_id, cmd.digit),
            c.Hold: lambda cmd: self.sip.hold(cmd.call_id),
            c.Resume: lambda cmd: self.sip.resume(cmd.call_id),
            c.SetRoute: lambda cmd: self._audio.set_route(cmd.path),
            c.SetVolume: lambda cmd: self._set_volume(cmd.path, cmd.percent),
            c.StartTimer: lambda cmd: self._timers.start(cmd.timer, cmd.seconds),
            c.CancelTimer: lambda cmd: self._timers.cancel(cmd.timer),
            c.Log: lambda cmd: log.log(logging.getLevelName(cmd.level.upper()), "%s", cmd.message),
            c.PersistChat: self._persist_chat,
            c.SendChat: self._send_chat,
            c.SetPresence: self._set_presence,
            c.JoinRoom: self._join_room,
            c.ReprovisionNow: self._reprovision,
            c.SubmitCredentials: self._submit_credentials,
        }

    def _set_volume(self, path: AudioPath, percent: int) -> None:
        self._audio.set_volume(path, percent)

    def _send_chat(self, cmd: c.SendChat) -> None:
        if self.chat is None:
            log.warning("no XMPP account: chat to %s dropped", cmd.peer)
            return
        self.chat.send_chat(cmd.peer, cmd.body, cmd.groupchat)

    def _set_presence(self, cmd: c.SetPresence) -> None:
        if self.chat is None:
            log.debug("no XMPP account: presence %s not sent", cmd.show.value)
            return
        self.chat.set_presence(cmd.show, cmd.status)

    def _reprovision(self, cmd: c.ReprovisionNow) -> None:
        if self.provisioning is None:
            log.info("no provisioning configured: nothing to update")
            return
        self.provisioning.trigger(cmd.reason)

    def _submit_credentials(self, cmd: c.SubmitCredentials) -> None:
        if self.provisioning is None:
            log.warning("no provisioning configured: sign-in for user %r dropped", cmd.user)
            return
        self.provisioning.provide_credentials(cmd.user, cmd.password)

    def _join_room(self, cmd: c.JoinRoom) -> None:
        if self.chat is None:
            log.info("no XMPP account: room %s not joined", cmd.room)
            return
        self.chat.join_room(cmd.room)

    def _persist_chat(self, cmd: c.PersistChat) -> None:
        if self._chat_store is not None:
            self._chat_store.save(cmd.peer, cmd.messages, cmd.unread)

    def run(self, commands: tuple[c.Command, ...]) -> list[str]:
        """Carry out every command; a failing one is logged and reported, the rest still run."""
        errors: list[str] = []
        for cmd in commands:
            try:
                self._table[type(cmd)](cmd)
            except Exception as err:  # a device or pjsua2 failure must not stop the phone
                log.exception("command %s failed", cmd)
                errors.append(f"{type(cmd).__name__} failed: {err}")
        return errors
