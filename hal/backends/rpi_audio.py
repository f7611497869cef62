"""ALSA mixers and the ringer through pyalsaaudio (`alsaaudio`), imported here only, lazily.

Call audio itself is played by PJSIP on the card named by sound_device(); this part sets volumes
and plays the ring. Cards are chosen by *name*: card numbers change across reboots and USB replugs.
Card "default" is ALSA's default device; card "null" means no sound card at all.
"""

from __future__ import annotations

import functools
import logging
import math
import sys
import threading
import wave
from array import array
from dataclasses import dataclass
from typing import Any

from hal.config import AudioConfig
from hal.errors import DeviceError, HalConfigError
from hal.types import AudioPath

log = logging.getLogger(__name__)

# The alsaaudio module (or a test fake of it); it ships no type information.
AlsaModule = Any

RING_RATE = 16_000
RING_ON_S = 2.0
RING_OFF_S = 4.0
RING_TONES_HZ = (440.0, 480.0)  # the North American ring: the two tones beat at 40 Hz, a warble
_RAMP_S = 0.01  # fade in/out so the tone starts and stops without a click
PERIOD_FRAMES = 320  # 20 ms at 16 kHz: stop_ringer silences the ring within about one period
_JOIN_TIMEOUT_S = 1.0
NULL_CARD = "null"
DEFAULT_CARD = "default"


def load_alsa() -> AlsaModule:
    try:
        import alsaaudio
    except ImportError as exc:
        raise DeviceError(
            "pyalsaaudio is not installed: install the 'rpi' extra (needs libasound2-dev)"
        ) from exc
    return alsaaudio


@dataclass(frozen=True)
class Ringtone:
    """Signed 16-bit little-endian PCM and how to play it."""

    pcm: bytes
    rate: int
    channels: int


def _to_le_bytes(samples: array[int]) -> bytes:
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


@functools.lru_cache(maxsize=8)
def synth_ring(volume_percent: int, rate: int = RING_RATE, seconds: float = RING_ON_S) -> Ringtone:
    """One burst of the built-in ring (cached: it is the same bytes every time)."""
    count = int(rate * seconds)
    ramp = max(1, int(rate * _RAMP_S))
    # Each tone at 45 % of full scale: their sum never clips.
    amplitude = 0.45 * 32767 * max(0, min(100, volume_percent)) / 100
    samples = array("h", bytes(2 * count))
    for i in range(count):
        t = i / rate
        envelope = min(1.0, i / ramp, (count - 1 - i) / ramp)
        value = sum(math.sin(2 * math.pi * hz * t) for hz in RING_TONES_HZ)
        samples[i] = int(amplitude * envelope * value)
    return Ringtone(_to_le_bytes(samples), rate, 1)


def load_wav(path: str, volume_percent: int) -> Ringtone:
    """A 16-bit PCM WAV ringtone, scaled to the ringer volume."""
    try:
        with wave.open(path, "rb") as wav:
            if wav.getsampwidth() != 2:
                raise HalConfigError(f"ringtone {path}: only 16-bit PCM WAV is supported")
            rate, channels = wav.getframerate(), wav.getnchannels()
            raw = wav.readframes(wav.getnframes())
    except (OSError, wave.Error, EOFError) as exc:
        raise HalConfigError(f"cannot read ringtone {path}: {exc}") from exc
    samples = array("h")
    samples.frombytes(raw)
    if sys.byteorder == "big":
        samples.byteswap()
    if volume_percent < 100:
        scale = max(0, volume_percent) / 100
        samples = array("h", (int(s * scale) for s in samples))
    return Ringtone(_to_le_bytes(samples), rate, channels)


def _periods(pcm: bytes, period_bytes: int) -> list[bytes]:
    """Split into whole periods, padding the last with silence (ALSA wants whole periods)."""
    chunks = [pcm[i : i + period_bytes] for i in range(0, len(pcm), period_bytes)]
    if chunks and len(chunks[-1]) < period_bytes:
        chunks[-1] = chunks[-1] + bytes(period_bytes - len(chunks[-1]))
    return chunks


def card_index(alsa: AlsaModule, name: str) -> int:
    """Map a card name to today's card number (alsaaudio.cards() lists names by index)."""
    cards = list(alsa.cards())
    if name not in cards:
        raise DeviceError(f"ALSA card {name!r} not found; cards present: {cards or 'none'}")
    return cards.index(name)


class AlsaRinger:
    """Plays the ringtone in a loop (RING_OFF_S of silence between bursts) on a background thread."""

    def __init__(self, alsa: AlsaModule | None, device: str | None, tone: Ringtone) -> None:
        self._alsa = alsa
        self._device = device  # None: the null card, the ring is only a state
        self._tone = tone
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ringing = False
        self._lock = threading.Lock()
        self.bursts_played = 0  # whole bursts handed to ALSA: for diagnostics and tests

    def is_ringing(self) -> bool:
        return self._ringing

    def start(self) -> None:
        with self._lock:
            if self._ringing:
                return
            # Open in the caller's thread so a missing or busy device is the caller's error.
            pcm = self._open() if self._device is not None else None
            self._ringing = True
            if pcm is not None:
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=self._play, args=(pcm, self._stop), name="ringer", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._ringing = False
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(_JOIN_TIMEOUT_S)

    def _open(self) -> Any:
        alsa = self._alsa
        assert alsa is not None
        try:
            return alsa.PCM(
                type=alsa.PCM_PLAYBACK,
                mode=alsa.PCM_NORMAL,
                rate=self._tone.rate,
                channels=self._tone.channels,
                format=alsa.PCM_FORMAT_S16_LE,
                periodsize=PERIOD_FRAMES,
                device=self._device,
            )
        except alsa.ALSAAudioError as exc:
            raise DeviceError(f"cannot open ALSA device {self._device!r} for the ringer: {exc}") from exc

    def _play(self, pcm: Any, stop: threading.Event) -> None:
        period_bytes = PERIOD_FRAMES * self._tone.channels * 2
        chunks = _periods(self._tone.pcm, period_bytes)
        try:
            while not stop.is_set():
                for chunk in chunks:
                    if stop.is_set():
                        return
                    pcm.write(chunk)  # blocks while the device buffer is full: that paces us
                self.bursts_played += 1
                if stop.wait(RING_OFF_S):
                    break
        except Exception:
            log.exception("ringer playback failed on %r", self._device)
        finally:
            self._close(pcm)

    @staticmethod
    def _close(pcm: Any) -> None:
        # drop() discards what is still buffered, so the ring stops now rather than after it.
        for name in ("drop", "close"):
            try:
                method = getattr(pcm, name, None)
                if method is not None:
                    method()
            except Exception:
                log.debug("PCM %s failed", name, exc_info=True)


class AlsaAudio:
    """Volumes on the card's mixer controls, the ringer, and which device PJSIP uses for calls."""

    def __init__(self, config: AudioConfig, alsa: AlsaModule | None = None) -> None:
        self._config = config
        ringer_card = config.ringer_card or config.card
        needs_alsa = config.card != NULL_CARD or ringer_card != NULL_CARD
        # The null card never touches ALSA, so a machine without pyalsaaudio can still run it.
        self._alsa = (alsa if alsa is not None else load_alsa()) if needs_alsa else None
        self._mixers: dict[AudioPath, Any] = {}
        self._volumes = {AudioPath.HANDSET: config.handset_volume, AudioPath.SPEAKER: config.speaker_volume}
        self._route = AudioPath.HANDSET
        self._closed = False
        try:
            self._open_mixers()
            for path, percent in self._volumes.items():
                self.set_volume(path, percent)
            device = self._pcm_device(ringer_card)
            # The null card plays nothing: no tone to synthesise or WAV to read.
            tone = self._ringtone() if device is not None else Ringtone(b"", RING_RATE, 1)
            self._ringer = AlsaRinger(self._alsa, device, tone)
        except BaseException:
            self._close_mixers()
            raise

    def _ringtone(self) -> Ringtone:
        if self._config.ringtone:
            return load_wav(self._config.ringtone, self._config.ringer_volume)
        return synth_ring(self._config.ringer_volume)

    def _pcm_device(self, card: str) -> str | None:
        if card == NULL_CARD:
            return None
        if card == DEFAULT_CARD:
            return DEFAULT_CARD
        card_index(self._alsa, card)  # fail now, clearly, if the card is absent
        # The card's "default" PCM converts rate/format and shares the card (dmix) where ALSA can.
        return f"default:CARD={card}"

    def _open_mixers(self) -> None:
        card = self._config.card
        if card == NULL_CARD:
            return
        index = None if card == DEFAULT_CARD else card_index(self._alsa, card)
        controls = {
            AudioPath.HANDSET: self._config.handset_mixer,
            AudioPath.SPEAKER: self._config.speaker_mixer,
        }
        for path, control in controls.items():
            if control:  # an empty control name: that path has no hardware volume
                self._mixers[path] = self._open_mixer(control, index)

    def _open_mixer(self, control: str, index: int | None) -> Any:
        alsa = self._alsa
        assert alsa is not None
        where = {"device": DEFAULT_CARD} if index is None else {"cardindex": index}
        try:
            return alsa.Mixer(control=control, **where)
        except alsa.ALSAAudioError as exc:
            try:
                present = list(alsa.mixers(**where))
            except alsa.ALSAAudioError:
                present = []
            raise DeviceError(
                f"ALSA mixer control {control!r} not found on card {self._config.card!r}; controls: {present}"
            ) from exc

    def set_volume(self, path: AudioPath, percent: int) -> None:
        percent = max(0, min(100, int(percent)))
        mixer = self._mixers.get(path)
        if mixer is not None:
            try:
                mixer.setvolume(percent)
            except Exception as exc:
                raise DeviceError(
                    f"cannot set {path.value} volume on card {self._config.card!r}: {exc}"
                ) from exc
        self._volumes[path] = percent

    def volume(self, path: AudioPath) -> int:
        # The value asked for, not read back: mixers round to their steps (70 % may read 69 %),
        # and reading back would make repeated volume-up presses stall or drift.
        return self._volumes[path]

    def set_route(self, path: AudioPath) -> None:
        # Only recorded: PJSIP moves the call audio; the firmware asks route() what it chose.
        self._route = path

    def route(self) -> AudioPath:
        return self._route

    def sound_device(self) -> str | None:
        return None if self._config.card == NULL_CARD else self._config.card

    @property
    def ringer(self) -> AlsaRinger:
        return self._ringer

    def start_ringer(self) -> None:
        self._ringer.start()

    def stop_ringer(self) -> None:
        self._ringer.stop()

    def is_ringing(self) -> bool:
        return self._ringer.is_ringing()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._ringer.stop()
        self._close_mixers()

    def _close_mixers(self) -> None:
        mixers, self._mixers = self._mixers, {}
        for mixer in mixers.values():
            try:
                mixer.close()
            except Exception:
                log.debug("mixer close failed", exc_info=True)
