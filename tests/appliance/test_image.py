"""The image recipe's scripts, as far as they run without the internet (seconds)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from tests.appliance.rootfs import REPO

IMAGE = REPO / "image"
PJPROJECT = IMAGE / "pjproject.sh"
SCRIPTS = [
    IMAGE / "install.sh",
    IMAGE / "build.sh",
    IMAGE / "wheelhouse.sh",
    PJPROJECT,
    *sorted((IMAGE / "pi-gen/stage-deskphone").rglob("*.sh")),
    REPO / "systemd/deskphone-firstboot",
]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_scripts_parse_and_are_executable(script: Path) -> None:
    assert os.access(script, os.X_OK), f"{script} is not executable"
    shell = "sh" if script.name == "deskphone-firstboot" else "bash"
    proc = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def _verify(tarball: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(PJPROJECT), "--verify-only", str(tarball)],
        capture_output=True, text=True, check=False, env={**os.environ, **env},
    )  # fmt: skip


def test_pjproject_refuses_a_tarball_with_the_wrong_checksum(tmp_path: Path) -> None:
    """CI cannot download pjproject: a local substitute stands in for the tarball. The pinned
    checksum must reject it (fail closed), and an explicit matching checksum must accept it."""
    fake = tmp_path / "pjproject-2.15.1.tar.gz"
    fake.write_bytes(b"not the pjproject release")
    proc = _verify(fake)
    assert proc.returncode != 0 and "checksum mismatch" in proc.stderr, proc.stdout + proc.stderr
    digest = hashlib.sha256(fake.read_bytes()).hexdigest()
    proc = _verify(fake, PJPROJECT_SHA256=digest)
    assert proc.returncode == 0 and "verified" in proc.stdout, proc.stdout + proc.stderr
    print("pjproject.sh: the build itself is not run in CI (needs the upstream tarball)")


def test_pjproject_needs_a_checksum_for_an_unpinned_version(tmp_path: Path) -> None:
    fake = tmp_path / "t.tar.gz"
    fake.write_bytes(b"x")
    proc = _verify(fake, PJPROJECT_VERSION="2.16")
    assert proc.returncode != 0 and "no checksum pinned" in proc.stderr
    proc = _verify(fake, PJPROJECT_SHA256="abc")
    assert proc.returncode != 0 and "not a SHA-256" in proc.stderr


def test_install_refuses_without_a_wheelhouse_or_a_root(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DESKPHONE_WHEELS"}
    proc = subprocess.run(
        ["bash", str(IMAGE / "install.sh"), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode != 0 and "DESKPHONE_WHEELS" in proc.stderr
    env["DESKPHONE_WHEELS"] = str(tmp_path)
    proc = subprocess.run(
        ["bash", str(IMAGE / "install.sh"), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode != 0 and "python3" in proc.stderr


def test_pi_gen_stage_runs_the_same_install_script() -> None:
    stage = IMAGE / "pi-gen/stage-deskphone"
    assert "copy_previous" in (stage / "prerun.sh").read_text()
    assert "IMG_SUFFIX" in (stage / "EXPORT_IMAGE").read_text()
    assert "image/install.sh" in (stage / "00-install/01-run.sh").read_text()
    packages = (stage / "00-install/00-packages").read_text().split()
    assert {"python3-venv", "python3-rpi-lgpio", "python3-alsaaudio"} <= set(packages)
    assert "RPi.GPIO" not in packages and "python3-rpi.gpio" not in packages  # never next to rpi-lgpio


def _target_env(arch: str, python: str) -> dict[str, str]:
    return {
        "platform_machine": arch, "python_version": python, "python_full_version": f"{python}.0",
        "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
        "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": "",
    }  # fmt: skip


def test_the_pi_wheelhouse_is_complete(tmp_path: Path) -> None:
    """image/build.sh installs the Pi offline from image/wheelhouse.sh's aarch64 / CPython 3.13
    wheelhouse (Raspberry Pi OS trixie): every requirement, transitively, must have a wheel there
    that such a Python accepts (pip cannot check this on this host: it evaluates markers for x86)."""
    import zipfile
    from email.parser import Parser

    from packaging.requirements import Requirement
    from packaging.tags import Tag
    from packaging.utils import canonicalize_name, parse_wheel_filename

    out = tmp_path / "wheels"
    proc = subprocess.run(
        ["bash", str(IMAGE / "wheelhouse.sh"), str(out), "aarch64", "3.13"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    platforms = {
        "any",
        *(f"{g}_aarch64" for g in ("manylinux2014", *(f"manylinux_2_{n}" for n in range(17, 42)))),
    }
    accepted = {
        Tag(i, a, p)
        for i in ("cp313", "py3", "py2.py3", "cp32")
        for a in ("cp313", "abi3", "none")
        for p in platforms
    }
    wheels: dict[str, Path] = {}
    for whl in out.glob("*.whl"):
        name, _, _, tags = parse_wheel_filename(whl.name)
        if any(
            Tag(t.interpreter, t.abi, t.platform) in accepted or (t.abi == "abi3" and t.platform in platforms)
            for t in tags
        ):
            wheels[canonicalize_name(name)] = whl
    env = _target_env("aarch64", "3.13")
    todo, seen, missing = [Requirement("cusax-deskphone")], set(), []
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        if name not in wheels:
            missing.append(str(req))
            continue
        with zipfile.ZipFile(wheels[name]) as z:
            meta_name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
            meta = Parser().parsestr(z.read(meta_name).decode())
        for dep in meta.get_all("Requires-Dist") or []:
            r = Requirement(dep)
            if r.marker is None or r.marker.evaluate(env):
                todo.append(r)
    assert not missing, f"no aarch64 / cp313 wheel for: {missing}"
    assert "pjsua2-python" not in seen  # the Pi gets pjsua2 from image/pjproject.sh
    print(f"Pi wheelhouse: {len(seen)} distributions, all with aarch64 / CPython 3.13 wheels")
