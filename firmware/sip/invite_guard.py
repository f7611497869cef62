"""Bounds the rate of new incoming calls, before pjsua spends sockets on them.

Found by the resilience suite: ~300 INVITEs in 0.2 s to the SIP port abort the process inside
pjlib (`pj_ioqueue_register_sock2: Assertion '!pj_list_empty(&ioqueue->free_list)'`): pjsua
opens an RTP and an RTCP socket for every incoming INVITE, and pjlib reuses a closed socket's
ioqueue slot only after 500 ms. Anyone who can send UDP to the phone could keep it down.

This PJSIP module (the ctypes technique of firmware/sip/checksync.py) sits after pjsip's dialog
layer, so it only sees out-of-dialog requests: new INVITEs beyond a token bucket (a desk phone
gets a few calls a minute; RATE/BURST leave a wide margin) are answered `503` statelessly, with
no transaction, no media and no pjsua involvement. Re-INVITEs inside calls never reach it.
"""

from __future__ import annotations

import ctypes
import logging
import time
from typing import Any

from firmware.ratelimit import Clock, TokenBucket
from firmware.sip.checksync import _RX, _library, _PjsipModule, _PjStr

log = logging.getLogger(__name__)

PRIORITY = 61  # after pjsip's transaction, UA and dialog layers (16-48), before pjsua (64)
RATE_PER_S = 20.0  # x 2 sockets x 0.5 s before pjlib recycles a slot: ~20 slots, of 64
BURST = 20.0
REASON = b"Too many calls, try later"
LOG_EVERY_S = 5.0  # a flood is one log line every few seconds, not one per INVITE


class InviteGuard:
    """start() after libStart(), stop() before libDestroy(); `refused` counts the 503s."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._bucket = TokenBucket(RATE_PER_S, BURST, clock)
        self._clock = clock
        self._lib: Any = None
        self._endpt: int | None = None
        self.refused = 0
        self._logged_at = -LOG_EVERY_S
        self._callback = _RX(self._on_rx_request)  # kept: C holds a pointer to it
        name = b"mod-deskphone-invite-guard"
        self._name = ctypes.create_string_buffer(name)
        self._module = _PjsipModule(
            name=_PjStr(ctypes.cast(self._name, ctypes.c_char_p), len(name)),
            id=-1,
            priority=PRIORITY,
            on_rx_request=self._callback,
        )
        self._reason = ctypes.create_string_buffer(REASON)

    def start(self) -> bool:
        lib = _library()
        needed = ("pjsua_get_pjsip_endpt", "pjsip_endpt_register_module", "pjsip_endpt_unregister_module",
                  "pjsip_rx_data_get_info", "pjsip_endpt_respond_stateless")  # fmt: skip
        if lib is None or not all(hasattr(lib, n) for n in needed):
            log.warning("incoming calls are not rate-limited: pjsip's module API is not exported")
            return False
        lib.pjsua_get_pjsip_endpt.restype = ctypes.c_void_p
        lib.pjsip_rx_data_get_info.restype = ctypes.c_char_p
        lib.pjsip_rx_data_get_info.argtypes = (ctypes.c_void_p,)
        lib.pjsip_endpt_register_module.argtypes = (ctypes.c_void_p, ctypes.c_void_p)
        lib.pjsip_endpt_unregister_module.argtypes = (ctypes.c_void_p, ctypes.c_void_p)
        ptr = ctypes.c_void_p
        lib.pjsip_endpt_respond_stateless.argtypes = (ptr, ptr, ctypes.c_int, ptr, ptr, ptr)
        endpt = lib.pjsua_get_pjsip_endpt()
        status = lib.pjsip_endpt_register_module(endpt, ctypes.byref(self._module)) if endpt else -1
        if status != 0:
            log.warning("incoming calls are not rate-limited: module registration failed (%s)", status)
            return False
        self._lib, self._endpt = lib, endpt
        return True

    def stop(self) -> None:
        if self._lib is not None and self._endpt is not None:
            self._lib.pjsip_endpt_unregister_module(self._endpt, ctypes.byref(self._module))
        self._lib = self._endpt = None

    def _on_rx_request(self, rdata: int) -> int:
        try:
            return self._handle(rdata)
        except Exception:  # an exception must never cross into C
            log.exception("INVITE guard failed")
            return 0

    def _handle(self, rdata: int) -> int:
        lib = self._lib
        if lib is None:
            return 0
        info = lib.pjsip_rx_data_get_info(rdata) or b""
        if not info.startswith(b"Request msg INVITE/") or self._bucket.take():
            return 0
        text = _PjStr(ctypes.cast(self._reason, ctypes.c_char_p), len(REASON))
        lib.pjsip_endpt_respond_stateless(self._endpt, rdata, 503, ctypes.byref(text), None, None)
        self.refused += 1
        now = self._clock()
        if now - self._logged_at >= LOG_EVERY_S:
            self._logged_at = now
            log.warning("INVITE flood: %d new calls refused with 503 so far", self.refused)
        return 1
