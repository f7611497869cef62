"""image/install.sh into Debian root file systems, booted with systemd-nspawn (minutes).

amd64 (Debian 12): the real pjsua2 wheel from PyPI; the phone registers over TLS with the lab's
Kamailio (on the host's 127.0.0.1: the container shares the network), the first-boot unit imports
the boot partition's deskphone.toml, pjmedia's realtime request is tried inside the sandbox, and
the watchdog restarts a hung daemon.
arm64 (Debian 12 under qemu-user through binfmt): the same payload; pjsua2 is not there
(image/pjproject.sh needs the upstream tarball, which CI cannot download), so the phone must come
up anyway, send READY and say "SIP module missing"; the watchdog restarts it too.
Raspberry Pi OS's systemd (257, Debian 13): the units are verified and scored by it in a small
Debian 13 root (Debian 13 cannot boot under this host's qemu-user; see rootfs.TARGETS).

Base root file systems are cached (DESKPHONE_CACHE, default /var/cache/deskphone-ci) keyed by
suite, architecture and package list: cold ~25 s amd64 / ~3 min arm64, warm: a tar extract.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware.lab.kamailio import Kamailio
from firmware.lab.phone import phone_config, write_toml
from tests.appliance import rootfs
from tests.appliance.test_units import ALL_UNITS, EXPOSURE_MAX, SERVICES

pytestmark = [pytest.mark.appliance, pytest.mark.timeout(900)]

USER, PASSWORD = "1001", "appliance-pw-1001"
WATCHDOG_S = 10  # deskphone.service WatchdogSec
UNIT = "deskphone.service"

RT_CHECK_UNIT = """[Service]
# tests/appliance: run inside the phone's sandbox what pjmedia's ALSA threads ask for (SCHED_RR, max).
ExecStartPost=/opt/deskphone/bin/python /usr/local/lib/deskphone-rt-check.py
"""
RT_CHECK = """import os, resource
os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))  # the syscall passes the seccomp filter
prio = os.sched_get_priority_max(os.SCHED_RR)
hard = resource.getrlimit(resource.RLIMIT_RTPRIO)[1]
if hard >= prio:
    os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(prio))
    print("realtime: SCHED_RR", prio, "granted")
else:
    print("realtime: RLIMIT_RTPRIO is", hard, "- LimitRTPRIO could not be applied on this machine")
"""
CAP_SYS_RESOURCE = 24


def _host_can_raise_rlimits() -> bool:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> CAP_SYS_RESOURCE & 1)
    return False


@pytest.fixture(scope="module", autouse=True)
def _prerequisites() -> None:
    missing = rootfs.requirements()
    if missing:  # never a skip: `bash .ci/setup` installs all of it, and CI runs as root
        pytest.fail(f"appliance tests need: {', '.join(missing)} (run `bash .ci/setup` as root)")


def _installed_root(arch: str, tmp: Path, **env: str) -> Path:
    tarball = rootfs.base_tarball(arch)
    rootfs.ensure_binfmt(arch)
    wheels = rootfs.wheelhouse(arch, tmp / "wheels")
    root = tmp / "root"
    t0 = time.monotonic()
    rootfs.extract(tarball, root)
    (root / "boot/firmware").mkdir(parents=True)  # as on Raspberry Pi OS: install.sh writes config.txt
    (root / "boot/firmware/cmdline.txt").write_text("console=serial0,115200 root=PARTUUID=0-02 rootwait\n")
    extracted = time.monotonic() - t0
    took = rootfs.install(root, wheels, **env)
    rootfs.log(f"{arch}: rootfs extracted in {extracted:.1f} s, install.sh took {took:.1f} s")
    return root


def _verify_installed_units(root: Path, own_systemd: bool = False) -> None:
    """verify (no output at all) and security (<= 2.0) on the installed, unmodified units.

    own_systemd: run the root's own systemd-analyze through chroot (the arm64 Debian 13 root has
    systemd 257 like Raspberry Pi OS; the host's 252 would warn about 257's keys in Debian's units).
    """
    if own_systemd:
        run_proc = Path(root / "proc/self").exists()
        if not run_proc:
            rootfs.run(["mount", "-t", "proc", "proc", str(root / "proc")])
        try:
            analyze = [
                "chroot",
                str(root),
                "/usr/bin/env",
                "-i",
                "PATH=/usr/bin:/bin",
                "/usr/bin/systemd-analyze",
            ]
            version = rootfs.run([*analyze, "--version"]).stdout.split("\n")[0]
            proc = subprocess.run(
                [*analyze, "verify", *ALL_UNITS], capture_output=True, text=True, check=False
            )
            scores = [
                subprocess.run(
                    [*analyze, "security", "--offline=yes", s], capture_output=True, text=True, check=False
                )
                for s in SERVICES
            ]
        finally:
            if not run_proc:
                rootfs.run(["umount", str(root / "proc")])
    else:
        host = shutil.which("systemd-analyze")
        assert host
        version = rootfs.run([host, "--version"]).stdout.split("\n")[0]
        proc = subprocess.run(
            [host, "verify", f"--root={root}", *ALL_UNITS], capture_output=True, text=True, check=False
        )
        scores = [
            subprocess.run(
                [host, "security", "--offline=yes", f"--root={root}", s],
                capture_output=True,
                text=True,
                check=False,
            )
            for s in SERVICES
        ]
    assert proc.returncode == 0 and not proc.stdout and not proc.stderr, proc.stdout + proc.stderr
    for service, result in zip(SERVICES, scores, strict=True):
        match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
        assert match, result.stdout + result.stderr
        score = float(match.group(1))
        rootfs.log(f"{service}: exposure {score} (installed unit, {version})")
        assert score <= EXPOSURE_MAX, result.stdout


def _write_config(root: Path, doc: dict[str, object]) -> None:
    path = root / "etc/deskphone/config.toml"
    path.unlink(missing_ok=True)
    write_toml(path, doc)
    uid = rootfs.uid_of(root, "deskphone")
    os.chown(path, uid, uid)


def _hang_and_recover(box: rootfs.Container) -> float:
    """SIGUSR2 blocks the phone's loop; systemd must kill it on the watchdog and start it again."""
    before = box.show(UNIT, "MainPID", "NRestarts")
    t0 = time.monotonic()
    box.run(["systemctl", "kill", "--signal=SIGUSR2", "--kill-who=main", UNIT])

    def restarted() -> bool:
        now = box.show(UNIT, "MainPID", "NRestarts", "ActiveState", "SubState")
        return (
            int(now["NRestarts"]) == int(before["NRestarts"]) + 1
            and now["MainPID"] not in ("0", before["MainPID"])
            and (now["ActiveState"], now["SubState"]) == ("active", "running")
        )

    box.wait_for("restart after the watchdog fired", restarted, timeout=WATCHDOG_S + 30)
    took = time.monotonic() - t0
    journal = box.journal(UNIT, 80)
    assert "Watchdog timeout" in journal, journal
    assert "blocking the event loop" in journal, journal
    return took


# ---------------------------------------------------------------------- amd64: real pjsua2, Kamailio


@pytest.fixture(scope="module")
def kamailio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kamailio]:
    kam = Kamailio(tmp_path_factory.mktemp("appliance-kamailio"))
    kam.add_account(USER, PASSWORD)
    kam.start()
    yield kam
    kam.stop()


@pytest.fixture(scope="module")
def amd64_root(tmp_path_factory: pytest.TempPathFactory, kamailio: Kamailio) -> Path:
    root = _installed_root("x86_64", tmp_path_factory.mktemp("amd64"))
    shutil.copy(kamailio.ca_cert, root / "etc/deskphone/lab-ca.pem")
    (root / "etc/deskphone/lab-ca.pem").chmod(0o644)
    return root  # keeps the image's placeholder config: the boot test brings deskphone.toml


def test_amd64_payload(amd64_root: Path) -> None:
    root = amd64_root
    uid = rootfs.uid_of(root, "deskphone")
    config = root / "etc/deskphone/config.toml"
    assert (config.stat().st_uid, stat.S_IMODE(config.stat().st_mode)) == (uid, 0o600)
    state = root / "var/lib/deskphone"
    assert (state.stat().st_uid, stat.S_IMODE(state.stat().st_mode)) == (uid, 0o700)
    group = (root / "etc/group").read_text()
    for name in ("gpio", "i2c", "spi", "audio"):
        line = next(g for g in group.splitlines() if g.startswith(f"{name}:"))
        assert "deskphone" in line.split(":")[3].split(","), line
    wants = root / "etc/systemd/system"
    assert (wants / "multi-user.target.wants" / UNIT).is_symlink()
    assert (wants / "multi-user.target.wants/deskphone-firstboot.service").is_symlink()
    assert (wants / "timers.target.wants/deskphone-retry.timer").is_symlink()
    boot_config = (root / "boot/firmware/config.txt").read_text()
    assert "dtparam=i2c_arm=on,i2c_arm_baudrate=400000" in boot_config
    assert "dtparam=spi=on" in boot_config
    assert "fsck.repair=yes" in (root / "boot/firmware/cmdline.txt").read_text()
    assert (root / "boot/firmware/deskphone-README.txt").exists()
    assert (root / "opt/deskphone/bin/deskphone").exists()
    # The image's own placeholder config is valid for this firmware (an empty [provisioning]).
    assert "[provisioning]" in config.read_text()
    in_root = "/" + str(config.relative_to(root))
    rootfs.run(["chroot", str(root), "/opt/deskphone/bin/deskphone", "check-config", in_root])


def test_amd64_install_is_idempotent(amd64_root: Path, tmp_path: Path) -> None:
    wheels = rootfs.wheelhouse("x86_64", tmp_path / "wheels")
    config_before = (amd64_root / "etc/deskphone/config.toml").read_bytes()
    rootfs.install(amd64_root, wheels)
    assert (amd64_root / "boot/firmware/config.txt").read_text().count("i2c_arm_baudrate=400000") == 1
    assert (amd64_root / "etc/deskphone/config.toml").read_bytes() == config_before  # a person's config stays
    users = [line.split(":")[0] for line in (amd64_root / "etc/passwd").read_text().splitlines()]
    assert users.count("deskphone") == 1


def test_amd64_installed_units_verify(amd64_root: Path) -> None:
    _verify_installed_units(amd64_root)


def test_amd64_boots_registers_and_recovers_from_a_hang(
    amd64_root: Path, kamailio: Kamailio, tmp_path: Path
) -> None:
    root = amd64_root
    boot = root / "boot/firmware"
    # The configuration arrives as a person would bring it: deskphone.toml on the boot partition.
    doc = phone_config(kamailio, USER, PASSWORD, "tls", tls_ca_file="/etc/deskphone/lab-ca.pem")
    write_toml(boot / "deskphone.toml", doc).chmod(0o755)  # as on FAT
    dropin = root / "etc/systemd/system/deskphone.service.d"
    dropin.mkdir(parents=True, exist_ok=True)
    (dropin / "50-rt-check.conf").write_text(RT_CHECK_UNIT)
    (root / "usr/local/lib/deskphone-rt-check.py").write_text(RT_CHECK)
    kamailio.clear_registrations()

    with rootfs.booted(root, "deskphone-amd64", tmp_path / "console.log") as box:
        box.wait_for("deskphone active", lambda: box.show(UNIT, "ActiveState")["ActiveState"] == "active", 60)
        ready = box.ready_after_boot(UNIT)
        rootfs.log(f"amd64: nspawn exec -> deskphone READY: {ready:.2f} s")
        box.wait_for(
            "STATUS registered",
            lambda: box.show(UNIT, "StatusText")["StatusText"] == f"SIP registered as {USER}@lab.test",
            15,
        )
        assert kamailio.wait_registered(USER, timeout=5)
        after = time.monotonic() - box.started_at - ready
        rootfs.log(f"amd64: registered with the lab Kamailio (TLS) {after:.2f} s after READY")

        props = box.show(UNIT, "MemoryDenyWriteExecute", "RestrictRealtime", "User", "NRestarts")
        assert props["MemoryDenyWriteExecute"] == "yes" and props["RestrictRealtime"] == "no"
        assert props["NRestarts"] == "0" and props["User"] == "deskphone"
        journal = box.journal(UNIT)
        if _host_can_raise_rlimits():
            assert "realtime: SCHED_RR 99 granted" in journal, journal
        else:  # this machine withholds CAP_SYS_RESOURCE from everything, nspawn's systemd included
            assert "realtime: RLIMIT_RTPRIO is 0" in journal, journal
            rootfs.log(
                "amd64: realtime NOT VERIFIED on this machine: it lacks CAP_SYS_RESOURCE, so systemd "
                "cannot raise RLIMIT_RTPRIO to LimitRTPRIO=99 (seccomp lets sched_setscheduler through)"
            )

        # Structured journal fields from firmware.service.JournalHandler.
        out = box.run(["journalctl", "-u", UNIT, "-o", "json", "DESKPHONE_SIP_STATE=registered"])
        entries = [json.loads(line) for line in out.stdout.splitlines()]
        assert entries, box.journal(UNIT)
        assert entries[0]["LOGGER"] == "firmware.service" and entries[0]["PRIORITY"] == "6"
        assert entries[0]["SYSLOG_IDENTIFIER"] == "deskphone" and "CODE_LINE" in entries[0]

        # deskphone-firstboot moved the file off the boot partition into /etc/deskphone.
        owner = box.run(["stat", "-c", "%U %a", "/etc/deskphone/config.toml"]).stdout.split()
        assert owner == ["deskphone", "600"]
        assert f'user = "{USER}"' in box.run(["cat", "/etc/deskphone/config.toml"]).stdout
        assert not (boot / "deskphone.toml").exists() and not (boot / "deskphone.toml.rejected").exists()
        assert box.show("deskphone-firstboot.service", "Result")["Result"] == "success"

        took = _hang_and_recover(box)
        rootfs.log(f"amd64: SIGUSR2 hang -> watchdog kill -> READY again: {took:.1f} s (WatchdogSec 10)")
        box.wait_for(
            "registered again",
            lambda: box.show(UNIT, "StatusText")["StatusText"].startswith("SIP registered"),
            15,
        )
    (dropin / "50-rt-check.conf").unlink()
    (root / "usr/local/lib/deskphone-rt-check.py").unlink()


# ---------------------------------------------------------------------- arm64: qemu, no pjsua2


@pytest.fixture(scope="module")
def arm64_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rootfs.log(
        "arm64: SKIPPED STEP image/pjproject.sh (pjsua2 for aarch64): it needs the upstream pjproject "
        "tarball, which CI cannot download; the phone must run without it and say 'SIP module missing'"
    )
    root = _installed_root("aarch64", tmp_path_factory.mktemp("arm64"))
    doc = {
        "sip": {"domain": "lab.test", "registrar": "127.0.0.1", "transport": "udp", "user": USER},
        "hardware": {"backend": "sim"},
    }
    _write_config(root, doc)
    return root


def test_arm64_installed_units_verify(arm64_root: Path) -> None:
    _verify_installed_units(arm64_root, own_systemd=True)  # its own (aarch64) systemd-analyze, under qemu
    header = (arm64_root / "usr/bin/python3.11").read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == 183  # EM_AARCH64


def test_arm64_boots_to_ready_without_sip_and_recovers_from_a_hang(arm64_root: Path, tmp_path: Path) -> None:
    with rootfs.booted(arm64_root, "deskphone-arm64", tmp_path / "console.log") as box:
        box.wait_for("deskphone active", lambda: box.show(UNIT, "ActiveState")["ActiveState"] == "active", 90)
        ready = box.ready_after_boot(UNIT)
        rootfs.log(f"arm64 (qemu-user): nspawn exec -> deskphone READY: {ready:.2f} s")
        box.wait_for(
            "STATUS SIP module missing",
            lambda: box.show(UNIT, "StatusText")["StatusText"] == "SIP failed: SIP module missing",
            30,
        )
        assert "No module named 'pjsua2'" in box.journal(UNIT)
        assert box.show(UNIT, "NRestarts")["NRestarts"] == "0"
        took = _hang_and_recover(box)
        rootfs.log(f"arm64: SIGUSR2 hang -> watchdog kill -> READY again: {took:.1f} s")


# ---------------------------------------------------------------------- Raspberry Pi OS's systemd


def test_units_verify_with_the_systemd_of_raspberry_pi_os(tmp_path: Path) -> None:
    """Raspberry Pi OS today is Debian 13 with systemd 257: its systemd-analyze must accept the units
    too (no output) and score them <= 2.0. A Debian 13 amd64 root with systemd only: unit files do
    not depend on the architecture, and it needs no qemu."""
    root = tmp_path / "trixie"
    rootfs.extract(rootfs.base_tarball("x86_64", "trixie", ("systemd",)), root)
    units = root / "usr/lib/systemd/system"
    for unit in ALL_UNITS:
        shutil.copy(rootfs.REPO / "systemd" / unit, units / unit)
    for exe in ("opt/deskphone/bin/deskphone", "opt/deskphone/libexec/deskphone-firstboot"):
        (root / exe).parent.mkdir(parents=True, exist_ok=True)
        (root / exe).write_text("#!/bin/sh\n")
        (root / exe).chmod(0o755)
    for group in ("deskphone", "gpio", "i2c", "spi"):
        rootfs.run(["groupadd", "--root", str(root), "--system", group])
    rootfs.run(["useradd", "--root", str(root), "--system", "--gid", "deskphone", "deskphone"])
    _verify_installed_units(root, own_systemd=True)
