"""The reference provisioning service in the lab: HTTPS on loopback in a background thread, for
end-to-end tests, benchmarks and the demo; plus the phone agent's provisioning operations.

    with LabProvisioning(tmp / "prov", lab_pki) as prov:
        prov.add_device("b827eb000001", username="dev1", password="pw1", profile={"sip": {...}})
        config = {"provisioning": prov.bootstrap("dev1", "pw1"), ...}   # the phone's whole config
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, Self, TypeVar

from firmware.app import Phone
from firmware.errors import LabError
from firmware.fsutil import atomic_write
from firmware.lab.certs import TlsFiles
from firmware.provisioning.provisioner import Provisioner
from firmware.provisioning.runtime import PhoneBridge
from firmware.provisioning.server import ProvisioningServer, ServerConfig, hash_password

T = TypeVar("T")
Op = Callable[[dict[str, Any]], Awaitable[Any]]


def fake_device_root(directory: Path, mac: str, serial: str = "") -> Path:
    """A directory with sys/class/net/eth0/address (and a device-tree serial): a phone's identity."""
    net = directory / "sys" / "class" / "net" / "eth0"
    net.mkdir(parents=True, exist_ok=True)
    pretty = ":".join(mac[i : i + 2] for i in range(0, 12, 2))
    (net / "address").write_text(pretty + "\n")
    if serial:
        dt = directory / "sys" / "firmware" / "devicetree" / "base"
        dt.mkdir(parents=True, exist_ok=True)
        (dt / "serial-number").write_text(serial + "\0")
    return directory


class LabProvisioning:
    def __init__(self, workdir: Path, tls: TlsFiles, *, auth: str = "basic", client_ca: str = "") -> None:
        self.workdir = Path(workdir)
        self.tls = tls
        self.profiles = self.workdir / "profiles"
        self.users_file = self.workdir / "users.toml"
        self._users: dict[str, tuple[str, str]] = {}
        self._config = ServerConfig(
            bind="127.0.0.1", port=0, cert=str(tls.server_cert), key=str(tls.server_key),
            profiles_dir=str(self.profiles), signing_key=str(self.workdir / "signing.key"),
            state_dir=str(self.workdir / "state"), users_file=str(self.users_file),
            client_ca=client_ca, auth=auth,  # type: ignore[arg-type]
        )  # fmt: skip
        self.server: ProvisioningServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        self.profiles.mkdir(parents=True, exist_ok=True)
        self._write_users()
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="lab-provisioning", daemon=True)
        self._thread.start()
        self._loop = loop
        self.server = ProvisioningServer(self._config)
        self._run(self.server.start())
        return self

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        if self.server is not None:
            asyncio.run_coroutine_threadsafe(self.server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        assert self._thread is not None
        self._thread.join(10)
        loop.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            raise LabError("provisioning service is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # ------------------------------------------------------------------ content

    @property
    def url_template(self) -> str:
        assert self.server is not None
        return self.server.profile_url("{mac}")

    @property
    def public_key(self) -> str:
        assert self.server is not None
        return self.server.public_key

    def write_profile(self, device: str, doc: dict[str, Any]) -> None:
        atomic_write(self.profiles / f"{device}.json", json.dumps(doc, indent=1).encode(), mode=0o640)

    def write_common(self, doc: dict[str, Any]) -> None:
        atomic_write(self.profiles / "common.json", json.dumps(doc, indent=1).encode(), mode=0o640)

    def add_device(self, device: str, username: str, password: str, profile: dict[str, Any]) -> None:
        self._users[device] = (username, password)
        self._write_users()
        self.write_profile(device, profile)

    def _write_users(self) -> None:
        lines = []
        for device, (user, password) in sorted(self._users.items()):
            lines += [f'[devices."{device}"]', f"username = {json.dumps(user)}",
                      f"password_hash = {json.dumps(hash_password(password))}", ""]  # fmt: skip
        atomic_write(self.users_file, "\n".join(lines).encode())

    def bootstrap(self, username: str = "", password: str = "", **extra: Any) -> dict[str, Any]:
        """A phone's [provisioning] section pointing here (short polls for tests)."""
        doc: dict[str, Any] = {
            "url": self.url_template, "ca_file": str(self.tls.ca_cert), "username": username,
            "password": password, "poll_interval_s": 1.0, "poll_jitter_s": 0.0, "timeout_s": 5.0,
        }  # fmt: skip
        return {**doc, **extra}


def agent_ops(phone: Phone, provisioner: Provisioner, bridge: PhoneBridge) -> dict[str, Op]:
    """Phone agent operations: `provisioning` (status), `reprovision` (trigger), `check_now`."""

    def summary() -> dict[str, Any]:
        s = provisioner.status
        sip = phone.config.sip
        return {
            "state": s.state.value, "version": s.version, "error": s.error, "warnings": list(s.warnings),
            "last_update": s.last_update.isoformat() if s.last_update else None,
            "applied": phone.reconfigure.applied, "restarts": phone.reconfigure.restarts,
            "pending": phone.reconfigure.pending is not None,
            "sip_user": sip.user if sip is not None else None,
            "credentials_needed": bridge.credentials_needed is not None,
        }  # fmt: skip

    async def status(req: dict[str, Any]) -> Any:
        return summary()

    async def reprovision(req: dict[str, Any]) -> Any:
        provisioner.trigger("agent")
        return None

    async def check_now(req: dict[str, Any]) -> Any:
        await provisioner.check_once()
        return summary()

    async def credentials(req: dict[str, Any]) -> Any:
        provisioner.provide_credentials(str(req["username"]), str(req["password"]))
        return None

    return {"provisioning": status, "reprovision": reprovision, "check_now": check_now,
            "credentials": credentials}  # fmt: skip
