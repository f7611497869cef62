"""pjsua2's transport and account configuration from the phone's `[sip]` settings (pure: no
endpoint needed to build them)."""

from __future__ import annotations

import os
import socket
from typing import Any

import pjsua2 as pj

from firmware.config import Sip
from firmware.errors import SipError

SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
_TRANSPORTS = {"udp": "PJSIP_TRANSPORT_UDP", "tcp": "PJSIP_TRANSPORT_TCP", "tls": "PJSIP_TRANSPORT_TLS"}
_SRTP = {
    "off": "PJMEDIA_SRTP_DISABLED",
    "optional": "PJMEDIA_SRTP_OPTIONAL",
    "mandatory": "PJMEDIA_SRTP_MANDATORY",
}


def transport_type(sip: Sip) -> int:
    return int(getattr(pj, _TRANSPORTS[sip.transport]))


def transport_config(sip: Sip) -> Any:
    cfg = pj.TransportConfig()
    cfg.port = sip.local_port
    if sip.transport != "udp":
        # Without TCP_NODELAY, delayed ACKs stall call set-up by ~40 ms per round trip.
        cfg.sockOptParams = _nodelay()
    if sip.transport == "tls":
        tls = cfg.tlsConfig
        tls.CaListFile = sip.tls_ca_file or SYSTEM_CA_BUNDLE
        if not os.path.exists(tls.CaListFile):
            raise SipError(f"TLS CA file {tls.CaListFile} does not exist")
        tls.verifyServer = sip.tls_verify_server
        tls.method = pj.PJSIP_TLSV1_2_METHOD
        tls.sockOptParams = _nodelay()
    return cfg


def server_uri(sip: Sip) -> str:
    return f"sip:{sip.registrar}:{sip.effective_port};transport={sip.transport}"


def account_config(sip: Sip, transport_id: int) -> Any:
    cfg = pj.AccountConfig()
    name = sip.display_name.replace('"', "")
    cfg.idUri = f'"{name}" <sip:{sip.user}@{sip.domain}>' if name else f"sip:{sip.user}@{sip.domain}"
    cfg.regConfig.registrarUri = server_uri(sip)
    cfg.regConfig.timeoutSec = sip.register_expiry_s
    # pjsip's own retry (300 s by default) is off: the engine's Backoff owns recovery.
    cfg.regConfig.retryIntervalSec = 0
    cfg.regConfig.firstRetryIntervalSec = 0
    cfg.regConfig.dropCallsOnFail = False  # a registrar hiccup must not cut an active call
    cfg.sipConfig.transportId = transport_id
    cfg.sipConfig.proxies.append(server_uri(sip) + ";lr")
    cred = pj.AuthCredInfo("digest", "*", sip.auth_user or sip.user, 0, sip.password)
    cfg.sipConfig.authCreds.append(cred)
    nat = cfg.natConfig
    # The provider's proxy handles NAT (Kamailio nathelper); rewriting here breaks loopback and LANs.
    nat.contactRewriteUse = nat.viaRewriteUse = nat.sdpNatRewriteUse = 0
    nat.iceEnabled = False
    cfg.mediaConfig.srtpUse = int(getattr(pj, _SRTP[sip.srtp]))
    cfg.mediaConfig.srtpSecureSignaling = 0
    return cfg


def _nodelay() -> Any:
    params = pj.SockOptParams()
    opt = pj.SockOpt()
    opt.level = socket.IPPROTO_TCP
    opt.optName = socket.TCP_NODELAY
    opt.setOptValInt(1)
    params.sockOpts.append(opt)
    return params
