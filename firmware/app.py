"""The application: one asyncio loop owns the state, the SIP engine, the board and the timers.

Events reach the loop from three places: pjsua2 callbacks (already on the loop's thread, because
pjsua2 is pumped from it), HAL threads (handed over with `call_soon_threadsafe`) and timers. They
are queued and fed one at a time to the pure state machine; the dispatcher carries out the
commands, then the screen is redrawn if the drawing changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from firmware.chat_store import ChatStore
from firmware.config import Config, state_dir
from firmware.cusax import policy_from
from firmware.dispatcher import CallControl, ChatControl, Dispatcher, ProvisioningControl, Timers
from firmware.events import ChatConnectionChanged, Event, Notice, RegistrationChanged, RegState, Tick
from firmware.machine import step
from firmware.reconfig import Reconfigurer
from firmware.state import PhoneState, Settings
from firmware.ui.drawing import Drawing
from firmware.ui.render import render
from firmware.ui.screens import screen
from firmware.xmpp.model import ChatState
from hal.interfaces import Board
from hal.types import AudioPath, HalEvent

log = logging.getLogger(__name__)

TICK_S = 1.0
Clock = Callable[[], datetime]
EngineFactory = Callable[[Callable[[Event], None]], "Engine"]
ChatEngineFactory = Callable[[Callable[[Event], None]], "ChatEngine"]


class Engine(CallControl, Protocol):
    """The SIP engine as the app sees it: call control plus a lifecycle."""

    def start(self) -> None: ...
    async def stop(self) -> None: ...


class ChatEngine(ChatControl, Protocol):
    """The XMPP engine as the app sees it (firmware/xmpp/client.py): chat control plus a lifecycle."""

    def start(self) -> None: ...
    async def stop(self) -> None: ...


def settings_from(config: Config) -> Settings:
    return Settings(
        domain=config.sip.domain if config.sip is not None else Settings().domain,
        interdigit_s=config.phone.interdigit_s,
        handset_volume=config.audio.handset_volume,
        speaker_volume=config.audio.speaker_volume,
        canned_responses=tuple(config.xmpp.canned_responses) if config.xmpp else Settings().canned_responses,
        display_size=config.hal_config().display.size,
        cusax=policy_from(config),  # RFC 7081 rules: Call-Info, cost warnings, security parity
        sip_account=f"{config.sip.user}@{config.sip.domain}" if config.sip is not None else "",
        chat_account=config.xmpp.jid if config.xmpp is not None else "",
    )


class Phone:
    """The running phone. `start()` and `stop()` are symmetric; tests drive it through the sim board."""

    def __init__(
        self,
        config: Config,
        board: Board,
        engine_factory: EngineFactory,
        clock: Clock | None = None,
        *,
        engine_for: Callable[[Config], EngineFactory] | None = None,
        xmpp_factory: ChatEngineFactory | None = None,
    ) -> None:
        self.config = config
        self.board = board
        # The zone is read each time: a provisioned profile may change it (firmware/reconfig.py).
        self._clock: Clock = clock or (lambda: datetime.now(ZoneInfo(self.config.phone.timezone)))
        self.reconfigure = Reconfigurer(self, engine_for)  # apply_config(): new profiles, calls kept
        self._engine_factory = engine_factory
        # XMPP starts after the SIP engine, or once SIP registered (RFC 7081 C11, after_sip_registered).
        self._xmpp_factory = xmpp_factory
        self.xmpp: ChatEngine | None = None
        self._xmpp_waiting = False
        settings = settings_from(config)
        self.state = PhoneState(
            settings=settings, handset_volume=settings.handset_volume, speaker_volume=settings.speaker_volume
        )
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._changed = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_drawing: Drawing | None = None
        self.engine: Engine | None = None
        self._timers: Timers | None = None
        self._dispatcher: Dispatcher | None = None
        self._chat_store: ChatStore | None = None  # message history on disk, with an XMPP account
        self.provisioning: ProvisioningControl | None = None  # set before start() when provisioned
        self.frames = 0  # frames handed to the display
        self.on_frame: list[Callable[[], None]] = []  # benchmarks: called after each frame

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._timers = Timers(loop, self.post)
        engine = self._engine_factory(self.post)
        self.engine = engine
        # Always there: an XMPP account may arrive later in a provisioned profile.
        self._chat_store = ChatStore.on_loop(state_dir(self.config) / "chat", loop)
        self._dispatcher = Dispatcher(
            engine, self.board.audio, self._timers, self._chat_store, provisioning=self.provisioning
        )
        self.board.audio.set_volume(AudioPath.HANDSET, self.state.handset_volume)
        self.board.audio.set_volume(AudioPath.SPEAKER, self.state.speaker_volume)
        self.board.start(self._from_any_thread)
        self.state = replace(self.state, now=self._clock())
        self._draw()
        self._tasks.append(loop.create_task(self._consume(), name="phone-events"))
        self._tasks.append(loop.create_task(self._tick(), name="phone-clock"))
        try:
            engine.start()
        except Exception as err:  # e.g. a TLS CA file missing: show it, keep the UI alive
            log.exception("SIP engine failed to start")
            self.post(Notice(f"SIP: {err}"))
        if self._chat_store is not None:  # history read off the loop: an SD card may be slow
            self.post(await loop.run_in_executor(None, self._chat_store.load))
        if self._xmpp_factory is not None:
            wait = self.config.xmpp is not None and self.config.xmpp.after_sip_registered
            # (SIP may have registered while the history was read: then there is nothing to wait for.)
            if wait and self.state.registration.state is not RegState.REGISTERED:
                self._xmpp_waiting = True
                self.post(ChatConnectionChanged(ChatState.WAITING, "waiting for SIP registration"))
            else:
                self._start_xmpp()

    def _start_xmpp(self) -> None:
        assert self._xmpp_factory is not None
        self._xmpp_waiting = False
        try:
            xmpp = self._xmpp_factory(self.post)
            xmpp.start()
        except Exception as err:  # a bad account must not take the phone (or its calls) down
            log.exception("XMPP engine failed to start")
            self.post(ChatConnectionChanged(ChatState.FAILED, str(err)[:60]))
            return
        self.xmpp = xmpp
        if self._dispatcher is not None:
            self._dispatcher.chat = xmpp

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._timers is not None:
            self._timers.cancel_all()
        if self.xmpp is not None:  # first: its unavailable presence goes out while SIP still works
            await self.xmpp.stop()
            self.xmpp = None
        if self.engine is not None:
            await self.engine.stop()
        if self._chat_store is not None:
            self._chat_store.close()
            self._chat_store = None
        self.board.stop()

    # ------------------------------------------------------------------ reconfiguration

    def apply_config(self, new: Config) -> None:
        """Take a new configuration (a provisioned profile). Settings change at once; the SIP engine
        restarts only when the phone is idle, so an active call is never dropped (firmware/reconfig.py)."""
        self.reconfigure.offer(new)
        self.post(Tick(self._clock()))  # applied right after this event, on the loop

    async def replace_engine(self, factory: EngineFactory) -> None:
        """Stop the SIP engine and start a new one (un-REGISTER, REGISTER). Only while idle."""
        if self.engine is not None:
            await self.engine.stop()
        assert self._dispatcher is not None
        engine = factory(self.post)
        self.engine = engine
        self._dispatcher.sip = engine
        try:
            engine.start()
        except Exception as err:
            log.exception("SIP engine failed to start")
            self.post(Notice(f"SIP: {err}"))

    async def replace_chat(self, factory: ChatEngineFactory | None) -> None:
        """Log the XMPP account out and in again with new settings (a provisioned change; idle only)."""
        if self.xmpp is not None:
            await self.xmpp.stop()
            self.xmpp = None
        if self._dispatcher is not None:
            self._dispatcher.chat = None
        self._xmpp_factory = factory
        if factory is not None:
            self._start_xmpp()

    def set_volumes(self, handset: int, speaker: int) -> None:
        self.state = replace(self.state, handset_volume=handset, speaker_volume=speaker)
        self.board.audio.set_volume(AudioPath.HANDSET, handset)
        self.board.audio.set_volume(AudioPath.SPEAKER, speaker)

    # ------------------------------------------------------------------ events in

    def post(self, event: Event) -> None:
        """Queue an event. Only from the loop's thread (pjsua2 callbacks and timers are)."""
        self._queue.put_nowait(event)

    def _from_any_thread(self, event: HalEvent) -> None:
        """The board's sink: GPIO threads only build the event and hand it to the loop."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self.post, event)

    async def _tick(self) -> None:
        while True:
            # Wake on the second so the clock and call timers change when a person expects.
            await asyncio.sleep(TICK_S - (time.time() % TICK_S))
            self.post(Tick(self._clock()))

    async def _consume(self) -> None:
        while True:
            event = await self._queue.get()
            await self.handle(event)

    async def handle(self, event: Event) -> None:
        assert self._dispatcher is not None
        registered = isinstance(event, RegistrationChanged) and event.state is RegState.REGISTERED
        if self._xmpp_waiting and registered:
            self._start_xmpp()
        try:
            self.state, commands = step(self.state, event)
        except Exception:  # a bug in a handler must not take the phone down: keep the last state
            log.exception("state machine failed on %r; state kept", event)
            return
        errors = self._dispatcher.run(commands)
        for error in errors:
            self.post(Notice(error[:60]))
        await self.reconfigure.after_event()
        self._draw()
        async with self._changed:
            self._changed.notify_all()

    # ------------------------------------------------------------------ screen out

    def _draw(self) -> None:
        drawing = screen(self.state, self.board.display.size)
        if drawing == self._last_drawing:
            return
        self._last_drawing = drawing
        try:
            self.board.display.show(render(drawing))
            self.frames += 1
        except Exception:
            log.exception("display failed")  # keep calls working without a screen
        for callback in self.on_frame:
            callback()

    # ------------------------------------------------------------------ observation (tests, bench)

    async def wait_until(self, predicate: Callable[[PhoneState], bool], timeout: float = 5.0) -> PhoneState:
        """Wait until the state satisfies `predicate`; raises TimeoutError with the last state."""

        async def _wait() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: predicate(self.state))

        try:
            await asyncio.wait_for(_wait(), timeout)
        except TimeoutError:
            raise TimeoutError(f"condition not met within {timeout}s; state: {self.state}") from None
        return self.state
