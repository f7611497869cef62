"""Audio checks for end-to-end tests: which tone crossed a call, read from a recorded WAV."""

from __future__ import annotations

import math
import struct
import time
import wave
from pathlib import Path


def read_wav(path: Path, timeout: float = 2.0) -> tuple[list[float], int]:
    """Read a recording; pjmedia 2.15 destroys conference ports on its next clock tick, so the WAV
    header may land a frame after the recorder was released: wait for it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with wave.open(str(path), "rb") as w:
                rate, frames = w.getframerate(), w.readframes(w.getnframes())
            break
        except (wave.Error, EOFError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    count = len(frames) // 2
    return [s / 32768.0 for s in struct.unpack(f"<{count}h", frames[: count * 2])], rate


def tone_power(samples: list[float], rate: int, freq: float) -> float:
    """Goertzel: normalised power of one frequency in the block."""
    if not samples:
        return 0.0
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / len(samples)


def dominant(samples: list[float], rate: int, candidates: list[float]) -> float:
    return max(candidates, key=lambda f: tone_power(samples, rate, f))
