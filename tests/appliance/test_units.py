"""The systemd units and the first-boot script, without booting anything (seconds).

`systemd-analyze verify` only warns (exit 0) on unknown keys, so any output fails. It also checks
that ExecStart= binaries exist: here they are pointed at stand-ins in a temporary tree (the
rootfs tests in test_rootfs.py verify the installed, unmodified units with --root).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.appliance.rootfs import REPO

UNITS = REPO / "systemd"
SERVICES = ("deskphone.service", "deskphone-firstboot.service")
ALL_UNITS = (*SERVICES, "deskphone-retry.timer")
EXPOSURE_MAX = 2.0
FIRSTBOOT = UNITS / "deskphone-firstboot"


def _analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.fail("systemd-analyze missing (Debian package systemd; run `bash .ci/setup`)")
    return path


def _units_with_standins(tmp_path: Path) -> Path:
    """Copies of the units whose /opt/deskphone paths point at executable stand-ins under tmp_path."""
    tree = tmp_path / "units"
    tree.mkdir()
    for rel in ("bin/deskphone", "libexec/deskphone-firstboot"):
        exe = tmp_path / "opt/deskphone" / rel
        exe.parent.mkdir(parents=True, exist_ok=True)
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    for unit in ALL_UNITS:
        text = (UNITS / unit).read_text().replace("/opt/deskphone/", f"{tmp_path}/opt/deskphone/")
        (tree / unit).write_text(text)
    return tree


def exposure(analyze: str, unit: Path, root: Path | None = None) -> tuple[float, str]:
    cmd = [analyze, "security", "--offline=yes", "--no-pager"]
    if root is not None:
        cmd.append(f"--root={root}")
    proc = subprocess.run([*cmd, str(unit)], capture_output=True, text=True, check=False)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", proc.stdout)
    assert match, f"no score in:\n{proc.stdout}\n{proc.stderr}"
    return float(match.group(1)), proc.stdout


def test_units_verify_without_any_output(tmp_path: Path) -> None:
    analyze = _analyze()
    tree = _units_with_standins(tmp_path)
    proc = subprocess.run(
        [analyze, "verify", *(str(tree / u) for u in ALL_UNITS)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and not proc.stdout and not proc.stderr, proc.stdout + proc.stderr


def test_verify_would_catch_an_unknown_key(tmp_path: Path) -> None:
    """The check above is only worth something if a typo shows up in the output."""
    analyze = _analyze()
    tree = _units_with_standins(tmp_path)
    unit = tree / "deskphone.service"
    unit.write_text(unit.read_text().replace("NoNewPrivileges=yes", "NoNewPrivilege=yes"))
    proc = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, check=False)
    assert "NoNewPrivilege" in proc.stdout + proc.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_exposure_score_is_at_most_two(service: str, tmp_path: Path) -> None:
    score, report = exposure(_analyze(), _units_with_standins(tmp_path) / service)
    print(f"{service}: exposure {score}")
    assert score <= EXPOSURE_MAX, report


def _settings(unit: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in (UNITS / unit).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def test_phone_unit_is_the_appliance_contract() -> None:
    s = _settings("deskphone.service")
    assert s["Type"] == ["notify"] and s["NotifyAccess"] == ["main"]
    assert s["Restart"] == ["always"] and s["WatchdogSec"] == ["10s"]
    assert "StartLimitBurst" in s and "StartLimitIntervalSec" in s
    assert s["User"] == ["deskphone"] and s["SupplementaryGroups"] == ["gpio i2c spi audio"]
    assert s["StateDirectory"] == ["deskphone"] and s["StateDirectoryMode"] == ["0700"]
    assert s["CapabilityBoundingSet"] == [""] and s["DevicePolicy"] == ["closed"]
    # Audio keeps realtime scheduling; pjsua2 and CPython have no JIT, so W^X stays on
    # (the rootfs test registers a real pjsua2 under it).
    assert s["RestrictRealtime"] == ["no"] and s["LimitRTPRIO"] == ["99"]
    assert s["MemoryDenyWriteExecute"] == ["yes"]
    text = (UNITS / "deskphone.service").read_text()
    assert "network-online" not in "\n".join(line for line in text.splitlines() if not line.startswith("#"))


# ---------------------------------------------------------------------- deskphone-firstboot


def _firstboot(tmp_path: Path, check_config_ok: bool = True) -> tuple[Path, Path, dict[str, str]]:
    boot, etc = tmp_path / "boot", tmp_path / "etc"
    for d in (boot, etc):
        d.mkdir(parents=True)
    fake_bin = tmp_path / "deskphone"
    verdict = "" if check_config_ok else "echo 'sip.user: field required' >&2\nexit 1\n"
    fake_bin.write_text(f"#!/bin/sh\n{verdict}")
    fake_bin.chmod(0o755)
    me = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    env = {**os.environ, "DESKPHONE_ETC": str(etc), "DESKPHONE_BIN": str(fake_bin), "DESKPHONE_USER": me}
    return boot, etc, env


def test_firstboot_installs_a_valid_config(tmp_path: Path) -> None:
    boot, etc, env = _firstboot(tmp_path)
    (etc / "config.toml").write_text("# the image's placeholder\n")
    (boot / "deskphone.toml").write_text('[sip]\ndomain = "x"\n')
    proc = subprocess.run([str(FIRSTBOOT), str(boot)], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (etc / "config.toml").read_text() == '[sip]\ndomain = "x"\n'
    assert (etc / "config.toml").stat().st_mode & 0o777 == 0o600
    assert not (boot / "deskphone.toml").exists()  # holds passwords: not left on the FAT partition
    assert sorted(p.name for p in etc.iterdir()) == ["config.toml"]


def test_firstboot_rejects_an_invalid_config_and_says_why(tmp_path: Path) -> None:
    boot, etc, env = _firstboot(tmp_path, check_config_ok=False)
    (etc / "config.toml").write_text("# previous\n")
    (boot / "deskphone.toml").write_text("garbage")
    proc = subprocess.run([str(FIRSTBOOT), str(boot)], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 1
    assert (etc / "config.toml").read_text() == "# previous\n"  # the phone keeps what it had
    assert not (boot / "deskphone.toml").exists()
    assert "field required" in (boot / "deskphone.toml.rejected").read_text()


def test_firstboot_with_nothing_to_do(tmp_path: Path) -> None:
    boot, _, env = _firstboot(tmp_path)
    proc = subprocess.run([str(FIRSTBOOT), str(boot)], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0 and not proc.stdout
