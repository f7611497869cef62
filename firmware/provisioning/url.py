"""Who this phone is (MAC, serial) and where its profile lives.

The URL is a template: `https://prov.example.org/p/{mac}.json` -> `.../b827eb123456.json`. The MAC
is the primary interface's (lower case hex, no separators, as Yealink/Poly/Cisco name their
files); the serial is the board's (a Raspberry Pi's from the device tree or /proc/cpuinfo).
Everything is read through an injectable root directory so tests run on a fake /sys and /proc.

The bootstrap URL comes, in this order, from the profile in force, the local config file, or
the boot file that the image places on the boot partition (a TOML file with the same keys as
the `[provisioning]` section, so an installer can edit it on any computer).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from firmware.errors import ConfigError

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_VIRTUAL = ("lo", "docker", "veth", "br-", "virbr", "tun", "tap", "wg", "dummy")


@dataclass(frozen=True)
class Device:
    mac: str  # 12 lower-case hex digits, "" when unknown
    serial: str  # "" when unknown

    @property
    def ids(self) -> frozenset[str]:
        """The names a profile's `device` field may use for this phone."""
        return frozenset(x for x in (self.mac, self.serial) if x)


def normalize_mac(text: str) -> str:
    return re.sub(r"[^0-9a-f]", "", text.lower())


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip().strip("\0")
    except OSError:
        return ""


def _primary_mac(root: Path, interface: str) -> str:
    net = root / "sys" / "class" / "net"
    if interface:
        names = [interface]
    else:
        try:
            found = sorted(p.name for p in net.iterdir())
        except OSError:
            return ""
        # Wired before wireless (eth*/en* sort before wl*), virtual interfaces never.
        names = sorted(
            (n for n in found if not n.startswith(_VIRTUAL)),
            key=lambda n: (not n.startswith(("eth", "en")), n),
        )
    for name in names:
        mac = _read(net / name / "address").lower()
        if _MAC.match(mac) and mac != "00:00:00:00:00:00":
            return normalize_mac(mac)
    return ""


def _serial(root: Path) -> str:
    serial = _read(root / "sys" / "firmware" / "devicetree" / "base" / "serial-number")
    if not serial:
        for line in _read(root / "proc" / "cpuinfo").splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() == "serial":
                serial = value.strip()
                break
    serial = serial.lower()  # as the board reports it (a Pi's has leading zeros: kept)
    return serial if re.fullmatch(r"[0-9a-z._-]{1,64}", serial) else ""


def discover(root: Path = Path("/"), interface: str = "") -> Device:
    """This machine's identity, from `root`/sys and `root`/proc."""
    return Device(mac=_primary_mac(root, interface), serial=_serial(root))


def expand(template: str, device: Device) -> str:
    """Fill in {mac} and {serial}; a placeholder whose value is unknown is an error."""
    values = {"mac": device.mac, "serial": device.serial}
    for name in re.findall(r"\{([^{}]*)\}", template):
        if not values.get(name):
            raise ConfigError(f"provisioning URL needs the device {name}, which this machine does not have")
    return re.sub(r"\{(mac|serial)\}", lambda m: quote(values[m.group(1)], safe=""), template)


def read_boot_file(path: Path) -> dict[str, Any]:
    """The boot partition's provisioning file as a config layer ({"provisioning": {...}}); {} if absent."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from None
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    table = doc.get("provisioning", doc)  # a bare file of keys, or one with a [provisioning] table
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: expected provisioning keys")
    table.pop("boot_file", None)
    return {"provisioning": table}
