"""pjsua2 Account and Call subclasses: each callback only reads pjsua2 state and builds typed events.

With `threadCnt=0` these run on the asyncio loop's thread (pjsua2 is pumped from the loop), so they
may touch the engine directly; they never call back into the state machine (events are queued).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import pjsua2 as pj

from firmware.events import (
    CallConnected,
    CallEnded,
    CallMedia,
    CallRinging,
    IncomingCall,
    RegState,
)
from firmware.sip.call_info import MAX_MESSAGE, parse_call_info
from firmware.sip.media_guard import guard_call_media

# Media states in which the call has an RTP stream whose far end the SDP names.
STREAMING = (pj.PJSUA_CALL_MEDIA_ACTIVE, pj.PJSUA_CALL_MEDIA_REMOTE_HOLD, pj.PJSUA_CALL_MEDIA_LOCAL_HOLD)

if TYPE_CHECKING:
    from firmware.sip.engine import SipEngine

log = logging.getLogger(__name__)

AUTH_CODES = frozenset({401, 403, 407})
# pjsip reports transport failures and timeouts as these (PJSIP_SC_*), not as a server answer.
UNREACHABLE_CODES = frozenset({408, 502, 503, 504})
_DISPLAY = re.compile(r'^\s*"((?:[^"\\]|\\.)*)"\s*<|^\s*([^<"]+?)\s*<')


def registration_state(code: int, active: bool) -> RegState:
    if active and 200 <= code < 300:
        return RegState.REGISTERED
    if code in AUTH_CODES:
        return RegState.AUTH_FAILED
    if code in UNREACHABLE_CODES or code == 0:
        return RegState.UNREACHABLE
    if 200 <= code < 300:  # un-REGISTER answered (shutdown)
        return RegState.UNCONFIGURED
    return RegState.FAILED


def display_name(name_addr: str) -> str:
    """`"Alice" <sip:alice@x>` -> `Alice`; a bare URI has none."""
    m = _DISPLAY.match(name_addr)
    if m is None:
        return ""
    return (m.group(1) if m.group(1) is not None else m.group(2) or "").strip()


def bare_uri(name_addr: str) -> str:
    """`"Alice" <sip:alice@x>;tag=1` -> `sip:alice@x`."""
    if "<" in name_addr and ">" in name_addr:
        return name_addr[name_addr.index("<") + 1 : name_addr.index(">")]
    return name_addr.split(";", 1)[0].strip()


class PhoneAccount(pj.Account):  # type: ignore[misc]
    def __init__(self, engine: SipEngine) -> None:
        super().__init__()
        self._engine = engine

    def onRegState(self, prm: Any) -> None:
        info = self.getInfo()
        state = registration_state(int(info.regStatus), bool(info.regIsActive))
        self._engine.on_registration(state, int(info.regStatus), str(info.regStatusText))

    def onIncomingCall(self, prm: Any) -> None:
        call = PhoneCall(self, self._engine, call_id=self._engine.next_incoming_id(), pj_call_id=prm.callId)
        info = call.getInfo()
        self._engine.adopt_call(call)
        invite = str(prm.rdata.wholeMsg)[:MAX_MESSAGE]
        self._engine.last_invite = invite  # lab and tests: what the caller really sent
        hints = parse_call_info(invite)  # RFC 7081: impp (a cue only) and grouptextchat
        name = display_name(info.remoteUri)
        incoming = IncomingCall(call.call_id, bare_uri(info.remoteUri), name, hints.impp, hints.group_chat)
        self._engine.post(incoming)
        try:
            ringing = pj.CallOpParam()
            ringing.statusCode = 180
            call.answer(ringing)
        except pj.Error as err:
            log.warning("could not send 180 Ringing: %s", err.info())

    def onInstantMessage(self, prm: Any) -> None:
        # Reached only with cusax.sip_im_presence on (else firmware/sip/sip_im.py refuses MESSAGE
        # first): pjsua has already answered 200. Chat is XMPP's (RFC 7081): logged, not shown.
        log.info("SIP MESSAGE from %s (%d bytes) logged only: chat is XMPP", str(prm.fromUri)[:80],
                 len(str(prm.msgBody)))  # fmt: skip


class PhoneCall(pj.Call):  # type: ignore[misc]
    def __init__(self, account: PhoneAccount, engine: SipEngine, call_id: int, pj_call_id: int = -1) -> None:
        if pj_call_id == -1:
            super().__init__(account)
        else:
            super().__init__(account, pj_call_id)
        self.call_id = call_id
        self.outgoing = pj_call_id == -1
        self._engine = engine
        self.ended = False
        self.want_hold: bool | None = None  # None: the person never pressed HOLD on this call
        self._local_hold = False
        self.hold_attempts = 0

    def is_on_local_hold(self) -> bool:
        return self._local_hold

    def onCallState(self, prm: Any) -> None:
        info = self.getInfo()
        state = info.state
        if state == pj.PJSIP_INV_STATE_EARLY and self.outgoing:
            early = info.lastStatusCode == 183 or self._has_active_audio(info)
            self._engine.post(CallRinging(self.call_id, early_media=early))
        elif state == pj.PJSIP_INV_STATE_CONFIRMED:
            group = parse_call_info(_received(prm)).group_chat if self.outgoing else ""
            self._engine.post(CallConnected(self.call_id, group_chat=group))
        elif state == pj.PJSIP_INV_STATE_DISCONNECTED and not self.ended:
            self.ended = True
            self._engine.post(CallEnded(self.call_id, int(info.lastStatusCode), str(info.lastReason)))
            self._engine.forget_call(self)

    def onCallMediaState(self, prm: Any) -> None:
        info = self.getInfo()
        active = local_hold = remote_hold = False
        for media in info.media:
            if media.type != pj.PJMEDIA_TYPE_AUDIO:
                continue
            status = media.status
            local_hold |= status == pj.PJSUA_CALL_MEDIA_LOCAL_HOLD
            remote_hold |= status == pj.PJSUA_CALL_MEDIA_REMOTE_HOLD
            if self._engine.strict_media_source and status in STREAMING:
                guard_call_media(self, media.index)  # also on hold: music on hold may come from elsewhere
            if status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                active = True
                self._engine.connect_audio(self.getAudioMedia(media.index))
        self._local_hold = local_hold
        self._engine.post(CallMedia(self.call_id, active, local_hold=local_hold, remote_hold=remote_hold))
        self._engine.reconcile_hold(self)

    def onDtmfDigit(self, prm: Any) -> None:
        # Runs on pjmedia's media thread, not the loop's: only hand the digit over.
        self._engine.on_dtmf_threadsafe(self.call_id, str(prm.digit))

    @staticmethod
    def _has_active_audio(info: Any) -> bool:
        return any(
            m.type == pj.PJMEDIA_TYPE_AUDIO and m.status == pj.PJSUA_CALL_MEDIA_ACTIVE for m in info.media
        )


def _received(prm: Any) -> str:
    """The SIP message that caused this call state change (the 200 OK), "" when none was received."""
    try:
        event = prm.e
        if event.type != pj.PJSIP_EVENT_TSX_STATE or event.body.tsxState.type != pj.PJSIP_EVENT_RX_MSG:
            return ""
        return str(event.body.tsxState.src.rdata.wholeMsg)[:MAX_MESSAGE]
    except (AttributeError, pj.Error):
        return ""
