"""Debian root file systems for the appliance tests: built with mmdebstrap (cached), filled by
image/install.sh, booted with systemd-nspawn and driven with nsenter.

This machine's PID 1 is not systemd, so nspawn runs with --register=no --keep-unit (no machined,
no D-Bus) and we reach the container's systemd through its namespaces (`nsenter -t LEADER -a`).
The container shares the host's network, so the phone inside reaches the lab's Kamailio on
127.0.0.1. Both sides read the same CLOCK_MONOTONIC, so boot -> READY is measured from the host's
exec of nspawn to the unit's ActiveEnterTimestampMonotonic.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
MIRROR = "http://deb.debian.org/debian"
PACKAGES = ("systemd", "systemd-sysv", "dbus", "python3", "python3-venv")
DEBIAN_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
# (Debian suite, its Python) of the roots that boot. Debian 12: PyPI's pjsua2-python wheels stop at
# cp312, and Debian 13's systemd 257 does not start services under Debian 12's qemu-user 7.2
# (every unit fails with "resources"). Raspberry Pi OS today is Debian 13: its systemd checks the
# units in a separate Debian 13 root (systemd_root), and the image's aarch64/3.13 wheelhouse is
# resolved in test_image.py.
TARGETS = {"x86_64": ("bookworm", "3.11"), "aarch64": ("bookworm", "3.11")}


MESSAGES: list[str] = []  # printed at the end of the run by conftest.pytest_terminal_summary


def log(message: str) -> None:
    """Figures and skipped steps must show in CI's output (pytest -ra shows failures, not prints)."""
    if not message.startswith("install.sh: ") or "NOT" in message or "done" in message:
        MESSAGES.append(message)
    sys.stderr.write(f"[appliance] {message}\n")
    sys.stderr.flush()


def cache_dir() -> Path:
    path = Path(os.environ.get("DESKPHONE_CACHE", "/var/cache/deskphone-ci"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def run(cmd: list[str], timeout: float = 600, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def requirements() -> list[str]:
    """What these tests need; empty when everything is there. `bash .ci/setup` installs it all."""
    missing = [
        b
        for b in ("mmdebstrap", "systemd-nspawn", "nsenter", "systemd-analyze", "chroot")
        if not shutil.which(b)
    ]
    if os.geteuid() != 0:
        missing.append("root (mount, chroot, systemd-nspawn)")
    return missing


def ensure_binfmt(arch: str) -> None:
    """Foreign binaries run through qemu-user-static's binfmt handler (F flag: works in chroots)."""
    if arch == os.uname().machine:
        return
    misc = Path("/proc/sys/fs/binfmt_misc")
    if not (misc / "register").exists():
        run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(misc)])
    entry = misc / f"qemu-{arch}"
    if not entry.exists():
        run(["update-binfmts", "--enable", f"qemu-{arch}"])
    text = entry.read_text()
    assert text.startswith("enabled") and "F" in text.split("flags:")[1].split("\n")[0], text


def base_tarball(arch: str, suite: str | None = None, packages: tuple[str, ...] = PACKAGES) -> Path:
    """The cached mmdebstrap tarball for `arch` (uname machine name), keyed by what goes into it."""
    deb_arch = DEBIAN_ARCH[arch]
    suite = suite or TARGETS[arch][0]
    key_doc = {"suite": suite, "arch": deb_arch, "variant": "minbase", "packages": packages, "mirror": MIRROR}
    key = hashlib.sha256(json.dumps(key_doc, sort_keys=True).encode()).hexdigest()[:16]
    cache = cache_dir()
    tarball = cache / f"rootfs-{suite}-{deb_arch}-{key}.tar"
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if tarball.exists():
            log(f"base rootfs {suite} {deb_arch}: cached {tarball}")
            return tarball
        ensure_binfmt(arch)
        for old in cache.glob(f"rootfs-{suite}-{deb_arch}-*.tar"):
            old.unlink()  # another package list: stale
        t0 = time.monotonic()
        partial = tarball.with_suffix(".partial.tar")
        run(
            ["mmdebstrap", f"--arch={deb_arch}", "--variant=minbase", f"--include={','.join(packages)}",
             suite, str(partial), MIRROR],
            timeout=1500,
        )  # fmt: skip
        partial.rename(tarball)
        took = time.monotonic() - t0
        log(f"base rootfs {suite} {deb_arch}: built in {took:.0f} s (cold cache) -> {tarball}")
        return tarball


def wheelhouse(arch: str, dest: Path) -> Path:
    t0 = time.monotonic()
    run(["bash", str(REPO / "image/wheelhouse.sh"), str(dest), arch, TARGETS[arch][1]], timeout=900)
    log(f"wheelhouse {arch}: {len(list(dest.glob('*.whl')))} wheels in {time.monotonic() - t0:.1f} s")
    return dest


def extract(tarball: Path, root: Path) -> None:
    root.mkdir(parents=True)
    run(["tar", "--numeric-owner", "-xpf", str(tarball), "-C", str(root)])


def install(root: Path, wheels: Path, **env: str) -> float:
    t0 = time.monotonic()
    proc = run(
        ["bash", str(REPO / "image/install.sh"), str(root)],
        env={**os.environ, "DESKPHONE_WHEELS": str(wheels), **env},
        timeout=900,
    )
    took = time.monotonic() - t0
    for line in proc.stdout.splitlines():
        log(line)
    return took


def uid_of(root: Path, user: str) -> int:
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2])
    raise AssertionError(f"no user {user} in {root}")


class Container:
    """One `systemd-nspawn --boot` of a root file system."""

    def __init__(self, root: Path, name: str, log_path: Path) -> None:
        self.root, self.name, self.log_path = root, name, log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.leader = 0
        self.started_at = 0.0

    def boot(self, timeout: float = 120) -> None:
        self.started_at = time.monotonic()
        out = open(self.log_path, "wb")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(
            ["systemd-nspawn", "--quiet", f"--directory={self.root}", "--boot", "--register=no",
             "--keep-unit", f"--machine={self.name}", "--console=passive"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"nspawn exited {self.proc.returncode}:\n{self.log_path.read_text()[-3000:]}"
                )
            self.leader = self._find_leader()
            if self.leader:
                state = self.run(["systemctl", "is-system-running"], check=False).stdout.strip()
                if state in ("initializing", "starting", "running", "degraded", "maintenance"):
                    return
            time.sleep(0.1)
        raise AssertionError(f"container did not boot in {timeout} s:\n{self.log_path.read_text()[-3000:]}")

    def _find_leader(self) -> int:
        assert self.proc is not None
        with contextlib.suppress(OSError, ValueError):
            for child in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split():
                if Path(f"/proc/{child}/comm").read_text().strip() == "systemd":
                    return int(child)
        return 0

    def run(
        self, cmd: list[str], check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        full = ["nsenter", "-t", str(self.leader), "-a", *cmd]
        if check:
            return run(full, timeout=timeout)
        return subprocess.run(full, capture_output=True, text=True, timeout=timeout, check=False)

    def show(self, unit: str, *props: str) -> dict[str, str]:
        out = self.run(["systemctl", "show", unit, *(f"--property={p}" for p in props)]).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def wait_for(self, what: str, probe: Callable[[], bool], timeout: float) -> float:
        """Seconds until `probe()` holds; AssertionError with the unit's journal otherwise."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            try:
                if probe():
                    return time.monotonic() - t0
            except AssertionError:  # systemctl could not answer (yet): try again
                pass
            time.sleep(0.1)
        raise AssertionError(f"{what}: not within {timeout} s\n{self.journal('deskphone.service')}")

    def journal(self, unit: str, lines: int = 60) -> str:
        return self.run(["journalctl", "--no-pager", "-u", unit, "-n", str(lines)], check=False).stdout

    def ready_after_boot(self, unit: str) -> float:
        """Seconds from nspawn's exec to the unit becoming active (READY=1 for Type=notify)."""
        stamp = int(self.show(unit, "ActiveEnterTimestampMonotonic")["ActiveEnterTimestampMonotonic"])
        return stamp / 1e6 - self.started_at

    def poweroff(self, timeout: float = 60) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None and self.leader:
            self.run(["systemctl", "poweroff"], check=False, timeout=10)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> Container:
        self.boot()
        return self

    def __exit__(self, *exc: object) -> None:
        self.poweroff()


@contextlib.contextmanager
def booted(root: Path, name: str, log_path: Path) -> Iterator[Container]:
    container = Container(root, name, log_path)
    try:
        container.boot()
        yield container
    finally:
        container.poweroff()
