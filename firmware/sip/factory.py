"""Which SIP engine a configuration gets: the real pjsua2 one, or a stand-in that says why not.

    engine_for = sip_engines(sound_card, debug=False, on_check_sync=provisioner.trigger)
    phone = Phone(config, board, engine_for(config), engine_for=engine_for)

`engine_for(config)` is called again by `Phone.apply_config` when a new profile changes the SIP
account, so the phone can swap engines without a restart.
"""

from __future__ import annotations

from collections.abc import Callable

from firmware.app import EngineFactory
from firmware.config import Config
from firmware.cusax import PHONE, assess


def config_refusal(config: Config) -> str:
    """Why SIP must not start ("" it may): the weaker leg under security_parity = "require"."""
    security = assess(config)
    return security.reason() if security.refused == PHONE else ""


def sip_engines(
    sound_card: str | None,
    *,
    debug: bool = False,
    on_check_sync: Callable[[str], None] | None = None,
) -> Callable[[Config], EngineFactory]:
    def engine_for(config: Config) -> EngineFactory:
        sip, audio = config.sip, config.audio
        if sip is None:
            from firmware.sip.unconfigured import UnconfiguredEngine

            return UnconfiguredEngine
        try:
            from firmware.sip.engine import SipEngine
        except ImportError as err:  # no pjsua2 for this machine: keep the UI up and say why
            from firmware.sip.unavailable import UnavailableEngine

            detail = f"{type(err).__name__}: {err}"
            return lambda post: UnavailableEngine(post, detail)
        refused = config_refusal(config)
        if refused:  # RFC 7081 section 8, security_parity = "require": SIP is the weaker leg
            from firmware.sip.unavailable import RefusedEngine

            return lambda post: RefusedEngine(post, refused)
        prov = config.provisioning
        check_sync = on_check_sync if prov is not None and prov.check_sync != "off" else None
        source = prov.check_sync if prov is not None else "registrar"
        return lambda post: SipEngine(
            sip, audio, post, sound_card=sound_card, debug=debug,
            on_check_sync=check_sync, check_sync_from=source,
            sip_im_presence=config.cusax.sip_im_presence,
        )  # fmt: skip

    return engine_for
