"""The XMPP engine factory the app takes (Phone(xmpp_factory=...)), from a configuration.

Kept apart from firmware/xmpp/client.py so that importing firmware.xmpp (the model, which the
events use) does not import slixmpp; the client is imported when a phone with an account starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from firmware import config as config_mod
from firmware.cusax import CHAT, assess
from firmware.events import Event
from firmware.xmpp.refused import RefusedChat

if TYPE_CHECKING:
    from firmware.xmpp.client import XmppEngine


log = logging.getLogger(__name__)

# Called with the slixmpp client each time the engine builds one (e.g. the XEP-0050 command).
ClientExtension = Callable[[Any], None]


def xmpp_factory(
    config: config_mod.Config, *, extensions: Sequence[ClientExtension] = ()
) -> Callable[[Callable[[Event], None]], XmppEngine | RefusedChat] | None:
    """None without an [xmpp] section; else a factory building the engine with its vCard cache in
    <state dir>/xmpp and the phone's SIP address of record to publish (XEP-0152)."""
    account = config.xmpp
    if account is None:
        return None
    if config.cusax.xmpp_calling:  # RFC 7081 section 2 / S2: a CUSAX phone calls over SIP only
        log.warning("cusax.xmpp_calling is on, but this phone has no XMPP calling (no Jingle): calls use SIP")
    security = assess(config)
    if security.refused == CHAT:  # RFC 7081 section 8: XMPP is the weaker leg and parity is required
        reason = security.reason()
        return lambda post: RefusedChat(post, reason)
    cache_dir = config_mod.state_dir(config) / "xmpp"
    sip = config.sip
    sip_aor = f"sip:{sip.user}@{sip.domain}" if sip is not None else None

    def make(post: Callable[[Event], None]) -> XmppEngine:
        from firmware.xmpp.client import XmppEngine

        return XmppEngine(account, post, cache_dir=cache_dir, sip_aor=sip_aor, extensions=extensions)

    return make
