"""No instant messaging or presence over SIP (RFC 7081 section 2: chat and presence are XMPP's).

What stock pjsua does: an out-of-dialog `MESSAGE` is answered 200 OK by pjsua's IM module
before the application hears of it (`Account.onInstantMessage`), and a `SUBSCRIBE` for the
`presence` event is accepted (200, then NOTIFYs) by its presence module. A CUSAX phone with
`cusax.sip_im_presence = false` (the default) must not look reachable for SIP chat: senders
would believe their messages were read. This PJSIP module (the same ctypes technique and C API
as firmware/sip/checksync.py) runs before pjsua's modules and answers

    MESSAGE                                 403 "IM over SIP is off: use XMPP"
    SUBSCRIBE Event: presence[.winfo]       489 Bad Event

with a log line; everything else goes on to pjsua untouched. In-dialog requests (a MESSAGE
inside a call) never reach it: pjsip's dialog layer takes those first, and pjsua answers them.
"""

from __future__ import annotations

import ctypes
import logging
from typing import Any

from firmware.sip.checksync import _RX, CheckSyncEndpoint, _library, _PjsipModule, _PjStr, parse_request

log = logging.getLogger(__name__)

PRIORITY = 62  # after pjsip's transaction, UA and dialog-usage layers (16-48), before pjsua (64)
PRESENCE_EVENTS = frozenset({"presence", "presence.winfo"})
MESSAGE_REASON = b"IM over SIP is off: use XMPP"
SUBSCRIBE_REASON = b"Bad Event"


def refusal(method: str, event: str) -> tuple[int, bytes] | None:
    """The answer to an out-of-dialog request, or None to let pjsua handle it."""
    if method == "MESSAGE":
        return 403, MESSAGE_REASON
    if method == "SUBSCRIBE" and event.split(";", 1)[0].strip().lower() in PRESENCE_EVENTS:
        return 489, SUBSCRIBE_REASON
    return None


class SipImGuard:
    """Refuses SIP MESSAGE and presence SUBSCRIBE; start() after libStart(), stop() before libDestroy()."""

    def __init__(self, endpoint: CheckSyncEndpoint) -> None:
        self._ep = endpoint
        self._lib: Any = None
        self._endpt: int | None = None
        self.refused = 0
        self._callback = _RX(self._on_rx_request)  # kept: C holds a pointer to it
        name = b"mod-deskphone-no-sip-im"
        self._name = ctypes.create_string_buffer(name)
        self._module = _PjsipModule(
            name=_PjStr(ctypes.cast(self._name, ctypes.c_char_p), len(name)),
            id=-1,
            priority=PRIORITY,
            on_rx_request=self._callback,
        )
        self._reasons = {code: ctypes.create_string_buffer(text) for code, text in
                         ((403, MESSAGE_REASON), (489, SUBSCRIBE_REASON))}  # fmt: skip

    def start(self) -> bool:
        lib = _library()
        needed = ("pjsua_get_pjsip_endpt", "pjsip_endpt_register_module", "pjsip_endpt_unregister_module",
                  "pjsip_rx_data_get_info", "pjsua_acc_find_for_incoming", "pjsip_endpt_respond")  # fmt: skip
        if lib is None or not all(hasattr(lib, n) for n in needed):
            log.warning("SIP MESSAGE/SUBSCRIBE cannot be refused: pjsip's module API is not exported")
            return False
        lib.pjsua_get_pjsip_endpt.restype = ctypes.c_void_p
        lib.pjsip_rx_data_get_info.restype = ctypes.c_char_p
        lib.pjsip_rx_data_get_info.argtypes = (ctypes.c_void_p,)
        lib.pjsua_acc_find_for_incoming.argtypes = (ctypes.c_void_p,)
        lib.pjsip_endpt_register_module.argtypes = (ctypes.c_void_p, ctypes.c_void_p)
        lib.pjsip_endpt_unregister_module.argtypes = (ctypes.c_void_p, ctypes.c_void_p)
        lib.pjsip_endpt_respond.argtypes = (ctypes.c_void_p,) * 3 + (ctypes.c_int,) + (ctypes.c_void_p,) * 4
        endpt = lib.pjsua_get_pjsip_endpt()
        status = lib.pjsip_endpt_register_module(endpt, ctypes.byref(self._module)) if endpt else -1
        if status != 0:
            log.warning("SIP MESSAGE/SUBSCRIBE cannot be refused: module registration failed (%s)", status)
            return False
        self._lib, self._endpt = lib, endpt
        log.info("IM and presence over SIP refused (RFC 7081 section 2; PJSIP module id %d)", self._module.id)
        return True

    def stop(self) -> None:
        if self._lib is not None and self._endpt is not None:
            self._lib.pjsip_endpt_unregister_module(self._endpt, ctypes.byref(self._module))
        self._lib = self._endpt = None

    def _on_rx_request(self, rdata: int) -> int:
        try:
            return self._handle(rdata)
        except Exception:  # an exception must never cross into C
            log.exception("SIP IM guard failed")
            return 0

    def _handle(self, rdata: int) -> int:
        lib = self._lib
        info = (lib.pjsip_rx_data_get_info(rdata) or b"") if lib is not None else b""
        if not info.startswith((b"Request msg MESSAGE/", b"Request msg SUBSCRIBE/")):
            return 0
        self._ep.request = ("", "")
        lib.pjsua_acc_find_for_incoming(rdata)  # -> CheckSyncEndpoint.onSelectAccount: the text
        text, source = self._ep.request
        method, headers = parse_request(text)
        answer = refusal(method, headers.get("event", ""))
        if answer is None:
            return 0
        code, _reason = answer
        reason = self._reasons[code]
        st_text = _PjStr(ctypes.cast(reason, ctypes.c_char_p), len(reason.value))
        lib.pjsip_endpt_respond(self._endpt, None, rdata, code, ctypes.byref(st_text), None, None, None)
        self.refused += 1
        who = headers.get("from", "?")[:80]
        log.info("SIP %s from %s (%s) refused with %d: IM and presence are XMPP's", method, who, source, code)
        return 1
