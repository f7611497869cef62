"""What the provisioner tells the application. Frozen values; the app decides what to do with them.

- `ProfileApplied`: a new configuration is in force (apply it: `Phone.apply_config`).
- `ProvisioningStatus`: for the status screen and the log (last update, last error, warnings).
- `CredentialsNeeded`: the server asked for HTTP credentials (401): ask the person for a user ID
  and password, then call `Provisioner.provide_credentials(user, password)`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from firmware.config import Config


class ProvState(enum.Enum):
    STARTING = "starting"  # no check finished yet (the stored profile, if any, is in force)
    OK = "ok"  # the last check succeeded: the profile in force is the server's
    FAILED = "failed"  # the last check failed: the last good profile stays in force
    NEEDS_CREDENTIALS = "needs_credentials"  # HTTP 401: waiting for a user ID and password


@dataclass(frozen=True)
class ProvisioningStatus:
    state: ProvState
    version: int = 0  # profile version in force; 0: none yet
    last_update: datetime | None = None  # when the profile in force was fetched
    last_check: datetime | None = None  # when the server was last asked
    error: str = ""  # why the last check failed ("" when it did not)
    warnings: tuple[str, ...] = ()  # e.g. unknown keys ignored in the profile in force
    url: str = ""

    def summary(self) -> str:
        """One short line for a small screen."""
        if self.state is ProvState.FAILED:
            return f"Prov. error: {self.error}"
        if self.state is ProvState.NEEDS_CREDENTIALS:
            return "Prov.: sign-in needed"
        if self.state is ProvState.STARTING:
            return "Prov.: checking"
        when = self.last_update.strftime("%Y-%m-%d %H:%M") if self.last_update else "-"
        return f"Prov. v{self.version} {when}"


@dataclass(frozen=True)
class ProfileApplied:
    config: Config  # the whole effective configuration (local file + profile)
    version: int
    changed: frozenset[str]  # top-level sections that differ from the previous configuration
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class CredentialsNeeded:
    realm: str
    rejected: bool  # True: credentials were sent and refused (say so before asking again)


ProvisioningEvent = ProfileApplied | ProvisioningStatus | CredentialsNeeded
Sink = Callable[[ProvisioningEvent], None]
