"""The reference provisioning service: per-device profiles over HTTPS, signed, for the demo, the
tests and small deployments.  `deskphone provision-server --config SERVER.toml` runs it.

    GET /p/<device>.json     common.json merged with <device>.json (device = MAC or serial),
                             plus "schema", "version" and "device"; signed (X-Profile-Signature),
                             ETag = hash of the signed body, 304 on If-None-Match
    POST /admin/reprovision/<device>   (Authorization: Bearer <admin token>) ask a phone to fetch now

Authentication: HTTP Basic per device (users file: scrypt hashes), and/or a client certificate
(mTLS) signed by `client_ca` whose common name is the device. Versions are the server's: each
device's profile version grows by one whenever its merged content changes (kept in state_dir).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
import ssl
import tomllib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from firmware.errors import ConfigError, ProvisioningError
from firmware.fsutil import atomic_write
from firmware.provisioning import signature
from firmware.provisioning.schema import SCHEMA, merge

log = logging.getLogger(__name__)

_DEVICE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 14, 8, 1
Reprovisioner = Callable[[str, dict[str, Any]], Awaitable[str]]  # (device, its profile) -> what was done


class ServerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    bind: str = "127.0.0.1"
    port: int = Field(default=8443, ge=0, le=65535, description="0: any free port")
    cert: str = Field(min_length=1, description="server certificate chain (PEM)")
    key: str = Field(min_length=1, description="its private key (PEM)")
    profiles_dir: str = Field(min_length=1, description="common.json and <device>.json files")
    signing_key: str = Field(min_length=1, description="Ed25519 private key (PEM); created when missing")
    state_dir: str = Field(min_length=1, description="where profile versions are kept")
    users_file: str = Field(default="", description="TOML [devices.<id>] username, password_hash")
    client_ca: str = Field(default="", description="require client certificates from this CA (mTLS)")
    auth: Literal["basic", "client-cert", "either", "none"] = "basic"
    realm: str = "deskphone provisioning"
    admin_token: str = Field(default="", repr=False, description="bearer token for /admin; empty: off")
    xmpp_jid: str = Field(default="", description="the service's XMPP account (in the phones' admin_jids)")
    xmpp_password: str = Field(default="", repr=False)
    xmpp_host: str = Field(default="", description="empty: the JID's domain")
    xmpp_port: int = Field(default=5222, ge=1, le=65535)
    xmpp_ca_file: str = Field(default="", description="CA of the XMPP server; empty: the system store")


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, salt_b64, digest_b64 = stored.split("$")
        salt, digest = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
    except (ValueError, binascii.Error):
        return False
    if kind != "scrypt":
        return False
    got = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return hmac.compare_digest(got, digest)


def load_server_config(path: Path) -> ServerConfig:
    try:
        doc = tomllib.loads(path.read_text())
        return ServerConfig.model_validate(doc.get("server", doc))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: {err}") from None
    except ValidationError as err:
        raise ConfigError(f"{path}: {err}") from None


def canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class ProvisioningServer:
    def __init__(self, config: ServerConfig, *, reprovision: Reprovisioner | None = None) -> None:
        self.config = config
        self._reprovision = reprovision
        key_path = Path(config.signing_key)
        if key_path.exists():
            self._key = signature.load_private_key(key_path)
        else:
            self._key = signature.generate_private_key(key_path)
        self.public_key = signature.public_key_text(self._key)
        self._state_path = Path(config.state_dir) / "versions.json"
        self._versions: dict[str, dict[str, Any]] = self._load_versions()
        self._password_ok: set[tuple[str, str]] = set()  # (stored hash, sha256 of password) verified
        self.app = web.Application()
        self.app.add_routes(
            [
                web.get("/p/{name}", self._profile),
                web.post("/admin/reprovision/{device}", self._admin_reprovision),
            ]
        )
        self._runner: web.AppRunner | None = None
        self.port = config.port

    # ------------------------------------------------------------------ lifecycle

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.config.cert, self.config.key)
        if self.config.client_ca:
            ctx.load_verify_locations(self.config.client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED if self.config.auth == "client-cert" else ssl.CERT_OPTIONAL
        return ctx

    async def start(self) -> None:
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.config.bind, self.config.port, ssl_context=self.ssl_context())
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("provisioning service on %s (signing key %s)", self.url, self.public_key)

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    @property
    def url(self) -> str:
        return f"https://{self.config.bind}:{self.port}"

    def profile_url(self, placeholder: str = "{mac}") -> str:
        return f"{self.url}/p/{placeholder}.json"

    # ------------------------------------------------------------------ profiles

    def _read(self, name: str) -> dict[str, Any] | None:
        path = Path(self.config.profiles_dir) / name
        try:
            doc = json.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError) as err:  # RecursionError: absurdly deep JSON
            raise ProvisioningError(f"{path}: {err}") from None
        if not isinstance(doc, dict):
            raise ProvisioningError(f"{path}: not a JSON object")
        return doc

    def profile(self, device: str) -> dict[str, Any] | None:
        """The document served to `device` (None: no profile for it)."""
        own = self._read(f"{device}.json")
        if own is None:
            return None
        doc = merge(self._read("common.json") or {}, own)
        for key in ("schema", "version", "device"):
            doc.pop(key, None)
        prov = doc.setdefault("provisioning", {})
        if isinstance(prov, dict):
            prov.setdefault("signing_key", self.public_key)
        digest = hashlib.sha256(canonical(doc)).hexdigest()
        entry = self._versions.get(device, {})
        if entry.get("digest") != digest:
            entry = {"digest": digest, "version": int(entry.get("version", 0)) + 1}
            self._versions[device] = entry
            atomic_write(self._state_path, json.dumps(self._versions, sort_keys=True).encode())
            log.info("profile of %s is now version %d", device, entry["version"])
        return {"schema": SCHEMA, "version": entry["version"], "device": device, **doc}

    def _load_versions(self) -> dict[str, dict[str, Any]]:
        try:
            doc = json.loads(self._state_path.read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, RecursionError) as err:
            raise ConfigError(f"{self._state_path}: {err}") from None
        return doc if isinstance(doc, dict) else {}

    def sign(self, body: bytes) -> str:
        """The X-Profile-Signature header value for `body`."""
        return signature.sign(self._key, body)

    def body(self, device: str) -> tuple[bytes, str] | None:
        """(body, ETag) for `device`, or None; signing is left for when the body is sent."""
        doc = self.profile(device)
        if doc is None:
            return None
        body = canonical(doc)
        return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'

    def signed(self, device: str) -> tuple[bytes, str, str] | None:
        """(body, signature header, ETag) for `device`, or None."""
        found = self.body(device)
        if found is None:
            return None
        body, etag = found
        return body, self.sign(body), etag

    # ------------------------------------------------------------------ HTTP

    def _authorized(self, request: web.Request, device: str) -> bool:
        mode = self.config.auth
        if mode == "none":
            return True
        cert_ok = self._client_cert_names(request, device)
        if mode == "client-cert":
            return cert_ok
        if mode == "either" and cert_ok:
            return True
        return self._basic_ok(request, device)

    @staticmethod
    def _client_cert_names(request: web.Request, device: str) -> bool:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        if not peer:
            return False
        names = {value for rdn in peer.get("subject", ()) for key, value in rdn if key == "commonName"}
        return device in {n.lower() for n in names}

    def _basic_ok(self, request: web.Request, device: str) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        entry = self._users().get(device)
        if entry is None or not hmac.compare_digest(str(entry.get("username", "")), user):
            return False
        stored = str(entry.get("password_hash", ""))
        seen = (stored, hashlib.sha256(password.encode()).hexdigest())
        if seen in self._password_ok:
            return True
        if check_password(password, stored):
            self._password_ok.add(seen)
            return True
        return False

    def _users(self) -> dict[str, dict[str, Any]]:
        if not self.config.users_file:
            return {}
        try:
            devices = tomllib.loads(Path(self.config.users_file).read_text()).get("devices", {})
        except (OSError, tomllib.TOMLDecodeError) as err:
            log.error("users file %s unreadable: %s", self.config.users_file, err)
            return {}
        return devices if isinstance(devices, dict) else {}

    async def _profile(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        device = name.removesuffix(".json").lower()
        if not device or not set(device) <= _DEVICE_CHARS or device.startswith("."):
            raise web.HTTPNotFound()
        if not self._authorized(request, device):
            headers = {"WWW-Authenticate": f'Basic realm="{self.config.realm}", charset="UTF-8"'}
            raise web.HTTPUnauthorized(headers=headers)
        try:
            found = self.body(device)
        except ProvisioningError as err:
            log.error("cannot serve %s: %s", device, err)
            raise web.HTTPInternalServerError(text="profile files are broken; see the server log") from None
        if found is None:
            raise web.HTTPNotFound(text=f"no profile for {device}")
        body, etag = found
        # An unchanged profile (the common poll) costs a hash, not an Ed25519 signature.
        if etag in {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}:
            return web.Response(status=304, headers={"ETag": etag})
        headers = {signature.HEADER: self.sign(body), "ETag": etag, "Cache-Control": "no-cache"}
        return web.Response(body=body, content_type="application/json", headers=headers)

    async def _admin_reprovision(self, request: web.Request) -> web.StreamResponse:
        token = self.config.admin_token
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not token or not hmac.compare_digest(given.encode(), token.encode()):
            raise web.HTTPUnauthorized()
        device = request.match_info["device"].lower()
        doc = self.profile(device) if set(device) <= _DEVICE_CHARS else None
        if doc is None:
            raise web.HTTPNotFound(text=f"no profile for {device}")
        if self._reprovision is None:
            raise web.HTTPNotImplemented(text="no reprovision trigger configured (XMPP or SIP)")
        done = await self._reprovision(device, doc)
        return web.json_response({"device": device, "version": doc["version"], "trigger": done})


def xmpp_reprovisioner(config: ServerConfig) -> Reprovisioner | None:
    """The admin trigger over XMPP: XEP-0050 "reprovision" to the device's XMPP account."""
    if not config.xmpp_jid:
        return None

    async def trigger(device: str, doc: dict[str, Any]) -> str:
        from firmware.provisioning.xmpp_command import send_once

        account = doc.get("xmpp")
        if not isinstance(account, dict) or not isinstance(account.get("jid"), str):
            raise web.HTTPConflict(text=f"{device} has no XMPP account in its profile")
        phone = f"{account['jid']}/{account.get('resource') or 'deskphone'}"
        try:
            note = await send_once(
                config.xmpp_jid, config.xmpp_password, phone,
                host=config.xmpp_host, port=config.xmpp_port, ca_file=config.xmpp_ca_file,
            )  # fmt: skip
        except ProvisioningError as err:
            raise web.HTTPBadGateway(text=str(err)) from None
        return f"xmpp {phone}: {note}"

    return trigger


async def _serve(config: ServerConfig) -> None:
    import signal

    server = ProvisioningServer(config, reprovision=xmpp_reprovisioner(config))
    await server.start()
    print(f"serving {server.profile_url()} (signing key {server.public_key})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def run_server(path: Path, *, public_key: bool = False) -> int:
    """`deskphone provision-server --config PATH [--public-key]`."""
    config = load_server_config(path)
    if public_key:
        key_path = Path(config.signing_key)
        key = signature.load_private_key(key_path) if key_path.exists() else None
        key = key or signature.generate_private_key(key_path)
        print(signature.public_key_text(key))
        return 0
    asyncio.run(_serve(config))
    return 0
