"""The code base stays mypy --strict and ruff clean: part of the test command, so CI enforces it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_lint() -> None:
    result = _run(str(BIN / "ruff"), "check", "firmware", "hal", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = _run(str(BIN / "ruff"), "format", "--check", "firmware", "hal", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = _run(str(BIN / "mypy"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_hal_never_imports_firmware() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "hal").rglob("*.py")
        if "import firmware" in p.read_text() or "from firmware" in p.read_text()
    ]
    assert offenders == []


def test_hardware_libraries_only_inside_the_rpi_backend() -> None:
    allowed = {"rpi.py", "rpi_gpio.py", "rpi_display.py", "rpi_audio.py"}
    needles = ("import RPi", "from RPi", "import alsaaudio", "from luma", "import luma")
    offenders = [
        str(p.relative_to(ROOT))
        for base in ("hal", "firmware")
        for p in (ROOT / base).rglob("*.py")
        if p.name not in allowed and any(n in p.read_text() for n in needles)
    ]
    assert offenders == []


def test_mypy_strict_bench() -> None:
    result = _run(str(BIN / "mypy"), "--strict", "bench")
    assert result.returncode == 0, result.stdout + result.stderr
