"""SIP `NOTIFY Event: check-sync` (what PBX admin tools send to make phones re-read their config).

Stock pjsua drops it: no pjsua module claims an out-of-dialog NOTIFY whose event is not
message-summary, so pjsip's endpoint logs "Request msg NOTIFY/cseq=1 (...) was dropped/unhandled
by any modules", sends no response (the sender retransmits for 32 s) and Python never hears of it.
pjsua2 exposes no way to add a PJSIP module. This file adds one through ctypes, using only
pjsip's public C API, which the pjsua2 extension exports (`nm -D _pjsua2*.so`):

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

import ctypes
import logging
import sys
from collections.abc import Callable
from typing import Any

import pjsua2 as pj

log = logging.getLogger(__name__)

PRIORITY = 99  # PJSIP_MOD_PRIORITY_APPLICATION is 64; higher numbers run later
EVENTS = frozenset({"check-sync", "resync"})  # resync: Cisco's name for the same thing
_RX = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class _PjStr(ctypes.Structure):
    _fields_ = (("ptr", ctypes.c_char_p), ("slen", ctypes.c_ssize_t))


class _PjsipModule(ctypes.Structure):
    """struct pjsip_module (sip_module.h), unchanged since pjsip 1.x."""

    _fields_ = (
        ("prev", ctypes.c_void_p),
        ("next", ctypes.c_void_p),
        ("name", _PjStr),
        ("id", ctypes.c_int),
        ("priority", ctypes.c_int),
        ("load", ctypes.c_void_p),
        ("start", ctypes.c_void_p),
        ("stop", ctypes.c_void_p),
        ("unload", ctypes.c_void_p),
        ("on_rx_request", _RX),
        ("on_rx_response", ctypes.c_void_p),
        ("on_tx_request", ctypes.c_void_p),
        ("on_tx_response", ctypes.c_void_p),
        ("on_tsx_state", ctypes.c_void_p),
    )


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


def _library() -> ctypes.PyDLL | None:
    """The loaded pjsua2 extension module (its pjsip symbols), or None."""
    pj.Endpoint  # noqa: B018 - the wheel loads its extension lazily
    for name in ("pjsua2._pjsua2", "_pjsua2"):
        path = getattr(sys.modules.get(name), "__file__", None)
        if path:
            try:
                return ctypes.PyDLL(path)  # PyDLL: keep the GIL (the call re-enters Python)
            except OSError:
                return None
    return None


class CheckSyncListener:
    """Answers check-sync NOTIFYs and calls `on_check_sync(source)` for the trusted ones."""

    def __init__(
        self,
        endpoint: CheckSyncEndpoint,
        on_check_sync: Callable[[str], None],
        trusted: Callable[[str], bool],
    ) -> None:
        self._ep, self._on_check_sync, self._trusted = endpoint, on_check_sync, trusted
        self._lib: Any = None
        self._endpt: int | None = None
        self._callback = _RX(self._on_rx_request)  # kept: C holds a pointer to it
        name = b"mod-deskphone-check-sync"
        self._name = ctypes.create_string_buffer(name)
        self._module = _PjsipModule(
            name=_PjStr(ctypes.cast(self._name, ctypes.c_char_p), len(name)),
            id=-1,
            priority=PRIORITY,
            on_rx_request=self._callback,
        )

    def start(self) -> bool:
        lib = _library()
        needed = ("pjsua_get_pjsip_endpt", "pjsip_endpt_register_module", "pjsip_endpt_unregister_module",
                  "pjsip_rx_data_get_info", "pjsua_acc_find_for_incoming", "pjsip_endpt_respond")  # fmt: skip
        if lib is None or not all(hasattr(lib, n) for n in needed):
            log.warning("check-sync unavailable: this pjsua2 build does not export pjsip's module API")
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
            log.warning("check-sync unavailable: registering the PJSIP module failed (%s)", status)
            return False
        self._lib, self._endpt = lib, endpt
        log.info("check-sync NOTIFY accepted (PJSIP module id %d)", self._module.id)
        return True

    def stop(self) -> None:
        """Before libDestroy()."""
        if self._lib is not None and self._endpt is not None:
            self._lib.pjsip_endpt_unregister_module(self._endpt, ctypes.byref(self._module))
        self._lib = self._endpt = None

    def _on_rx_request(self, rdata: int) -> int:
        try:
            return self._handle(rdata)
        except Exception:  # an exception must never cross into C
            log.exception("check-sync handler failed")
            return 0

    def _handle(self, rdata: int) -> int:
        lib = self._lib
        if lib is None or not (lib.pjsip_rx_data_get_info(rdata) or b"").startswith(b"Request msg NOTIFY/"):
            return 0
        self._ep.request = ("", "")
        lib.pjsua_acc_find_for_incoming(rdata)  # -> CheckSyncEndpoint.onSelectAccount
        text, source = self._ep.request
        if not is_check_sync(text):
            return 0  # leave it to pjsip, as before
        if not self._trusted(source):
            log.warning("check-sync from %s refused: not the registrar", source)
            lib.pjsip_endpt_respond(self._endpt, None, rdata, 403, None, None, None, None)
            return 1
        lib.pjsip_endpt_respond(self._endpt, None, rdata, 200, None, None, None, None)
        log.info("check-sync NOTIFY from %s", source)
        self._on_check_sync(source)
        return 1


def source_host(address: str) -> str:
    """'127.0.0.1:5060' / '[::1]:5060' -> the host part."""
    if address.startswith("["):
        return address[1:].split("]", 1)[0]
    return address.rsplit(":", 1)[0]
