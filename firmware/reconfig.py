"""Applying a new configuration to the running phone (provisioning) without dropping a call.

`Phone.apply_config(new)` hands the configuration to this object; the phone's event loop calls
`after_event()` after every event, so everything happens between two events, never inside one:

- at once, even during a call: the state machine's settings (inter-digit timeout, dialling
  domain, canned responses) and the time zone (the clock reads it from `phone.config`);
- only when the phone is idle (on-hook, no call; Cisco's "resync when idle"): a changed SIP
  account or media setting restarts the SIP engine (un-REGISTER, new engine, REGISTER); new
  volume defaults become the current volumes; hooks run (the XMPP engine restarts its
  connection there when its section changed); the log level follows;
- never while running: a changed hardware profile is logged and takes effect at the next start.

A newer configuration arriving while one is pending replaces it (the last one wins).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from firmware.config import Audio, Config
from firmware.state import Phase, Settings

if TYPE_CHECKING:
    from firmware.app import EngineFactory, Phone

log = logging.getLogger(__name__)

ReconfigureHook = Callable[[Config, Config, frozenset[str]], Awaitable[None]]  # (old, new, changed)
_VOLUMES = frozenset({"handset_volume", "speaker_volume", "ringer_volume"})


def _media(audio: Audio) -> dict[str, object]:
    """The audio settings the SIP engine was built with (volumes are not among them)."""
    return {k: v for k, v in audio.model_dump().items() if k not in _VOLUMES}


class Reconfigurer:
    def __init__(self, phone: Phone, engine_for: Callable[[Config], EngineFactory] | None) -> None:
        self._phone, self._engine_for = phone, engine_for
        self.pending: Config | None = None
        self.hooks: list[ReconfigureHook] = []  # e.g. the XMPP engine's reconnect
        self.applied = 0  # configurations fully applied (tests, benchmarks)
        self.restarts = 0  # SIP engine restarts
        self._deferred_logged = False
        self._settings: Settings | None = None  # settings_from(pending)

    def offer(self, new: Config) -> None:
        from firmware.app import settings_from

        self.pending = new
        # Computed once here (pydantic dumps, policy assessment), not on every event while the
        # new configuration waits for the phone to become idle.
        self._settings = settings_from(new)

    def idle(self) -> bool:
        state = self._phone.state
        return state.phase is Phase.IDLE and state.call is None and not state.active

    async def after_event(self) -> None:
        new = self.pending
        if new is None:
            return
        phone = self._phone
        settings = self._settings
        assert settings is not None
        if phone.state.settings is not settings:
            phone.state = replace(phone.state, settings=settings)
        if not self.idle():
            if not self._deferred_logged:
                log.info("new configuration: engine changes wait until the phone is idle")
                self._deferred_logged = True
            return
        self.pending, self._deferred_logged = None, False
        await self._apply(phone.config, new)

    async def _apply(self, old: Config, new: Config) -> None:
        phone = self._phone
        phone.config = new
        changed = frozenset(n for n in Config.model_fields if getattr(old, n) != getattr(new, n))
        if old.sip != new.sip or _media(old.audio) != _media(new.audio):
            if self._engine_for is None:
                log.warning("SIP settings changed but this phone cannot swap engines: restart to apply")
            else:
                log.info("SIP settings changed: restarting the SIP engine")
                await phone.replace_engine(self._engine_for(new))
                self.restarts += 1
        if {k: getattr(old.audio, k) for k in _VOLUMES} != {k: getattr(new.audio, k) for k in _VOLUMES}:
            phone.set_volumes(new.audio.handset_volume, new.audio.speaker_volume)
        if old.hardware != new.hardware:
            log.warning("hardware profile changed: it takes effect at the next start")
        if old.phone.log_level != new.phone.log_level:
            logging.getLogger().setLevel(new.phone.log_level.upper())
        for hook in self.hooks:
            try:
                await hook(old, new, changed)
            except Exception:
                log.exception("reconfigure hook failed")
        self.applied += 1
        log.info("configuration applied; changed: %s", ", ".join(sorted(changed)) or "nothing")
