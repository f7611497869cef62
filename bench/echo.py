"""Round-trip delay from recordings of tone bursts: WAV I/O, onset detection and pairing.

A burst train (a few ms of tone every `period`) is sent; the far end loops it back. The delay of
one burst is the time from the onset of the burst sent to the onset of its echo. Onsets are
found with the same relative threshold on both signals, so the threshold's own bias cancels.
"""

from __future__ import annotations

import math
import statistics
import struct
import time
import wave
from pathlib import Path

THRESHOLD = 0.25  # of the recording's peak amplitude
QUIET_MS = 3.0  # an onset needs this much quiet before it (a burst's own zero crossings are shorter)
SENT_TOLERANCE_S = 0.0015  # the generator is sample-exact: sent bursts sit on their period grid


def read_wav(path: Path, timeout: float = 2.0) -> tuple[list[int], int]:
    """First channel of a 16-bit WAV. pjmedia writes the header when the recorder port is destroyed
    (on the bridge's next tick), so wait for a readable file."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with wave.open(str(path), "rb") as w:
                rate, channels = w.getframerate(), w.getnchannels()
                frames = w.readframes(w.getnframes())
            break
        except (OSError, wave.Error, EOFError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    count = len(frames) // 2
    samples = struct.unpack(f"<{count}h", frames[: count * 2])
    return list(samples[::channels]), rate


def write_bursts(
    path: Path, *, seconds: float, period_ms: int, on_ms: int, freq: int, rate: int = 48000
) -> None:
    """A stereo WAV of tone bursts starting at t=0 (a source file for baresip's aufile)."""
    period, on = rate * period_ms // 1000, rate * on_ms // 1000
    data = bytearray()
    for i in range(int(rate * seconds)):
        k = i % period
        value = int(16000 * math.sin(2 * math.pi * freq * k / rate)) if k < on else 0
        data += struct.pack("<hh", value, value)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(data))


def onset_samples(samples: list[int], rate: int) -> list[int]:
    """Indices where the signal rises above the threshold after quiet."""
    peak = max((abs(v) for v in samples), default=0)
    if peak == 0:
        return []
    threshold = THRESHOLD * peak
    quiet_needed = int(rate * QUIET_MS / 1000)
    found: list[int] = []
    quiet = quiet_needed
    for i, value in enumerate(samples):
        if abs(value) > threshold:
            if quiet >= quiet_needed:
                found.append(i)
            quiet = 0
        else:
            quiet += 1
    return found


def onsets(samples: list[int], rate: int) -> list[float]:
    """Onset times in seconds from the first sample."""
    return [i / rate for i in onset_samples(samples, rate)]


def wav_data_offset(path: Path) -> int:
    """Byte offset of the samples in a RIFF/WAVE file (after the 'data' chunk header)."""
    head = path.read_bytes()[:4096]
    offset = 12
    while offset + 8 <= len(head):
        chunk, size = head[offset : offset + 4], int.from_bytes(head[offset + 4 : offset + 8], "little")
        if chunk == b"data":
            return offset + 8
        offset += 8 + size + (size & 1)
    raise ValueError(f"{path}: no data chunk")


def split_mixed(times: list[float], period: float) -> tuple[list[float], list[float]]:
    """Onsets of a recording holding both the bursts sent and their echoes -> (sent, echoes).

    The recording starts with the first burst sent (the generator is connected in the same step as
    the recorder, before anything can come back); the others follow on its exact period grid."""
    if not times:
        return [], []
    first = times[0]
    sent: list[float] = []
    echoes: list[float] = []
    for t in times:
        offset = (t - first) % period
        on_grid = min(offset, period - offset) <= SENT_TOLERANCE_S
        (sent if on_grid else echoes).append(t)
    return sent, echoes


def pair_delays(sent: list[float], echoes: list[float], period: float) -> list[float]:
    """For each burst sent, the delay to the first echo onset within one period after it."""
    delays = []
    for s in sent:
        later = [e - s for e in echoes if 0 < e - s < period]
        if later:
            delays.append(min(later))
    return delays


def call_delay_ms(delays: list[float], minimum: int = 3) -> float:
    """One call's round trip: the median over its bursts (the delay is stable within a call)."""
    if len(delays) < minimum:
        raise RuntimeError(f"only {len(delays)} echoes found (need {minimum}): no loop-back audio?")
    return 1000 * statistics.median(delays)
