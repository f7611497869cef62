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

from firmware.sip.checksync import CheckSyncEndpoint, parse_request
from firmware.sip.pjmodule import RequestModule, pj_str

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


class SipImGuard(RequestModule):
    """Refuses SIP MESSAGE and presence SUBSCRIBE; start() after libStart(), stop() before libDestroy()."""

    NAME = b"mod-deskphone-no-sip-im"
    PRIORITY = PRIORITY
    NEEDS = ("pjsua_acc_find_for_incoming", "pjsip_endpt_respond")
    WHAT = "refusing IM and presence over SIP (RFC 7081 section 2)"

    def __init__(self, endpoint: CheckSyncEndpoint) -> None:
        super().__init__()
        self._ep = endpoint
        self.refused = 0
        self._reasons = {code: ctypes.create_string_buffer(text) for code, text in
                         ((403, MESSAGE_REASON), (489, SUBSCRIBE_REASON))}  # fmt: skip

    def handle(self, rdata: int) -> bool:
        if not self.request_line(rdata).startswith((b"Request msg MESSAGE/", b"Request msg SUBSCRIBE/")):
            return False
        self._ep.request = ("", "")
        self.lib.pjsua_acc_find_for_incoming(rdata)  # -> CheckSyncEndpoint.onSelectAccount: the text
        text, source = self._ep.request
        method, headers = parse_request(text)
        answer = refusal(method, headers.get("event", ""))
        if answer is None:
            return False
        code, _reason = answer
        reason = pj_str(self._reasons[code])
        self.lib.pjsip_endpt_respond(self.endpt, None, rdata, code, ctypes.byref(reason), None, None, None)
        self.refused += 1
        who = headers.get("from", "?")[:80]
        log.info("SIP %s from %s (%s) refused with %d: IM and presence are XMPP's", method, who, source, code)
        return True
