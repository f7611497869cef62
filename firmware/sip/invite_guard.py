"""Bounds the rate of new incoming calls, before pjsua spends sockets on them.

Found by the resilience suite: ~300 INVITEs in 0.2 s to the SIP port abort the process inside
pjlib (`pj_ioqueue_register_sock2: Assertion '!pj_list_empty(&ioqueue->free_list)'`): pjsua
opens an RTP and an RTCP socket for every incoming INVITE, and pjlib reuses a closed socket's
ioqueue slot only after 500 ms. Anyone who can send UDP to the phone could keep it down.

This PJSIP module (firmware/sip/pjmodule.py) sits after pjsip's dialog
layer, so it only sees out-of-dialog requests: new INVITEs beyond a token bucket (a desk phone
gets a few calls a minute; RATE/BURST leave a wide margin) are answered `503` statelessly, with
no transaction, no media and no pjsua involvement. Re-INVITEs inside calls never reach it.
"""

from __future__ import annotations

import ctypes
import logging
import time

from firmware.ratelimit import Clock, TokenBucket
from firmware.sip.pjmodule import RequestModule, pj_str

log = logging.getLogger(__name__)

PRIORITY = 61  # after pjsip's transaction, UA and dialog layers (16-48), before pjsua (64)
RATE_PER_S = 20.0  # x 2 sockets x 0.5 s before pjlib recycles a slot: ~20 slots, of 64
BURST = 20.0
REASON = b"Too many calls, try later"
LOG_EVERY_S = 5.0  # a flood is one log line every few seconds, not one per INVITE


class InviteGuard(RequestModule):
    """start() after libStart(), stop() before libDestroy(); `refused` counts the 503s."""

    NAME = b"mod-deskphone-invite-guard"
    PRIORITY = PRIORITY
    NEEDS = ("pjsip_endpt_respond_stateless",)
    WHAT = "rate limit of incoming calls"

    def __init__(self, clock: Clock = time.monotonic) -> None:
        super().__init__()
        self._bucket = TokenBucket(RATE_PER_S, BURST, clock)
        self._clock = clock
        self.refused = 0
        self._logged_at = -LOG_EVERY_S
        self._reason = ctypes.create_string_buffer(REASON)

    def handle(self, rdata: int) -> bool:
        if not self.request_line(rdata).startswith(b"Request msg INVITE/") or self._bucket.take():
            return False
        text = pj_str(self._reason)
        self.lib.pjsip_endpt_respond_stateless(self.endpt, rdata, 503, ctypes.byref(text), None, None)
        self.refused += 1
        now = self._clock()
        if now - self._logged_at >= LOG_EVERY_S:
            self._logged_at = now
            log.warning("INVITE flood: %d new calls refused with 503 so far", self.refused)
        return True
