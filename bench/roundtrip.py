"""Media round trip: A sends tone bursts into a call, B loops the call audio back, A records.

Phones: A's `echo_probe` connects one pjmedia tone generator (5 ms of 2 kHz every 200 ms) to the
call and to a recorder, and the call's incoming audio to the same recorder: one WAV holds each
burst as sent and its echo, on one clock. B runs `loopback` (its call port transmits to itself).

baresip: A's source is `aufile` playing the same burst train from a WAV, its `sndfile` filter
dumps what is encoded (sent) and what is decoded (received) to two WAVs, one write per frame as
it passes; inotify times every write, which puts both recordings on one clock. B is an
`aubridge` echo (what its player gets is handed to its source).

Either way the delay of a burst is (time its echo's frame passed A's decoder + offset in frame)
- (time its frame passed A's encoder + offset in frame): sound-card buffers are not included.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from bench import echo
from bench.inotify import SampleClock, WriteTimes
from bench.lab import BenchBaresip, BenchLab
from bench.procstat import rss_mb
from firmware.lab.phone import PhoneAgent, connect, hang_up

PERIOD_MS, ON_MS, FREQ_HZ = 200, 5, 2000
PERIOD_S = PERIOD_MS / 1000
SETTLE_S = 0.4  # after the call is up, before bursts count (jitter buffers settle)
RECORD_S = 2.0  # 10 bursts
SKIP_BURSTS = 2
Result = dict[str, list[float]]


def _add_call(out: Result, delays: list[float]) -> None:
    """One call: its round trip (median over the bursts) and how far its bursts were apart (ms)."""
    out["rtt"].append(echo.call_delay_ms(delays))
    out["burst_range"].append(1000 * (max(delays) - min(delays)))


def _phone_call_delays(a: PhoneAgent, b: PhoneAgent, wav: Path, rss: list[float]) -> list[float]:
    connect(a, b, "1002")
    try:
        b.request("loopback")
        time.sleep(SETTLE_S)
        a.request("echo_probe", path=str(wav), freq=FREQ_HZ, on_ms=ON_MS, off_ms=PERIOD_MS - ON_MS)
        time.sleep(RECORD_S)
        assert a.pid is not None and b.pid is not None
        rss.extend([rss_mb(a.pid), rss_mb(b.pid)])
        a.request("stop_recording")
    finally:
        hang_up(a, b)
    samples, rate = echo.read_wav(wav)
    sent, echoes = echo.split_mixed(echo.onsets(samples, rate), PERIOD_S)
    return echo.pair_delays(sent[SKIP_BURSTS:], echoes, PERIOD_S)


def phone(lab: BenchLab, runs: int, ptime_ms: int, jitter: dict[str, int] | None = None) -> Result:
    """Per run: the round trip in ms (median over the bursts of one call); and the RSS of both phones
    in the call. Each run starts two new agents: the delay depends on the phase between the two
    processes' media clocks, which stays put while they live (consecutive calls measure the same)."""
    sip: dict[str, Any] = {"codecs": ["G722/16000"], "ptime_ms": ptime_ms}
    if jitter is not None:
        sip["jitter"] = jitter
    out: Result = {"rtt": [], "burst_range": [], "rss": []}
    for run in range(runs):
        a, b = lab.phones("1001", "1002", **sip)
        try:
            a.wait(registration="registered")
            b.wait(registration="registered")
            _add_call(out, _phone_call_delays(a, b, a.workdir / f"rtt-{run}.wav", out["rss"]))
        finally:
            lab.release(a, b)
    return out


def _baresip_call_delays(
    a: BenchBaresip, b: BenchBaresip, writes: WriteTimes, rss: list[float]
) -> list[float]:
    a.skip_events()
    b.skip_events()
    a.dial(b.user)
    a.wait_for_event("CALL_ESTABLISHED")
    b.wait_for_event("CALL_ESTABLISHED")
    try:
        time.sleep(SETTLE_S + RECORD_S)
        assert a.pid is not None and b.pid is not None
        rss.extend([rss_mb(a.pid), rss_mb(b.pid)])
    finally:
        a.hangup()
        a.wait_for_event("CALL_CLOSED")
        b.wait_for_event("CALL_CLOSED")
    sent = _timed_onsets(a.recordings_dir, "enc", writes)
    received = _timed_onsets(a.recordings_dir, "dec", writes)
    skip = math.ceil(SETTLE_S / PERIOD_S) + SKIP_BURSTS
    return echo.pair_delays(sent[skip:], received, PERIOD_S)


def _timed_onsets(directory: Path, kind: str, writes: WriteTimes) -> list[float]:
    """Onsets of the one `*-{kind}.wav` dump, in time.monotonic() seconds; the file is removed."""
    (path,) = directory.glob(f"*-{kind}.wav")
    samples, rate = echo.read_wav(path)
    if not samples:
        raise RuntimeError(f"{path} is empty")
    clock = SampleClock.from_writes(writes.pop(path.name), echo.wav_data_offset(path), 2, rate)
    path.unlink()
    return [clock.time_of(i) for i in echo.onset_samples(samples, rate)]


def baresip(lab: BenchLab, runs: int, ptime_ms: int) -> Result:
    """Per call: the round trip in ms (median over its bursts); and the RSS of both baresips in the call."""
    seconds = SETTLE_S + RECORD_S + 2  # longer than a call: aufile stops at the end of its file
    bursts = lab.workdir / f"bursts-{ptime_ms}.wav"
    echo.write_bursts(bursts, seconds=seconds, period_ms=PERIOD_MS, on_ms=ON_MS, freq=FREQ_HZ)
    a = lab.baresip("2001", source=f"aufile,{bursts}", record=True, ptime=ptime_ms)
    b = lab.baresip("2002", echo=True, ptime=ptime_ms)
    out: Result = {"rtt": [], "burst_range": [], "rss": []}
    try:
        a.wait_registered()
        b.wait_registered()
        with WriteTimes(a.recordings_dir) as writes:
            for _ in range(runs):
                _add_call(out, _baresip_call_delays(a, b, writes, out["rss"]))
    finally:
        lab.release(a, b)
    return out
