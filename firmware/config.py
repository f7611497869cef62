"""The phone's local configuration file (TOML), validated with pydantic.

The provisioning service fills the same model remotely (a later issue); until then a person or
an installer writes it by hand. Validation is strict (no silent type coercion, unknown keys are
errors) and every error names the field: `deskphone check-config FILE` prints them.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from firmware.errors import ConfigError
from hal.config import AudioConfig, DisplayConfig, HalConfig, HookConfig, KeypadConfig
from hal.errors import HalConfigError


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
    codecs: list[str] = Field(default_factory=lambda: ["G722/16000", "PCMU/8000", "PCMA/8000"], min_length=1)
    ptime_ms: int = Field(default=20, ge=10, le=60)
    jitter: JitterBuffer = Field(default_factory=JitterBuffer)

    @field_validator("registrar", "domain", "user")
    @classmethod
    def _no_spaces(cls, value: str) -> str:
        if any(ch.isspace() or ch in "<>\"'" for ch in value):
            raise ValueError("must not contain spaces, quotes or angle brackets")
        return value

    @property
    def effective_port(self) -> int:
        return self.port or (5061 if self.transport == "tls" else 5060)


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


class Config(_Model):
    version: Literal[1] = 1
    sip: Sip
    audio: Audio = Field(default_factory=Audio)
    hardware: Hardware = Field(default_factory=Hardware)
    phone: Phone = Field(default_factory=Phone)

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
    try:
        config = Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_describe(err)) from None
    config.hal_config()  # the hardware profile must also describe a board that can exist
    return config


def load(path: Path) -> Config:
    """Read and validate a config file. Raises ConfigError with every problem found."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    return parse(data)


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
