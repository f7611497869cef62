"""The XMPP engine factory the app takes (Phone(xmpp_factory=...)), from a configuration.

Kept apart from firmware/xmpp/client.py so that importing firmware.xmpp (the model, which the
events use) does not import slixmpp; the client is imported when a phone with an account starts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from firmware import config as config_mod
from firmware.events import Event

if TYPE_CHECKING:
    from firmware.xmpp.client import XmppEngine


# Called with the slixmpp client each time the engine builds one (e.g. the XEP-0050 command).
ClientExtension = Callable[[Any], None]


def xmpp_factory(
    config: config_mod.Config, *, extensions: Sequence[ClientExtension] = ()
) -> Callable[[Callable[[Event], None]], XmppEngine] | None:
    """None without an [xmpp] section; else a factory building the engine with its vCard cache in
    <state dir>/xmpp and the phone's SIP address of record to publish (XEP-0152)."""
    account = config.xmpp
    if account is None:
        return None
    cache_dir = config_mod.state_dir(config) / "xmpp"
    sip = config.sip
    sip_aor = f"sip:{sip.user}@{sip.domain}" if sip is not None else None

    def make(post: Callable[[Event], None]) -> XmppEngine:
        from firmware.xmpp.client import XmppEngine

        return XmppEngine(account, post, cache_dir=cache_dir, sip_aor=sip_aor, extensions=extensions)

    return make
