"""The provisioner: keeps the phone's configuration in step with its profile on the server.

    provisioner = Provisioner(local_doc, store=ProfileStore(dir), device=url.discover())
    config = provisioner.config            # local file + last good profile: start the phone with it
    provisioner.start(sink)                # polls; sink gets ProfileApplied / ProvisioningStatus / ...
    provisioner.trigger("check-sync")      # on-demand (SIP NOTIFY check-sync, XMPP reprovision)
    await provisioner.stop()

A profile is accepted only when it is signed by the pinned key, parses, is newer than the one in
force, is for this device, and gives a valid configuration once merged over the local file; then
it is stored atomically and announced. Anything else is logged, shown in `status`, and the last
good profile stays in force. Polls are spread with random jitter; failures back off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from firmware.backoff import Backoff
from firmware.config import Config, Provisioning
from firmware.errors import (
    AuthRequiredError,
    ConfigError,
    FirmwareError,
    ProfileError,
    RollbackError,
    SignatureError,
)
from firmware.provisioning import signature
from firmware.provisioning.events import (
    CredentialsNeeded,
    ProfileApplied,
    ProvisioningEvent,
    ProvisioningStatus,
    ProvState,
    Sink,
)
from firmware.provisioning.fetch import Fetched, Fetcher, FetchSettings
from firmware.provisioning.schema import Profile, effective_config, parse_profile
from firmware.provisioning.store import ProfileStore, StoredProfile
from firmware.provisioning.url import Device, expand, normalize_mac, read_boot_file

log = logging.getLogger(__name__)

RETRY_INITIAL_S = 5.0
RETRY_MAX_S = 300.0
MIN_TRIGGER_GAP_S = 2.0  # triggers cost a request each: a NOTIFY flood must not become a fetch flood


def utc_now() -> datetime:
    return datetime.now(UTC)


def changed_sections(old: Config, new: Config) -> frozenset[str]:
    return frozenset(name for name in Config.model_fields if getattr(old, name) != getattr(new, name))


class Provisioner:
    def __init__(
        self,
        local: Mapping[str, Any],
        *,
        store: ProfileStore,
        device: Device,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        fetcher_factory: Callable[[FetchSettings], Fetcher] = Fetcher,
    ) -> None:
        self._store, self.device = store, device
        self._clock, self._rng, self._sleep = clock, rng or random.Random(), sleep
        self._fetcher_factory = fetcher_factory
        self._fetcher: Fetcher | None = None
        self._sink: Sink | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._backoff = Backoff(RETRY_INITIAL_S, RETRY_MAX_S, rng=self._rng)
        self._last_trigger_check = float("-inf")
        warnings: list[str] = []
        self._layers = self._base_layers(local, warnings)
        try:
            self.config = effective_config(*self._layers)
        except ProfileError as err:  # the boot file broke a good local file: go on without it
            warnings.append(f"boot file ignored: {err}")
            log.error("boot file ignored: %s", err)
            self._layers = (local,)
            self.config = effective_config(local)  # the local file alone was validated before
        self._stored, profile = self._load_stored(warnings)
        if self._stored is not None and profile is not None:
            self.config = effective_config(*self._layers, profile.sections)
            warnings.extend(profile.warnings)
        self.status = ProvisioningStatus(
            ProvState.STARTING,
            version=self._stored.version if self._stored else 0,
            last_update=_parse_time(self._stored.fetched_at) if self._stored else None,
            warnings=tuple(warnings),
        )

    # ------------------------------------------------------------------ boot

    @staticmethod
    def _base_layers(local: Mapping[str, Any], warnings: list[str]) -> tuple[Mapping[str, Any], ...]:
        prov = local.get("provisioning")
        path = prov.get("boot_file") if isinstance(prov, Mapping) else None
        boot_path = Path(path if isinstance(path, str) else Provisioning.model_fields["boot_file"].default)
        try:
            boot = read_boot_file(boot_path) if prov is not None else {}
        except ConfigError as err:
            warnings.append(f"boot file ignored: {err}")
            log.warning("boot file ignored: %s", err)
            boot = {}
        return (boot, local)

    def _load_stored(self, warnings: list[str]) -> tuple[StoredProfile | None, Profile | None]:
        stored = self._store.load()
        if stored is None:
            return None, None
        try:
            signature.verify(stored.pinned_key, stored.body, stored.signature)
            profile = parse_profile(stored.body)
            effective_config(*self._layers, profile.sections)
        except (ProfileError, ConfigError) as err:
            warnings.append(f"stored profile unusable: {err}")
            log.error("stored profile v%d is unusable (%s); starting without it", stored.version, err)
            return None, None
        log.info("starting from the stored profile v%d of %s", stored.version, stored.fetched_at)
        return stored, profile

    # ------------------------------------------------------------------ lifecycle

    def start(self, sink: Sink) -> None:
        self._sink = sink
        self._task = asyncio.get_running_loop().create_task(self._run(), name="provisioning")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._fetcher is not None:
            await self._fetcher.aclose()
            self._fetcher = None
        self._sink = None

    def trigger(self, reason: str = "trigger") -> None:
        """Check the server now (coalesced: many triggers during one check cause one more check)."""
        log.info("provisioning triggered (%s)", reason)
        self._wake.set()

    def provide_credentials(self, username: str, password: str) -> None:
        """What the person typed after CredentialsNeeded: kept (0600) for later polls, used at once."""
        self._store.save_credentials(username, password)
        self.trigger("credentials entered")

    # ------------------------------------------------------------------ the loop

    async def _run(self) -> None:
        jitter = self.config.provisioning.poll_jitter_s if self.config.provisioning else 0.0
        # With a profile in force there is no hurry: spread a fleet's first requests after a power cut.
        delay = self._rng.uniform(0, jitter) if self._stored is not None else 0.0
        while True:
            triggered = await self._wait(delay)
            if triggered:
                gap = MIN_TRIGGER_GAP_S - (asyncio.get_running_loop().time() - self._last_trigger_check)
                if gap > 0:
                    await self._sleep(gap)
                self._last_trigger_check = asyncio.get_running_loop().time()
            try:
                status = await self.check_once()
            except Exception:  # a bug here must not end provisioning for good
                log.exception("provisioning check failed unexpectedly")
                status = self.status
            delay = self._next_delay(status)

    def _next_delay(self, status: ProvisioningStatus) -> float:
        prov = self.config.provisioning
        interval = prov.poll_interval_s if prov else 3600.0
        jitter = prov.poll_jitter_s if prov else 0.0
        if status.state in (ProvState.OK, ProvState.NEEDS_CREDENTIALS):
            self._backoff.reset()
            return interval + self._rng.uniform(0, jitter)
        self._backoff.maximum = min(RETRY_MAX_S, interval)
        return self._backoff.next_delay()

    async def _wait(self, delay: float) -> bool:
        """Sleep `delay` seconds or until trigger(); True when triggered."""
        if not self._wake.is_set():
            sleeper = asyncio.ensure_future(self._sleep(delay))
            waker = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (sleeper, waker):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        triggered = self._wake.is_set()
        self._wake.clear()
        return triggered

    # ------------------------------------------------------------------ one check

    async def check_once(self) -> ProvisioningStatus:
        """Ask the server once and apply what it sends. Never raises for a bad server or document."""
        async with self._lock:
            now = self._clock()
            try:
                url = self._url()
                fetcher = await self._current_fetcher()
                etag = self._stored.etag if self._stored is not None and self._stored.url == url else ""
                result = await fetcher.fetch(url, etag=etag, credentials=self._credentials())
                if isinstance(result, Fetched):
                    self._accept(result, url, now)
                self._set(ProvState.OK, now, url=url)
            except AuthRequiredError as err:
                log.warning("provisioning: %s", err)
                self._set(ProvState.NEEDS_CREDENTIALS, now, error=str(err))
                self._emit(CredentialsNeeded(err.realm, err.rejected))
            except (FirmwareError, ValueError) as err:
                log.error("provisioning failed, last good profile stays in force: %s", err)
                self._set(ProvState.FAILED, now, error=str(err))
            return self.status

    def _url(self) -> str:
        prov = self.config.provisioning
        if prov is None or not prov.url:
            where = prov.boot_file if prov is not None else "the boot file"
            raise ConfigError(f"no provisioning URL (set provisioning.url or write {where})")
        return expand(prov.url, self.device)

    def _fetch_settings(self) -> FetchSettings:
        prov = self.config.provisioning
        assert prov is not None
        return FetchSettings(
            ca_file=prov.ca_file, client_cert=prov.client_cert, client_key=prov.client_key,
            max_bytes=prov.max_bytes, timeout_s=prov.timeout_s,
        )  # fmt: skip

    async def _current_fetcher(self) -> Fetcher:
        settings = self._fetch_settings()
        if self._fetcher is not None and self._fetcher.settings != settings:
            await self._fetcher.aclose()  # the profile changed the CA, client certificate or limits
            self._fetcher = None
        if self._fetcher is None:
            self._fetcher = self._fetcher_factory(settings)
        return self._fetcher

    @property
    def fetcher(self) -> Fetcher | None:
        return self._fetcher

    def _credentials(self) -> tuple[str, str] | None:
        entered = self._store.load_credentials()
        if entered is not None:
            return entered
        prov = self.config.provisioning
        return (prov.username, prov.password) if prov is not None and prov.username else None

    def _anchor(self) -> str:
        """The key a new profile must be signed with ("" before the first one: trust on first use)."""
        if self._stored is not None:
            return self._stored.pinned_key
        prov = effective_config(*self._layers).provisioning
        return prov.signing_key if prov is not None else ""

    def _accept(self, fetched: Fetched, url: str, now: datetime) -> None:
        anchor = self._anchor()
        if anchor:
            signature.verify(anchor, fetched.body, fetched.signature)
        profile = parse_profile(fetched.body)
        declared = profile.sections.get("provisioning", {}).get("signing_key")
        declared = declared if isinstance(declared, str) and declared else ""
        if not anchor:
            if not declared:
                raise SignatureError("first profile declares no provisioning.signing_key and none is pinned")
            signature.verify(declared, fetched.body, fetched.signature)  # trust on first use
        if profile.device and not {profile.device.lower(), normalize_mac(profile.device)} & self.device.ids:
            raise ProfileError(f"profile is for device {profile.device!r}, not this phone")
        current = self._stored.version if self._stored is not None else 0
        if self._stored is not None and profile.version == current and fetched.body == self._stored.body:
            return  # the same profile again (a server without ETags)
        if profile.version <= current:
            raise RollbackError(f"profile version {profile.version} is not newer than {current}: refused")
        config = effective_config(*self._layers, profile.sections)
        record = StoredProfile(
            body=fetched.body, signature=fetched.signature or "", version=profile.version,
            pinned_key=declared or anchor, etag=fetched.etag, url=url, fetched_at=now.isoformat(),
        )  # fmt: skip
        self._store.save(record)
        old, self.config, self._stored = self.config, config, record
        changed = changed_sections(old, config)
        for warning in profile.warnings:
            log.warning("profile v%d: %s", profile.version, warning)
        log.info("profile v%d applied; changed: %s", profile.version, ", ".join(sorted(changed)) or "nothing")
        self.status = ProvisioningStatus(
            self.status.state, profile.version, now, now, "", profile.warnings, url
        )
        self._emit(ProfileApplied(config, profile.version, changed, profile.warnings))

    # ------------------------------------------------------------------ status

    def _set(self, state: ProvState, now: datetime, *, error: str = "", url: str = "") -> None:
        s = self.status
        self.status = ProvisioningStatus(
            state, s.version, s.last_update, now, error[:200], s.warnings, url or s.url
        )
        if (s.state, s.error, s.version) != (state, self.status.error, self.status.version):
            self._save_status()
        self._emit(self.status)

    def _save_status(self) -> None:
        s = self.status
        self._store.save_status(
            {"state": s.state.value, "version": s.version, "last_update": s.last_update,
             "last_check": s.last_check, "error": s.error, "warnings": list(s.warnings)}
        )  # fmt: skip

    def _emit(self, event: ProvisioningEvent) -> None:
        if self._sink is not None:
            try:
                self._sink(event)
            except Exception:
                log.exception("provisioning event handler failed on %r", type(event).__name__)


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
