"""SIP `NOTIFY Event: check-sync` (what PBX admin tools send to make phones re-read their config).

Stock pjsua drops it: no pjsua module claims an out-of-dialog NOTIFY whose event is not
message-summary, so pjsip's endpoint logs "Request msg NOTIFY/cseq=1 (...) was dropped/unhandled
by any modules", sends no response (the sender retransmits for 32 s) and Python never hears of it.
pjsua2 exposes no way to add a PJSIP module. This file adds one through ctypes
(firmware/sip/pjmodule.py), using only pjsip's public C API, which the pjsua2 extension exports:

    pjsip_endpt_register_module   a module at priority 99, after every pjsua module, so it only
                                  sees requests nobody else handled (INVITE, MESSAGE, MWI NOTIFY
                                  and in-dialog requests never reach it)
    pjsip_rx_data_get_info        "Request msg NOTIFY/cseq=1 (rdata0x...)": the method, cheaply
    pjsua_acc_find_for_incoming   makes pjsua2 call Endpoint.onSelectAccount(prm), whose
                                  prm.rdata.wholeMsg is the whole request text (parsed below)
    pjsip_endpt_respond           200 OK (or 403 from a source that is not trusted), stateful,
                                  so retransmissions are absorbed by the transaction

With threadCnt=0 the module runs inside libHandleEvents, on the asyncio loop's thread. When the
symbols are missing (a pjsua2 built with hidden symbols), start() says so and returns False.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pjsua2 as pj

from firmware.sip.pjmodule import RequestModule

log = logging.getLogger(__name__)

EVENTS = frozenset({"check-sync", "resync"})  # resync: Cisco's name for the same thing


class CheckSyncEndpoint(pj.Endpoint):  # type: ignore[misc]
    """The pjsua2 Endpoint, remembering the text and source of the request being dispatched."""

    def __init__(self) -> None:
        super().__init__()
        self.request: tuple[str, str] = ("", "")

    def onSelectAccount(self, prm: Any) -> None:
        self.request = (str(prm.rdata.wholeMsg), str(prm.rdata.srcAddress))


def parse_request(text: str) -> tuple[str, dict[str, str]]:
    """(method, {lower-case header name: first value}) of a SIP request's head."""
    head = text.replace("\r\n", "\n").split("\n\n", 1)[0].split("\n")
    method = head[0].split(" ", 1)[0] if head else ""
    compact = {"o": "event", "t": "to", "f": "from", "i": "call-id"}
    headers: dict[str, str] = {}
    for line in head[1:]:
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            headers.setdefault(compact.get(key, key), value.strip())
    return method, headers


def is_check_sync(text: str) -> bool:
    """An out-of-dialog NOTIFY whose Event is check-sync (parameters such as ;reboot=false ignored)."""
    method, headers = parse_request(text)
    event = headers.get("event", "").split(";", 1)[0].strip().lower()
    to_has_tag = ";tag=" in headers.get("to", "").replace(" ", "").lower()
    return method == "NOTIFY" and event in EVENTS and not to_has_tag


class CheckSyncListener(RequestModule):
    """Answers check-sync NOTIFYs and calls `on_check_sync(source)` for the trusted ones."""

    NAME = b"mod-deskphone-check-sync"
    PRIORITY = 99  # after every pjsua module: only requests nobody else handled
    NEEDS = ("pjsua_acc_find_for_incoming", "pjsip_endpt_respond")
    WHAT = "check-sync NOTIFY"

    def __init__(
        self,
        endpoint: CheckSyncEndpoint,
        on_check_sync: Callable[[str], None],
        trusted: Callable[[str], bool],
    ) -> None:
        super().__init__()
        self._ep, self._on_check_sync, self._trusted = endpoint, on_check_sync, trusted

    def handle(self, rdata: int) -> bool:
        if not self.request_line(rdata).startswith(b"Request msg NOTIFY/"):
            return False
        self._ep.request = ("", "")
        self.lib.pjsua_acc_find_for_incoming(rdata)  # -> CheckSyncEndpoint.onSelectAccount
        text, source = self._ep.request
        if not is_check_sync(text):
            return False  # leave it to pjsip, as before
        if not self._trusted(source):
            log.warning("check-sync from %s refused: not the registrar", source)
            self.lib.pjsip_endpt_respond(self.endpt, None, rdata, 403, None, None, None, None)
            return True
        self.lib.pjsip_endpt_respond(self.endpt, None, rdata, 200, None, None, None, None)
        log.info("check-sync NOTIFY from %s", source)
        self._on_check_sync(source)
        return True


def source_host(address: str) -> str:
    """'127.0.0.1:5060' / '[::1]:5060' -> the host part."""
    if address.startswith("["):
        return address[1:].split("]", 1)[0]
    return address.rsplit(":", 1)[0]
