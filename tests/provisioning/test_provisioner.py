"""The provisioner against the reference service on real HTTPS: what is accepted, what is refused,
and that the last good profile always stays in force."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from firmware.lab.certs import TlsFiles
from firmware.provisioning.events import (
    CredentialsNeeded,
    ProfileApplied,
    ProvisioningEvent,
    ProvisioningStatus,
    ProvState,
)
from firmware.provisioning.provisioner import Provisioner
from firmware.provisioning.server import ProvisioningServer
from firmware.provisioning.store import ProfileStore
from firmware.provisioning.url import Device
from tests.provisioning.conftest import MAC, PASSWORD, USER, sip_section

Script = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Scripted:
    """/t/<device>.json: the real profile, unless a test scripts the next answers."""

    def __init__(self, server: ProvisioningServer) -> None:
        self.server = server
        self.script: Script | None = None
        server.app.router.add_get("/t/{name}", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.script is not None:
            return await self.script(request)
        signed = self.server.signed(request.match_info["name"].removesuffix(".json"))
        assert signed is not None
        body, sig, etag = signed
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, headers={"X-Profile-Signature": sig, "ETag": etag})

    def serve_bytes(self, body: bytes, sig: str | None = "sign") -> None:
        async def answer(request: web.Request) -> web.StreamResponse:
            headers = (
                {}
                if sig is None
                else {"X-Profile-Signature": self.server.sign(body) if sig == "sign" else sig}
            )
            return web.Response(body=body, headers=headers)

        self.script = answer

    def serve_status(self, status: int) -> None:
        async def answer(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status)

        self.script = answer


class Rig:
    def __init__(self, tmp: Path, server: ProvisioningServer, ca: Path) -> None:
        self.tmp, self.server, self.ca = tmp, server, ca
        self.scripted = Scripted(server)
        self.events: list[ProvisioningEvent] = []
        self.store = ProfileStore(tmp / "state" / "provisioning")

    def write(self, doc: dict[str, Any], device: str = MAC) -> None:
        (Path(self.server.config.profiles_dir) / f"{device}.json").write_text(json.dumps(doc))

    def local(self, **prov: Any) -> dict[str, Any]:
        section = {
            "url": f"{self.server.url}/t/{{mac}}.json", "ca_file": str(self.ca), "username": USER,
            "password": PASSWORD, "timeout_s": 2.0, "boot_file": str(self.tmp / "absent.toml"), **prov,
        }  # fmt: skip
        return {
            "provisioning": section,
            "hardware": {"backend": "sim"},
            "phone": {"state_dir": str(self.tmp)},
        }

    def provisioner(self, **kw: Any) -> Provisioner:
        local = kw.pop("local", None) or self.local()
        p = Provisioner(local, store=self.store, device=Device(MAC, "00000000abcdef01"), **kw)
        p._sink = self.events.append  # what start() installs, without the polling task
        return p

    def applied(self) -> list[ProfileApplied]:
        return [e for e in self.events if isinstance(e, ProfileApplied)]


@contextlib.asynccontextmanager
async def rig(tmp: Path, server: ProvisioningServer, ca: Path) -> AsyncIterator[Rig]:
    r = Rig(tmp, server, ca)
    r.write({"sip": sip_section("1001"), "phone": {"interdigit_s": 3.0}})
    await server.start()
    try:
        yield r
    finally:
        await server.stop()


@pytest.fixture
def run(
    tmp_path: Path, server_factory: Callable[..., ProvisioningServer], lab_pki: TlsFiles
) -> Callable[[Callable[[Rig], Awaitable[None]]], None]:
    def go(test: Callable[[Rig], Awaitable[None]]) -> None:
        async def main() -> None:
            async with rig(tmp_path, server_factory(), lab_pki.ca_cert) as r:
                await test(r)

        asyncio.run(main())

    return go


def test_first_boot_pins_the_key_and_applies_the_profile(run: Any) -> None:
    async def test(r: Rig) -> None:
        p = r.provisioner()
        assert p.config.sip is None and p.status.state is ProvState.STARTING
        status = await p.check_once()
        assert status.state is ProvState.OK and status.version == 1, status
        assert p.config.sip is not None and p.config.sip.user == "1001"
        assert p.config.phone.interdigit_s == 3.0
        [applied] = r.applied()
        assert {"sip", "phone", "provisioning"} <= applied.changed
        stored = r.store.load()
        assert stored is not None and stored.pinned_key == r.server.public_key
        assert (r.store.profile_path.stat().st_mode & 0o777) == 0o600
        # Unchanged: one conditional request, 304, nothing applied.
        sent = p.fetcher.requests if p.fetcher else 0
        assert (await p.check_once()).state is ProvState.OK
        assert p.fetcher is not None and p.fetcher.requests == sent + 1 and len(r.applied()) == 1
        # Changed on the server: version 2, only the SIP section differs.
        r.write({"sip": sip_section("1002"), "phone": {"interdigit_s": 3.0}})
        assert (await p.check_once()).version == 2
        assert r.applied()[-1].changed == frozenset({"sip"})
        assert p.config.sip is not None and p.config.sip.user == "1002"
        await p.stop()

    run(test)


def test_restart_with_the_server_down_uses_the_last_good_profile(run: Any) -> None:
    async def test(r: Rig) -> None:
        p = r.provisioner()
        await p.check_once()
        await p.stop()
        await r.server.stop()
        again = r.provisioner()
        assert again.config.sip is not None and again.config.sip.user == "1001"  # before any fetch
        status = await again.check_once()
        assert status.state is ProvState.FAILED and "cannot reach" in status.error, status
        assert again.config.sip is not None and again.config.sip.user == "1001"
        assert status.version == 1
        await again.stop()

    run(test)


def _good(r: Rig) -> bytes:
    signed = r.server.signed(MAC)
    assert signed is not None
    return signed[0]


BAD: dict[str, tuple[Callable[[Rig], None], str]] = {
    "non-JSON": (lambda r: r.scripted.serve_bytes(b"<html>oops</html>"), "not JSON"),
    "not an object": (lambda r: r.scripted.serve_bytes(b"[1, 2]"), "JSON object"),
    "wrong type": (
        lambda r: r.scripted.serve_bytes(
            json.dumps({"schema": 1, "version": 9, "sip": {**sip_section(), "port": "5060"}}).encode()
        ),
        "sip.port",
    ),
    "missing field": (
        lambda r: r.scripted.serve_bytes(
            json.dumps({"schema": 1, "version": 9, "sip": {"domain": "x"}}).encode()
        ),
        "sip.registrar: Field required",
    ),
    "missing version": (
        lambda r: r.scripted.serve_bytes(json.dumps({"schema": 1, "sip": sip_section()}).encode()),
        "version",
    ),
    "unsigned": (
        lambda r: r.scripted.serve_bytes(_good(r).replace(b"1002", b"6666"), sig=None),
        "not signed",
    ),
    "tampered": (
        lambda r: r.scripted.serve_bytes(_good(r).replace(b"1002", b"6666"), sig=r.server.sign(_good(r))),
        "does not match",
    ),
    "garbage signature": (lambda r: r.scripted.serve_bytes(_good(r), sig="ed25519=AAAA"), "64 bytes"),
    "rollback": (
        lambda r: r.scripted.serve_bytes(
            _good(r).replace(b'"version":2', b'"version":1').replace(b"1002", b"1009")
        ),
        "not newer",
    ),
    "other device": (
        lambda r: r.scripted.serve_bytes(_good(r).replace(MAC.encode(), b"b827eb999999")),
        "for device",
    ),
    "HTTP 404": (lambda r: r.scripted.serve_status(404), "404"),
    "HTTP 500": (lambda r: r.scripted.serve_status(500), "500"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_profiles_are_refused_and_the_last_good_one_stays(run: Any, case: str) -> None:
    make, words = BAD[case]

    async def test(r: Rig) -> None:
        p = r.provisioner()
        await p.check_once()
        r.write({"sip": sip_section("1002")})  # the server's version 2 (what "rollback" undercuts)
        await p.check_once()
        before, stored = p.config, r.store.profile_path.read_bytes()
        make(r)
        status = await p.check_once()
        assert status.state is ProvState.FAILED and words in status.error, status
        assert p.config == before and r.store.profile_path.read_bytes() == stored
        assert json.loads(r.store.status_path.read_text())["error"] == status.error
        r.scripted.script = None  # the server is fixed: the phone follows again
        r.write({"sip": sip_section("1003")})
        assert (await p.check_once()).state is ProvState.OK
        assert p.config.sip is not None and p.config.sip.user == "1003"
        await p.stop()

    run(test)


def test_unknown_keys_are_warnings_not_errors(run: Any) -> None:
    async def test(r: Rig) -> None:
        r.write({"sip": {**sip_section(), "frobnicate": 1}, "future_section": {"x": 1},
                 "phone": {"state_dir": "/tmp/elsewhere"}})  # fmt: skip
        p = r.provisioner()
        status = await p.check_once()
        assert status.state is ProvState.OK
        assert set(status.warnings) == {
            "unknown key sip.frobnicate ignored",
            "unknown key future_section ignored",
            "phone.state_dir is set on the phone only; ignored",
        }
        assert p.config.phone.state_dir == str(r.tmp)  # the local value stays
        await p.stop()

    run(test)


def test_credentials_are_asked_for_and_remembered(run: Any) -> None:
    async def test(r: Rig) -> None:
        real = f"{r.server.url}/p/{{mac}}.json"  # the service's own route: HTTP Basic per device
        p = r.provisioner(local=r.local(url=real, username="", password=""))
        status = await p.check_once()
        assert status.state is ProvState.NEEDS_CREDENTIALS
        assert [e for e in r.events if isinstance(e, CredentialsNeeded)] == [
            CredentialsNeeded("deskphone provisioning", rejected=False)
        ]
        p.provide_credentials(USER, "typo")
        assert (await p.check_once()).state is ProvState.NEEDS_CREDENTIALS
        assert r.events[-1] == CredentialsNeeded("deskphone provisioning", rejected=True)
        p.provide_credentials(USER, PASSWORD)
        assert (await p.check_once()).state is ProvState.OK
        assert (r.store.credentials_path.stat().st_mode & 0o777) == 0o600
        await p.stop()

    run(test)


def test_polls_are_spread_with_jitter_and_triggers_cut_the_wait(run: Any) -> None:
    async def test(r: Rig) -> None:
        delays: list[float] = []
        gate = asyncio.Event()

        async def sleep(seconds: float) -> None:
            delays.append(seconds)
            if seconds > 100:  # a poll interval: wait for the trigger instead
                await gate.wait()

        local = r.local(poll_interval_s=3600.0, poll_jitter_s=600.0)
        p = r.provisioner(local=local, rng=random.Random(7), sleep=sleep)
        statuses: list[ProvisioningStatus] = []
        p.start(lambda e: statuses.append(e) if isinstance(e, ProvisioningStatus) else None)
        while not statuses:
            await asyncio.sleep(0.01)
        assert delays[0] == 0.0  # no profile yet: fetch at once
        assert 3600 <= delays[1] <= 4200  # then the interval plus random jitter
        r.write({"sip": sip_section("1002")})
        p.trigger("test")
        while len(statuses) < 2 or p.status.version < 2:
            await asyncio.sleep(0.01)
        assert p.config.sip is not None and p.config.sip.user == "1002"
        await p.stop()
        # A phone that has a profile spreads its first request over the jitter window.
        delays.clear()
        p2 = r.provisioner(local=local, rng=random.Random(7), sleep=sleep)
        p2.start(lambda e: None)
        while not delays:
            await asyncio.sleep(0.01)
        assert 0 < delays[0] <= 600
        await p2.stop()

    run(test)


def test_the_boot_file_bootstraps_a_phone_with_an_empty_provisioning_section(run: Any) -> None:
    async def test(r: Rig) -> None:
        section = r.local()["provisioning"]
        boot = r.tmp / "deskphone-provisioning.toml"
        boot.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in section.items() if k != "boot_file"))
        p = r.provisioner(local={"provisioning": {"boot_file": str(boot)}, "hardware": {"backend": "sim"},
                                 "phone": {"state_dir": str(r.tmp)}})  # fmt: skip
        assert (await p.check_once()).state is ProvState.OK
        assert p.config.sip is not None and p.config.sip.user == "1001"
        await p.stop()

    run(test)


def test_a_broken_boot_file_is_a_warning_not_a_dead_phone(tmp_path: Path) -> None:
    boot = tmp_path / "boot.toml"
    boot.write_text('url = "http://insecure.example/{mac}"\n')
    local = {"provisioning": {"boot_file": str(boot)}, "phone": {"state_dir": str(tmp_path)}}
    p = Provisioner(local, store=ProfileStore(tmp_path / "store"), device=Device(MAC, ""))
    assert any("boot file ignored" in w and "https" in w for w in p.status.warnings)
    assert p.config.provisioning is not None and p.config.provisioning.url == ""
