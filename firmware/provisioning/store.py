"""The last good profile on flash, written so that a power cut at any instant leaves a usable one.

One record file holds everything that must agree (the exact body, its signature, ETag, version
and the pinned key), so there is no moment where the body is new and the key old. Writes go to a
temporary file in the same directory, are fsync'ed, renamed over the old file (atomic on POSIX),
and the directory is fsync'ed so the rename itself survives the power cut. Files are 0600: the
profile holds SIP and XMPP passwords.

    <state_dir>/provisioning/profile.json      the last good profile (record, JSON)
    <state_dir>/provisioning/credentials.json  HTTP credentials entered on the phone
    <state_dir>/provisioning/status.json       last check, last error (diagnostics only)
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from firmware.errors import ProvisioningError
from firmware.fsutil import atomic_write

log = logging.getLogger(__name__)

RECORD_FORMAT = 1
MAX_RECORD_BYTES = 64 << 20


@dataclass(frozen=True)
class StoredProfile:
    body: bytes  # exactly as served and signed
    signature: str  # the X-Profile-Signature header value
    version: int
    pinned_key: str  # base64 Ed25519 public key the body verifies with
    etag: str = ""
    url: str = ""
    fetched_at: str = ""  # ISO 8601

    def to_json(self) -> bytes:
        doc = asdict(self)
        doc["body"] = base64.b64encode(self.body).decode()
        doc["sha256"] = hashlib.sha256(self.body).hexdigest()
        doc["format"] = RECORD_FORMAT
        return json.dumps(doc, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> StoredProfile:
        doc = json.loads(raw)
        body = base64.b64decode(doc["body"], validate=True)
        if doc.get("format") != RECORD_FORMAT or hashlib.sha256(body).hexdigest() != doc["sha256"]:
            raise ValueError("record format or checksum mismatch")
        return cls(
            body=body,
            signature=str(doc["signature"]),
            version=int(doc["version"]),
            pinned_key=str(doc["pinned_key"]),
            etag=str(doc.get("etag", "")),
            url=str(doc.get("url", "")),
            fetched_at=str(doc.get("fetched_at", "")),
        )


class ProfileStore:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    @property
    def profile_path(self) -> Path:
        return self.directory / "profile.json"

    @property
    def credentials_path(self) -> Path:
        return self.directory / "credentials.json"

    @property
    def status_path(self) -> Path:
        return self.directory / "status.json"

    def load(self) -> StoredProfile | None:
        """The last good profile, or None (never stored, or unreadable: logged)."""
        self._sweep()
        try:
            raw = self.profile_path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            log.error("cannot read %s: %s", self.profile_path, err.strerror)
            return None
        try:
            return StoredProfile.from_json(raw[:MAX_RECORD_BYTES])
        except (ValueError, KeyError, TypeError, binascii.Error, RecursionError) as err:
            log.error("stored profile %s is unusable (%s); starting without it", self.profile_path, err)
            return None

    def save(self, record: StoredProfile) -> None:
        try:
            atomic_write(self.profile_path, record.to_json())
        except OSError as err:
            raise ProvisioningError(f"cannot store the profile in {self.directory}: {err.strerror}") from None

    def load_credentials(self) -> tuple[str, str] | None:
        try:
            doc = json.loads(self.credentials_path.read_bytes())
            return str(doc["username"]), str(doc["password"])
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return None

    def save_credentials(self, username: str, password: str) -> None:
        data = json.dumps({"username": username, "password": password}).encode()
        try:
            atomic_write(self.credentials_path, data)
        except OSError as err:
            raise ProvisioningError(f"cannot store credentials: {err.strerror}") from None

    def save_status(self, status: dict[str, Any]) -> None:
        """Best effort: diagnostics for `deskphone` tools and a person with a shell."""
        try:
            atomic_write(self.status_path, json.dumps(status, sort_keys=True, default=str).encode())
        except OSError as err:
            log.warning("cannot write %s: %s", self.status_path, err.strerror)

    def _sweep(self) -> None:
        """Temporary files left by a write that was cut short."""
        with contextlib.suppress(OSError):
            for tmp in self.directory.glob(".*.tmp"):
                tmp.unlink()
