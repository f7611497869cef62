"""The phone's local configuration file (TOML), validated with pydantic.

The provisioning service fills the same model remotely (a later issue); until then a person or
an installer writes it by hand. Validation is strict (no silent type coercion, unknown keys are
errors) and every error names the field: `deskphone check-config FILE` prints them.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
import tomllib
import unicodedata
from pathlib import Path
from typing import Any, Literal, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from firmware.errors import ConfigError
from hal.config import AudioConfig, DisplayConfig, HalConfig, HookConfig, KeypadConfig
from hal.errors import HalConfigError


def _has_invisible(value: str) -> bool:
    """Control, format (bidi overrides, zero-width) or unassigned characters: never in an address."""
    return any(unicodedata.category(ch).startswith("C") for ch in value)


def is_bare_jid(value: str) -> bool:
    local, _, domain = value.partition("@")
    return (
        bool(local and domain)
        and "/" not in value
        and not any(ch.isspace() for ch in value)
        and not (_has_invisible(value))
    )


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class JitterBuffer(_Model):
    """PJMEDIA jitter buffer, in ms; -1 keeps pjmedia's default. Small values trade robustness for latency."""

    init_ms: int = Field(default=0, ge=-1, le=1000)
    min_pre_ms: int = Field(default=0, ge=-1, le=1000)
    max_pre_ms: int = Field(default=40, ge=-1, le=2000)
    max_ms: int = Field(default=120, ge=-1, le=5000)


class Sip(_Model):
    domain: str = Field(min_length=1)
    registrar: str = Field(min_length=1, description="host name or IP of the registrar/proxy")
    port: int = Field(default=0, ge=0, le=65535, description="0: the transport's default port")
    transport: Literal["udp", "tcp", "tls"] = "tls"
    user: str = Field(min_length=1)
    password: str = Field(default="", repr=False)
    auth_user: str = ""
    display_name: str = ""
    register_expiry_s: int = Field(default=300, ge=30, le=86400)
    keepalive_s: float = Field(default=2.0, ge=0, le=600, description="registrar OPTIONS ping; 0 disables")
    local_port: int = Field(default=0, ge=0, le=65535)
    tls_ca_file: str = Field(default="", description="CA bundle; empty: the system store")
    tls_verify_server: bool = True
    srtp: Literal["off", "optional", "mandatory"] = "off"
    strict_media_source: bool = Field(
        default=True,
        description="accept a call's RTP/RTCP only from the far end's host in its SDP: no LAN host can"
        " take over the call's audio (firmware/sip/media_guard.py); off only for far ends behind NAT",
    )
    codecs: list[str] = Field(default_factory=lambda: ["G722/16000", "PCMU/8000", "PCMA/8000"], min_length=1)
    ptime_ms: int = Field(default=20, ge=10, le=60)
    jitter: JitterBuffer = Field(default_factory=JitterBuffer)

    @field_validator("registrar", "domain", "user")
    @classmethod
    def _no_spaces(cls, value: str) -> str:
        if any(ch.isspace() or ch in "<>\"'" for ch in value):
            raise ValueError("must not contain spaces, quotes or angle brackets")
        if _has_invisible(value):
            raise ValueError("must not contain control or formatting characters")
        return value

    @property
    def effective_port(self) -> int:
        return self.port or (5061 if self.transport == "tls" else 5060)


class Xmpp(_Model):
    """The chat account (RFC 7081: roster, presence and chat over XMPP; calls stay on SIP)."""

    jid: str = Field(min_length=3, description="bare JID, user@domain")
    password: str = Field(default="", repr=False)
    host: str = Field(default="", description="server host; empty: the JID's domain")
    port: int = Field(default=0, ge=0, le=65535, description="0: 5222 (starttls) or 5223 (direct)")
    tls: Literal["starttls", "direct", "plaintext"] = "starttls"
    allow_plaintext: bool = Field(default=False, description="required for tls = plaintext (never default)")
    ca_file: str = Field(default="", description="CA bundle; empty: the system store")
    resource: str = "deskphone"
    rooms: list[str] = Field(default_factory=list, description="group chats (XEP-0045) to join")
    nick: str = ""
    login_timeout_s: float = Field(default=10.0, gt=0, le=120)
    after_sip_registered: bool = Field(default=False, description="log in only once SIP is registered (C11)")
    canned_responses: list[str] = Field(
        default_factory=lambda: ["OK", "On my way", "Call you back", "In a meeting", "Thanks!"], max_length=20
    )

    @field_validator("jid")
    @classmethod
    def _bare_jid(cls, value: str) -> str:
        if not is_bare_jid(value):
            raise ValueError("must be a bare JID like user@example.org")
        return value

    @model_validator(mode="after")
    def _plaintext_needs_consent(self) -> Self:
        # The password and every message would cross the network readable: never by accident.
        if self.tls == "plaintext" and not self.allow_plaintext:
            raise ValueError('tls = "plaintext" also needs allow_plaintext = true')
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (5223 if self.tls == "direct" else 5222)

    @property
    def effective_host(self) -> str:
        return self.host or self.jid.partition("@")[2]


class Audio(_Model):
    """Call audio through PJSIP. `card` is an ALSA card name; "null" runs without a sound card."""

    card: str = "null"
    handset_mixer: str = "PCM"
    speaker_mixer: str = "Speaker"
    ringer_card: str = ""
    ringtone: str = ""
    rec_latency_ms: int = Field(default=20, ge=1, le=1000)
    play_latency_ms: int = Field(default=40, ge=1, le=1000)
    ec_tail_ms: int = Field(default=0, ge=0, le=500, description="echo canceller; 0: off (handset)")
    handset_volume: int = Field(default=70, ge=0, le=100)
    speaker_volume: int = Field(default=60, ge=0, le=100)
    ringer_volume: int = Field(default=80, ge=0, le=100)


class Keypad(_Model):
    rows: list[int] = Field(default_factory=lambda: list(KeypadConfig().rows), min_length=1)
    cols: list[int] = Field(default_factory=lambda: list(KeypadConfig().cols), min_length=1)
    keymap: list[list[str]] = Field(default_factory=lambda: [list(r) for r in KeypadConfig().keymap])
    scan_interval_ms: int = Field(default=5, ge=1, le=100)
    debounce_ms: int = Field(default=20, ge=0, le=500)


class Hook(_Model):
    pin: int = Field(default=17, ge=0, le=53)
    active_low: bool = True
    debounce_ms: int = Field(default=30, ge=0, le=1000)


class Display(_Model):
    driver: Literal["ssd1306", "sh1106", "ssd1309", "ssd1322"] = "ssd1306"
    bus: Literal["i2c", "spi"] = "i2c"
    i2c_port: int = Field(default=1, ge=0)
    i2c_address: int = Field(default=0x3C, ge=0x03, le=0x77)
    spi_port: int = Field(default=0, ge=0)
    spi_device: int = Field(default=0, ge=0)
    spi_speed_hz: int = Field(default=8_000_000, ge=100_000, le=64_000_000)
    gpio_dc: int = Field(default=24, ge=0, le=53)
    gpio_rst: int = Field(default=25, ge=0, le=53)
    rotate: int = Field(default=0, ge=0, le=3)
    contrast: int = Field(default=200, ge=0, le=255)


class Hardware(_Model):
    backend: Literal["rpi", "sim"] = "sim"
    keypad: Keypad = Field(default_factory=Keypad)
    hook: Hook = Field(default_factory=Hook)
    display: Display = Field(default_factory=Display)


class Phone(_Model):
    interdigit_s: float = Field(default=4.0, gt=0, le=30)
    timezone: str = "UTC"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    state_dir: str = Field(
        default="", description="writable state; empty: $STATE_DIRECTORY or ~/.local/state"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
            raise ValueError("not a time zone name like Europe/Berlin or UTC") from None
        return value


class CostWarning(_Model):
    """Which calls get a "this call may cost money or leave the domain" warning (RFC 7081 section 5)."""

    outside_domain: bool = Field(default=True, description="SIP addresses outside the SIP domain")
    pstn: bool = Field(
        default=True, description="numbers that leave for the telephone network (+ or 00 first)"
    )
    patterns: list[str] = Field(
        default_factory=list, max_length=50, description="regular expressions on the dialled target"
    )

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if len(pattern) > 200:
                raise ValueError("a pattern is at most 200 characters")
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(f"{pattern!r} is not a regular expression: {err}") from None
        return value


class Cusax(_Model):
    """How the SIP and XMPP accounts work together (RFC 7081 sections 2, 3.4, 5, 8; C4, S2, S5).

    The C11 policy "log in to XMPP only once SIP is registered" is `xmpp.after_sip_registered`.
    """

    related: bool = Field(default=True, description="the two accounts form one CUSAX service (S5)")
    xmpp_calling: bool = Field(default=False, description="audio/video over XMPP (section 2: off)")
    sip_im_presence: bool = Field(default=False, description="IM and presence over SIP (section 2: off)")
    call_info: bool = Field(default=True, description="Call-Info purpose=impp on INVITEs (S6)")
    security_parity: Literal["off", "warn", "require"] = Field(
        default="warn", description="SIP and XMPP not protected alike: say nothing, warn, or refuse (sec. 8)"
    )
    cost_warning: CostWarning = Field(default_factory=CostWarning)


_URL_FIELDS = frozenset({"mac", "serial"})


class Provisioning(_Model):
    """Where the phone fetches its profile and whom it trusts (docs/provisioning.md)."""

    url: str = Field(default="", description="https URL; {mac} and {serial} are filled in; empty: boot_file")
    boot_file: str = Field(
        default="/boot/firmware/deskphone-provisioning.toml",
        description="TOML with provisioning keys placed on the boot partition; read when present",
    )
    username: str = Field(default="", description="HTTP auth user; empty: asked on the phone on 401")
    password: str = Field(default="", repr=False)
    ca_file: str = Field(default="", description="pinned CA bundle for the server; empty: the system store")
    client_cert: str = Field(default="", description="device certificate (PEM) for mutual TLS")
    client_key: str = Field(default="", description="its private key (PEM)")
    signing_key: str = Field(
        default="", description="base64 Ed25519 public key; empty: pinned from the first profile"
    )
    admin_jids: list[str] = Field(default_factory=list, description="who may send the reprovision command")
    poll_interval_s: float = Field(default=3600.0, ge=1, le=7 * 86400)
    poll_jitter_s: float = Field(default=600.0, ge=0, le=86400, description="random extra wait per poll")
    max_bytes: int = Field(default=1 << 20, ge=1024, le=16 << 20)
    timeout_s: float = Field(default=20.0, gt=0, le=300, description="whole fetch, connect to last byte")
    check_sync: Literal["off", "registrar", "any"] = Field(
        default="registrar", description="SIP NOTIFY check-sync: ignored, only via the registrar, from anyone"
    )
    interface: str = Field(default="", description="network interface whose MAC names the device")

    @field_validator("url")
    @classmethod
    def _https_template(cls, value: str) -> str:
        if not value:
            return value
        if not value.lower().startswith("https://") or any(ch.isspace() for ch in value):
            raise ValueError("must be an https:// URL without spaces")
        names = set(re.findall(r"\{([^{}]*)\}", value))
        if names - _URL_FIELDS:
            raise ValueError(
                f"unknown placeholder(s) {sorted(names - _URL_FIELDS)}; use {{mac}} or {{serial}}"
            )
        return value

    @field_validator("signing_key")
    @classmethod
    def _ed25519_key(cls, value: str) -> str:
        if value:
            try:
                raw = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("must be base64") from None
            if len(raw) != 32:
                raise ValueError(f"an Ed25519 public key is 32 bytes, this is {len(raw)}")
        return value

    @field_validator("admin_jids")
    @classmethod
    def _bare_jids(cls, value: list[str]) -> list[str]:
        for jid in value:
            if not is_bare_jid(jid):
                raise ValueError(f"{jid!r} is not a bare JID like admin@example.org")
        return value

    @model_validator(mode="after")
    def _key_pair(self) -> Self:
        if bool(self.client_cert) != bool(self.client_key):
            raise ValueError("client_cert and client_key go together")
        return self


class Config(_Model):
    version: Literal[1] = 1
    sip: Sip | None = Field(default=None, description="required unless [provisioning] will fetch it")
    xmpp: Xmpp | None = None
    cusax: Cusax = Field(default_factory=Cusax)
    provisioning: Provisioning | None = None
    audio: Audio = Field(default_factory=Audio)
    hardware: Hardware = Field(default_factory=Hardware)
    phone: Phone = Field(default_factory=Phone)

    @model_validator(mode="after")
    def _account_or_provisioning(self) -> Self:
        if self.sip is None and self.provisioning is None:
            raise ValueError(NO_ACCOUNT)
        return self

    def hal_config(self) -> HalConfig:
        hw, au = self.hardware, self.audio
        try:
            return HalConfig(
                backend=hw.backend,
                keypad=KeypadConfig(
                    rows=tuple(hw.keypad.rows),
                    cols=tuple(hw.keypad.cols),
                    keymap=tuple(tuple(r) for r in hw.keypad.keymap),
                    scan_interval_ms=hw.keypad.scan_interval_ms,
                    debounce_ms=hw.keypad.debounce_ms,
                ),
                hook=HookConfig(
                    pin=hw.hook.pin, active_low=hw.hook.active_low, debounce_ms=hw.hook.debounce_ms
                ),
                display=DisplayConfig(**hw.display.model_dump()),
                audio=AudioConfig(
                    card=au.card,
                    handset_mixer=au.handset_mixer,
                    speaker_mixer=au.speaker_mixer,
                    ringer_card=au.ringer_card,
                    ringtone=au.ringtone,
                    handset_volume=au.handset_volume,
                    speaker_volume=au.speaker_volume,
                    ringer_volume=au.ringer_volume,
                ),
            )
        except HalConfigError as err:
            raise ConfigError(f"hardware: {err}") from err


NO_ACCOUNT = "sip: Field required (or a [provisioning] section that fetches the account)"


def _describe(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        given = e.get("input")
        shown = "" if isinstance(given, dict) or "password" in where else f" (got {given!r:.60})"
        lines.append(f"{where}: {e['msg']}{shown}")
    return "\n".join(lines)


def parse(data: object) -> Config:
    """Validate an already-decoded document (TOML table or, later, a provisioning profile)."""
    if isinstance(data, dict) and data.get("sip") is None and data.get("provisioning") is None:
        raise ConfigError(NO_ACCOUNT)
    try:
        config = Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_describe(err)) from None
    config.hal_config()  # the hardware profile must also describe a board that can exist
    return config


def load(path: Path) -> Config:
    """Read and validate a config file. Raises ConfigError with every problem found."""
    return parse(load_document(path))


def load_document(path: Path) -> dict[str, Any]:
    """Read a TOML config file without validating it (provisioning merges profiles over it)."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    return data


def permission_warnings(path: Path) -> list[str]:
    """The file holds the SIP password: it must not be readable by other users."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return []
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return [
            f"{path} is readable by other users (mode {stat.S_IMODE(mode):04o}); it holds secrets: chmod 600"
        ]
    return []


def state_dir(config: Config) -> Path:
    if config.phone.state_dir:
        return Path(config.phone.state_dir)
    env = os.environ.get("STATE_DIRECTORY")  # set by systemd's StateDirectory=
    if env:
        return Path(env.split(":", 1)[0])
    return Path.home() / ".local" / "state" / "deskphone"
