"""Wiring the provisioner to a running phone (used by `deskphone run` and the lab's phone agent).

    provisioner = create_provisioner(local_doc, config)   # None without a [provisioning] section
    phone = Phone(provisioner.config, ...)                # local file + last good profile
    bridge = PhoneBridge(phone)
    provisioner.start(bridge)

The bridge applies new profiles (`Phone.apply_config`), shows errors as notices on the phone's
screen, keeps the latest `ProvisioningStatus` (`bridge.status`), and hands the status and credential
requests to the state machine as events (`ProvisioningChanged`, `CredentialsRequested`): the status
screen and the keypad sign-in dialog (firmware/machine_status.py), whose `SubmitCredentials` the
dispatcher passes to `Provisioner.provide_credentials(user, password)`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from firmware import config as config_mod
from firmware.app import Phone
from firmware.config import Config
from firmware.events import CredentialsRequested, Notice
from firmware.machine_status import provisioning_changed
from firmware.provisioning.events import (
    CredentialsNeeded,
    ProfileApplied,
    ProvisioningEvent,
    ProvisioningStatus,
    ProvState,
)
from firmware.provisioning.provisioner import Provisioner
from firmware.provisioning.store import ProfileStore
from firmware.provisioning.url import discover

log = logging.getLogger(__name__)

NOTICE_CHARS = 60


def create_provisioner(
    local_doc: Mapping[str, Any], config: Config, *, device_root: Path = Path("/")
) -> Provisioner | None:
    if config.provisioning is None:
        return None
    store = ProfileStore(config_mod.state_dir(config) / "provisioning")
    device = discover(device_root, config.provisioning.interface)
    log.info("provisioning as device mac=%s serial=%s", device.mac or "-", device.serial or "-")
    return Provisioner(local_doc, store=store, device=device)


class PhoneBridge:
    def __init__(
        self, phone: Phone, *, on_status: Callable[[ProvisioningStatus], None] | None = None
    ) -> None:
        self._phone = phone
        self._on_status = on_status
        self.status: ProvisioningStatus | None = None
        self.credentials_needed: CredentialsNeeded | None = None

    def __call__(self, event: ProvisioningEvent) -> None:
        if isinstance(event, ProfileApplied):
            self._phone.apply_config(event.config)
            if event.warnings:
                self._notice(f"Profile v{event.version}: {len(event.warnings)} warning(s)")
        elif isinstance(event, ProvisioningStatus):
            previous, self.status = self.status, event
            if event.state is ProvState.FAILED and (previous is None or previous.error != event.error):
                self._notice(f"Provisioning: {event.error}")
            if event.state is not ProvState.NEEDS_CREDENTIALS:
                self.credentials_needed = None
            self._phone.post(provisioning_changed(event))
            if self._on_status is not None:
                self._on_status(event)
        else:
            self.credentials_needed = event
            # The state machine opens the sign-in dialog (or says "Sign-in needed" during a call).
            self._phone.post(CredentialsRequested(event.realm, event.rejected))

    def _notice(self, text: str) -> None:
        self._phone.post(Notice(text[:NOTICE_CHARS]))
