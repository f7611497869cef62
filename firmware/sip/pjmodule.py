"""PJSIP modules written in Python, registered through ctypes.

pjsua2 exposes no way to add a PJSIP module, but the pjsua2 extension exports pjsip's public C API
(`nm -D _pjsua2*.so`). A `RequestModule` subclass sees incoming requests at its `priority` (pjsip
runs modules in ascending order: transaction, UA and dialog layers 16-48, pjsua 64, so 61-62 sees
only out-of-dialog requests before pjsua and 99 only what nobody handled) and returns True from
`handle(rdata)` when it answered the request itself.

With threadCnt=0 modules run inside libHandleEvents, on the asyncio loop's thread. When the
symbols are missing (a pjsua2 built with hidden symbols), start() logs why and returns False.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from dataclasses import dataclass
from typing import Any, ClassVar

import pjsua2 as pj

log = logging.getLogger(__name__)

RX = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
_P = ctypes.c_void_p
# name -> (restype, argtypes) of every pjsip/pjsua function a module may call.
_SIGNATURES: dict[str, tuple[Any, tuple[Any, ...]]] = {
    "pjsua_get_pjsip_endpt": (_P, ()),
    "pjsip_endpt_register_module": (ctypes.c_int, (_P, _P)),
    "pjsip_endpt_unregister_module": (ctypes.c_int, (_P, _P)),
    "pjsip_rx_data_get_info": (ctypes.c_char_p, (_P,)),
    "pjsua_acc_find_for_incoming": (ctypes.c_int, (_P,)),
    "pjsip_endpt_respond": (ctypes.c_int, (_P, _P, _P, ctypes.c_int, _P, _P, _P, _P)),
    "pjsip_endpt_respond_stateless": (ctypes.c_int, (_P, _P, ctypes.c_int, _P, _P, _P)),
    "pjsip_tsx_layer_get_tsx_count": (ctypes.c_uint, ()),
    "pjsip_ua_get_dlg_set_count": (ctypes.c_uint, ()),
}
_REQUIRED = ("pjsua_get_pjsip_endpt", "pjsip_endpt_register_module", "pjsip_endpt_unregister_module",
             "pjsip_rx_data_get_info")  # fmt: skip


class PjStr(ctypes.Structure):
    _fields_ = (("ptr", ctypes.c_char_p), ("slen", ctypes.c_ssize_t))


class _PjsipModule(ctypes.Structure):
    """struct pjsip_module (sip_module.h), unchanged since pjsip 1.x."""

    _fields_ = (
        ("prev", ctypes.c_void_p),
        ("next", ctypes.c_void_p),
        ("name", PjStr),
        ("id", ctypes.c_int),
        ("priority", ctypes.c_int),
        ("load", ctypes.c_void_p),
        ("start", ctypes.c_void_p),
        ("stop", ctypes.c_void_p),
        ("unload", ctypes.c_void_p),
        ("on_rx_request", RX),
        ("on_rx_response", ctypes.c_void_p),
        ("on_tx_request", ctypes.c_void_p),
        ("on_tx_response", ctypes.c_void_p),
        ("on_tsx_state", ctypes.c_void_p),
    )


def library() -> ctypes.PyDLL | None:
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


@dataclass(frozen=True)
class SipObjects:
    """pjsip's live transactions and dialogs. A finished call keeps both for a while: over UDP
    pjsip holds its INVITE transactions 64*T1 = 32 s to absorb retransmissions (RFC 3261 17.1.1.2,
    RFC 6026) and the dialog lives as long as its last transaction."""

    transactions: int
    dialogs: int


def live_sip_objects() -> SipObjects | None:
    """The counts from pjsip's transaction layer and UA layer (None without the symbols)."""
    lib = library()
    if lib is None or _unbound(lib, ("pjsip_tsx_layer_get_tsx_count", "pjsip_ua_get_dlg_set_count")):
        return None
    return SipObjects(int(lib.pjsip_tsx_layer_get_tsx_count()), int(lib.pjsip_ua_get_dlg_set_count()))


def _unbound(lib: ctypes.PyDLL, names: tuple[str, ...]) -> list[str]:
    """Give `names` their C signatures from _SIGNATURES; returns the ones `lib` does not export
    (then nothing is bound)."""
    missing = [n for n in names if not hasattr(lib, n)]
    for name in () if missing else names:
        func = getattr(lib, name)
        func.restype, func.argtypes = _SIGNATURES[name]
    return missing


def pj_str(buffer: ctypes.Array[ctypes.c_char]) -> PjStr:
    """A pj_str_t over a buffer the caller keeps alive."""
    return PjStr(ctypes.cast(buffer, ctypes.c_char_p), len(buffer.value))


class RequestModule:
    """Base of the phone's PJSIP modules; start() after libStart(), stop() before libDestroy()."""

    NAME: ClassVar[bytes]
    PRIORITY: ClassVar[int]
    NEEDS: ClassVar[tuple[str, ...]] = ()  # C functions beyond the registration ones
    WHAT: ClassVar[str]  # what is lost without the module, for the log

    def __init__(self) -> None:
        self.lib: Any = None
        self.endpt: int | None = None
        self._callback = RX(self._on_rx_request)  # kept: C holds a pointer to it
        self._name = ctypes.create_string_buffer(self.NAME)
        self._module = _PjsipModule(name=pj_str(self._name), id=-1, priority=self.PRIORITY,
                                    on_rx_request=self._callback)  # fmt: skip

    def start(self) -> bool:
        lib = library()
        missing = list(_REQUIRED + self.NEEDS) if lib is None else _unbound(lib, _REQUIRED + self.NEEDS)
        if lib is None or missing:
            log.warning("%s unavailable: this pjsua2 build does not export %s", self.WHAT, ", ".join(missing))
            return False
        endpt = lib.pjsua_get_pjsip_endpt()
        status = lib.pjsip_endpt_register_module(endpt, ctypes.byref(self._module)) if endpt else -1
        if status != 0:
            log.warning("%s unavailable: registering the PJSIP module failed (%s)", self.WHAT, status)
            return False
        self.lib, self.endpt = lib, endpt
        log.info("%s: PJSIP module %s registered (id %d)", self.WHAT, self.NAME.decode(), self._module.id)
        return True

    def stop(self) -> None:
        if self.lib is not None and self.endpt is not None:
            self.lib.pjsip_endpt_unregister_module(self.endpt, ctypes.byref(self._module))
        self.lib = self.endpt = None

    def request_line(self, rdata: int) -> bytes:
        """pjsip's one-line summary, "Request msg NOTIFY/cseq=1 (rdata0x...)": the method, cheaply."""
        return bytes(self.lib.pjsip_rx_data_get_info(rdata) or b"")

    def _on_rx_request(self, rdata: int) -> int:
        if self.lib is None:
            return 0
        try:
            return int(self.handle(rdata))
        except Exception:  # an exception must never cross into C
            log.exception("%s: module failed", self.WHAT)
            return 0

    def handle(self, rdata: int) -> bool:
        raise NotImplementedError
