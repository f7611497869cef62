"""The SIP engine: owns the pjsua2 endpoint, its transport, the account and every call.

pjsua2 runs with `threadCnt=0`; `libHandleEvents(0)` is pumped from the asyncio loop, so every
callback runs on the loop's thread. Python keeps a reference to every pjsua2 object it creates
(pjsua2 aborts the process when a Call is collected while pjsua still uses it), and every Call is
deleted before `libDestroy()`.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pjsua2 as pj

from firmware.backoff import Backoff
from firmware.commands import Tone
from firmware.config import Audio, Sip
from firmware.errors import SipError
from firmware.events import CallFailedToStart, Event, RegistrationChanged, RegState
from firmware.sip import media
from firmware.sip.callbacks import PhoneAccount, PhoneCall
from firmware.sip.checksync import CheckSyncEndpoint, CheckSyncListener, source_host
from firmware.sip.invite_guard import InviteGuard
from firmware.sip.probe import RegistrarProbe
from firmware.sip.settings import account_config, transport_config, transport_type
from firmware.sip.sip_im import SipImGuard

log = logging.getLogger(__name__)

# pjsua2 is polled, so the poll interval is latency. Idle: 20 ms (0.7 % CPU on a 2-core x86, design
# notes). During calls: 5 ms. Right after any SIP activity (a request we sent, a message that
# arrived): 1 ms for a short window, because the answer to a transaction comes within milliseconds
# on a LAN (407 challenge, 180, 200) and every poll interval adds straight to call set-up time.
PUMP_IDLE_S = 0.020
PUMP_CALL_S = 0.005
PUMP_HOT_S = 0.001
HOT_WINDOW_S = 0.25
AUTH_RETRY_S = 60.0  # wrong credentials: retry slowly so a registrar's fail2ban does not lock us out
HOLD_RETRY_S = 0.05
HOLD_RETRIES = 40  # 2 s: a media update that has not finished by then has failed
PJ_LOG_LEVELS = {1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO}


@dataclass(frozen=True)
class MediaStats:
    """RTP counters of a call's audio stream: proof that media flows, not only signalling."""

    rx_packets: int
    tx_packets: int
    rx_loss: int
    jitter_us: int


class _LogWriter(pj.LogWriter):  # type: ignore[misc]
    """pjlib log lines -> Python logging. Message dumps stay off (they would carry Authorization headers)."""

    def write(self, entry: Any) -> None:
        level = PJ_LOG_LEVELS.get(int(entry.level), logging.DEBUG)
        logging.getLogger("pjsip").log(level, "%s", str(entry.msg).rstrip())


class SipEngine:
    def __init__(
        self,
        sip: Sip,
        audio: Audio,
        post: Callable[[Event], None],
        *,
        sound_card: str | None,
        user_agent: str = "CUSAX-Deskphone/0.1",
        debug: bool = False,
        on_check_sync: Callable[[str], None] | None = None,
        check_sync_from: str = "registrar",
        sip_im_presence: bool = False,
    ) -> None:
        self._sip, self._audio, self.post = sip, audio, post
        self._sound_card = sound_card
        self._user_agent = user_agent
        self._debug = debug
        self._ep: Any = None
        self._writer: _LogWriter | None = None
        self._account: PhoneAccount | None = None
        self._tones: media.TonePlayer | None = None
        self._calls: dict[int, PhoneCall] = {}
        self._graveyard: list[PhoneCall] = []  # ended calls, deleted outside their own callback
        self._incoming_ids = itertools.count(-1, -1)
        self._pump: asyncio.Handle | None = None
        self._hot_until = 0.0  # loop time until which the pump polls at PUMP_HOT_S
        self._retry: asyncio.TimerHandle | None = None
        self._backoff = Backoff()
        self._probe: RegistrarProbe | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.sound_device = ""
        self.registration = RegState.UNCONFIGURED
        self.received_dtmf: list[tuple[int, str]] = []  # (call id, digit), bounded below
        # SIP NOTIFY check-sync -> provisioning (firmware/sip/checksync.py); "registrar" or "any" source
        self._on_check_sync, self._check_sync_from = on_check_sync, check_sync_from
        self._check_sync: CheckSyncListener | None = None
        self._registrar_hosts: frozenset[str] = frozenset()
        # RFC 7081 section 2: no IM or presence over SIP unless the profile says so (sip_im.py).
        self._sip_im_presence = sip_im_presence
        self._im_guard: SipImGuard | None = None
        self._invite_guard: InviteGuard | None = None
        self.last_invite = ""  # the last incoming INVITE as received (lab, tests)
        self.extra_headers: dict[str, str] = {}  # lab only: crafted headers on every outgoing INVITE

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Create the endpoint, transport and account; registration starts at once. Call from the loop."""
        self._loop = asyncio.get_running_loop()
        ep = CheckSyncEndpoint()  # remembers the request being dispatched (check-sync, SIP IM guard)
        self._ep = ep
        ep.libCreate()
        ep.libInit(self._endpoint_config())
        transport_id = ep.transportCreate(transport_type(self._sip), transport_config(self._sip))
        ep.libStart()
        self.sound_device = media.select_sound_device(ep, self._sound_card)
        codecs = media.set_codec_priorities(ep, self._sip.codecs)
        log.info(
            "pjsua2 started: transport %s, sound %s, codecs %s",
            self._sip.transport,
            self.sound_device,
            codecs,
        )
        self._tones = media.TonePlayer(ep, media.codec_clock_rate(self._sip.codecs))
        self._account = PhoneAccount(self)
        self.registration = RegState.REGISTERING
        self.post(RegistrationChanged(RegState.REGISTERING))
        self._account.create(account_config(self._sip, transport_id))
        if self._on_check_sync is not None:
            self._registrar_hosts = _addresses(self._sip.registrar)
            self._check_sync = CheckSyncListener(ep, self._on_check_sync, self._check_sync_trusted)
            self._check_sync.start()
        if not self._sip_im_presence:
            self._im_guard = SipImGuard(ep)
            self._im_guard.start()
        self._invite_guard = InviteGuard()
        self._invite_guard.start()
        self.kick()  # the REGISTER is out: poll fast for its answer
        self._probe = RegistrarProbe(
            host=self._sip.registrar, port=self._sip.effective_port, transport=self._sip.transport,
            domain=self._sip.domain, interval=self._sip.keepalive_s,
            on_down=self._registrar_down, on_up=self._registrar_up,
        )  # fmt: skip
        self._probe.start()

    async def stop(self) -> None:
        """Hang up, unregister (briefly), and destroy pjsua2. Safe to call twice."""
        if self._ep is None:
            return
        if self._probe is not None:
            await self._probe.stop()
        if self._retry is not None:
            self._retry.cancel()
        for call in list(self._calls.values()):
            self._safe(call.hangup, pj.CallOpParam(True))
        if self._account is not None and self.registration is RegState.REGISTERED:
            self._safe(self._account.setRegistration, False)
            for _ in range(25):  # up to ~0.5 s for the un-REGISTER to be answered
                self._ep.libHandleEvents(20)
                if self.registration is not RegState.REGISTERED:
                    break
        if self._pump is not None:
            self._pump.cancel()
        if self._tones is not None:
            self._tones.close()
            self._tones = None  # it holds the Endpoint
        self._calls.clear()
        self._graveyard.clear()
        self._account = None
        if self._check_sync is not None:
            self._check_sync.stop()
            self._check_sync = None
        if self._im_guard is not None:
            self._im_guard.stop()
            self._im_guard = None
        if self._invite_guard is not None:
            self._invite_guard.stop()
            self._invite_guard = None
        # We un-REGISTERed above and hung up every call: without NO_NETWORK pjsua would do it again
        # and then sleep a fixed second, which a provisioned account change would wait for.
        self._ep.libDestroy(pj.PJSUA_DESTROY_NO_NETWORK)
        self._ep = None
        # pjsua2 allows one Endpoint per process and frees it only when the Python object dies:
        # collect now (the engine and its probe form cycles) so a new engine can start (reconfig).
        gc.collect()

    def _safe(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call a pjsua2 operation that sends something; its failure is logged, never raised."""
        try:
            fn(*args)
        except pj.Error as err:
            log.warning("pjsua2: %s", err.info())
        if self._loop is not None and self._ep is not None:
            self.kick()

    # ------------------------------------------------------------------ configuration

    def _endpoint_config(self) -> Any:
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = False
        cfg.uaConfig.userAgent = self._user_agent
        cfg.uaConfig.maxCalls = 4
        cfg.logConfig.level = 5 if self._debug else 3
        cfg.logConfig.consoleLevel = cfg.logConfig.level  # pjsua2 hands the writer only what passes this
        cfg.logConfig.msgLogging = 0  # SIP dumps would put digest headers in the journal
        self._writer = _LogWriter()
        cfg.logConfig.writer = self._writer
        cfg.logConfig.decor = 0
        media.media_config(cfg, self._sip, self._audio)
        return cfg

    # ------------------------------------------------------------------ pump

    def _schedule_pump(self) -> None:
        assert self._loop is not None
        if self._loop.time() < self._hot_until:
            interval = PUMP_HOT_S
        else:
            interval = PUMP_CALL_S if self._calls else PUMP_IDLE_S
        self._pump = self._loop.call_later(interval, self._pump_once)

    def kick(self) -> None:
        """SIP activity now: poll fast for a while, starting at once (the answer is on its way)."""
        assert self._loop is not None
        self._hot_until = self._loop.time() + HOT_WINDOW_S
        if self._pump is not None:
            self._pump.cancel()
        self._pump = self._loop.call_soon(self._pump_once)

    def _pump_once(self) -> None:
        if self._ep is None:
            return
        try:
            handled = self._ep.libHandleEvents(0)
        except pj.Error as err:  # never let a pjsua2 error kill the pump
            log.error("pjsua2 event handling failed: %s", err.info())
            handled = 0
        if handled > 0 and self._loop is not None and self._loop.time() < self._hot_until:
            # Only a window our own request opened is extended (407 -> re-INVITE -> 180 -> 200):
            # pjsip's idle timers must not keep the phone polling every millisecond.
            self._hot_until = self._loop.time() + HOT_WINDOW_S
        self._graveyard.clear()  # ended calls: safe to drop now, outside their callbacks
        self._schedule_pump()

    # ------------------------------------------------------------------ registration

    def on_registration(self, state: RegState, code: int, reason: str) -> None:
        self.registration = state
        self.post(RegistrationChanged(state, code, reason))
        if state is RegState.REGISTERED:
            self._backoff.reset()
            return
        if self._ep is None or state is RegState.UNCONFIGURED:
            return
        delay = AUTH_RETRY_S if state is RegState.AUTH_FAILED else self._backoff.next_delay()
        log.info("registration %s (%d %s); retrying in %.1f s", state.value, code, reason, delay)
        self._schedule_reregister(delay)

    def _schedule_reregister(self, delay: float) -> None:
        assert self._loop is not None
        if self._retry is not None:
            self._retry.cancel()
        self._retry = self._loop.call_later(delay, self.reregister)

    def reregister(self) -> None:
        self._retry = None
        if self._account is not None:
            self._safe(self._account.setRegistration, True)

    def _registrar_down(self) -> None:
        if self.registration is RegState.REGISTERED:
            self.registration = RegState.UNREACHABLE
            self.post(RegistrationChanged(RegState.UNREACHABLE, 408, "registrar does not answer"))

    def _registrar_up(self) -> None:
        # A registrar that restarted has lost our binding: register again now, not at expiry.
        self._backoff.reset()
        self.reregister()

    # ------------------------------------------------------------------ calls (commands)

    def next_incoming_id(self) -> int:
        return next(self._incoming_ids)

    def adopt_call(self, call: PhoneCall) -> None:
        self._calls[call.call_id] = call

    def forget_call(self, call: PhoneCall) -> None:
        self._calls.pop(call.call_id, None)
        self._graveyard.append(call)

    def on_dtmf_threadsafe(self, call_id: int, digit: str) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._on_dtmf, call_id, digit)

    def _on_dtmf(self, call_id: int, digit: str) -> None:
        log.info("call %d: DTMF %s received", call_id, digit)
        self.received_dtmf = [*self.received_dtmf[-63:], (call_id, digit)]

    def make_call(self, call_id: int, uri: str, headers: dict[str, str] | None = None) -> None:
        assert self._account is not None
        call = PhoneCall(self._account, self, call_id)
        prm = pj.CallOpParam(True)
        for name, value in {**(headers or {}), **self.extra_headers}.items():
            header = pj.SipHeader()
            header.hName, header.hValue = name, value
            prm.txOption.headers.append(header)
        self._calls[call_id] = call
        try:
            call.makeCall(uri, prm)
            self.kick()
        except pj.Error as err:
            self._calls.pop(call_id, None)
            self._graveyard.append(call)
            log.warning("call to %s failed to start: %s", uri, err.info())
            self.post(CallFailedToStart(call_id, _short_reason(err)))

    def _call(self, call_id: int) -> PhoneCall | None:
        call = self._calls.get(call_id)
        if call is None:
            log.debug("no call %d (already ended)", call_id)
        return call

    def answer(self, call_id: int) -> None:
        if (call := self._call(call_id)) is not None:
            prm = pj.CallOpParam(True)
            prm.statusCode = 200
            self._safe(call.answer, prm)

    def send_progress(self, call_id: int) -> None:
        """183 Session Progress with SDP: early media towards the caller (announcements, the lab)."""
        if (call := self._call(call_id)) is not None:
            prm = pj.CallOpParam(True)
            prm.statusCode = 183
            self._safe(call.answer, prm)

    def hangup(self, call_id: int, code: int = 0) -> None:
        if (call := self._call(call_id)) is not None:
            prm = pj.CallOpParam(True)
            prm.statusCode = code
            self._safe(call.hangup, prm)

    def send_dtmf(self, call_id: int, digit: str) -> None:
        if (call := self._call(call_id)) is not None:
            self._safe(call.dialDtmf, digit)  # RFC 4733 telephone-event

    def hold(self, call_id: int) -> None:
        if (call := self._call(call_id)) is not None:
            call.want_hold = True
            self.reconcile_hold(call)

    def resume(self, call_id: int) -> None:
        if (call := self._call(call_id)) is not None:
            call.want_hold = False
            self.reconcile_hold(call)

    def reconcile_hold(self, call: PhoneCall) -> None:
        """Bring the call's hold state to what the person asked for.

        A re-INVITE is refused while another one is pending (a quick hold-resume), so this runs
        again from onCallMediaState each time a media negotiation completes, until both agree.
        """
        if call.want_hold is None or call.want_hold == call.is_on_local_hold():
            return
        try:
            if call.want_hold:
                call.setHold(pj.CallOpParam(True))
            else:
                prm = pj.CallOpParam(True)
                prm.opt.flag = pj.PJSUA_CALL_UNHOLD
                call.reinvite(prm)
        except pj.Error as err:
            # pjsua answers PJ_EINVALIDOP until the previous media update has fully completed.
            call.hold_attempts += 1
            if call.hold_attempts > HOLD_RETRIES:
                log.warning("call %d: hold change failed: %s", call.call_id, err.info())
                return
            assert self._loop is not None
            self._loop.call_later(HOLD_RETRY_S, self._retry_hold, call.call_id)
        else:
            call.hold_attempts = 0
            self.kick()

    def _retry_hold(self, call_id: int) -> None:
        if (call := self._calls.get(call_id)) is not None:
            self.reconcile_hold(call)

    # ------------------------------------------------------------------ media

    def connect_audio(self, call_media: Any) -> None:
        """Call audio <-> sound device (handset or speaker, as routed by the audio HAL)."""
        manager = self._ep.audDevManager()
        call_media.startTransmit(manager.getPlaybackDevMedia())
        manager.getCaptureDevMedia().startTransmit(call_media)

    def play_tone(self, tone: Tone) -> None:
        if self._tones is not None:
            self._tones.play(tone)

    def stop_tone(self) -> None:
        if self._tones is not None:
            self._tones.stop()

    @property
    def tone(self) -> Tone | None:
        return self._tones.playing if self._tones is not None else None

    @property
    def strict_media_source(self) -> bool:
        return self._sip.strict_media_source

    def call_audio(self, call_id: int) -> Any:
        """The call's pjsua2 AudioMedia (for tests and benchmarks that inject or record audio)."""
        call = self._calls[call_id]
        info = call.getInfo()  # keep the CallInfo alive: .media is a view into it
        for m in info.media:
            if m.type == pj.PJMEDIA_TYPE_AUDIO and m.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                return call.getAudioMedia(m.index)
        raise SipError(f"call {call_id} has no active audio")

    def media_stats(self, call_id: int) -> MediaStats | None:
        call = self._calls.get(call_id)
        if call is None:
            return None
        try:
            rtcp = call.getStreamStat(0).rtcp
        except pj.Error:
            return None
        return MediaStats(
            rx_packets=int(rtcp.rxStat.pkt),
            tx_packets=int(rtcp.txStat.pkt),
            rx_loss=int(rtcp.rxStat.loss),
            jitter_us=int(rtcp.rxStat.jitterUsec.mean),
        )

    def _check_sync_trusted(self, source: str) -> bool:
        return self._check_sync_from == "any" or source_host(source) in self._registrar_hosts

    @property
    def endpoint(self) -> Any:
        return self._ep

    def active_call_ids(self) -> list[int]:
        return list(self._calls)


def _addresses(host: str) -> frozenset[str]:
    try:
        return frozenset({host} | {str(info[4][0]) for info in socket.getaddrinfo(host, None)})
    except OSError:
        return frozenset({host})


def _short_reason(err: Any) -> str:
    """pjsua2's error text is long ('Invalid URI (PJSIP_EINVALIDURI) [status=...]'): keep the first part."""
    text = str(getattr(err, "reason", "") or err.info())
    return text.split("(", 1)[0].strip()[:40] or "error"
