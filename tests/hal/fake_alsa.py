"""A fake of the `alsaaudio` module (pyalsaaudio 0.11): cards, mixer controls and playback PCMs.

Like the real module it raises ALSAAudioError for a card, control or device that does not exist,
rejects writes that are not whole frames, and quantises mixer volumes to the control's steps.
"""

from __future__ import annotations

import threading
from typing import Any


class ALSAAudioError(Exception):
    pass


class FakeMixer:
    def __init__(self, card: str, control: str, levels: dict[str, int], step: int) -> None:
        self.card = card
        self.control = control
        self._levels = levels
        self._step = step
        self.closed = False
        self.set_calls: list[int] = []

    def _check_open(self) -> None:
        if self.closed:
            raise ALSAAudioError("Mixer is closed")

    def setvolume(self, volume: int, channel: int | None = None, pcmtype: int = 0, units: int = 0) -> None:
        self._check_open()
        if not 0 <= volume <= 100:
            raise ALSAAudioError("Volume must be between 0 and 100")
        self.set_calls.append(volume)
        # A hardware control has a few dozen steps: the percentage read back is rounded.
        self._levels[self.control] = (volume // self._step) * self._step

    def getvolume(self, pcmtype: int = 0, units: int = 0) -> list[int]:
        self._check_open()
        return [self._levels[self.control]] * 2

    def cardname(self) -> str:
        return self.card

    def close(self) -> None:
        self.closed = True


class FakePCM:
    def __init__(self, device: str, rate: int, channels: int, fmt: int, periodsize: int) -> None:
        self.device = device
        self.rate = rate
        self.channels = channels
        self.format = fmt
        self.periodsize = periodsize
        self.data = bytearray()
        self.writes = 0
        self.closed = False
        self.dropped = False
        self._changed = threading.Condition()

    def write(self, data: bytes) -> int:
        with self._changed:
            if self.closed:
                raise ALSAAudioError("PCM is closed")
            frame_bytes = 2 * self.channels
            if len(data) % frame_bytes:
                raise ALSAAudioError("Data size must be a multiple of framesize")
            self.data += data
            self.writes += 1
            self._changed.notify_all()
        return len(data) // frame_bytes

    def drop(self) -> None:
        self.dropped = True

    def close(self) -> None:
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def wait_for_bytes(self, count: int, timeout: float = 5.0) -> bool:
        """Block until `count` bytes were written (no polling sleeps)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.data) >= count, timeout)

    def wait_closed(self, timeout: float = 5.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.closed, timeout)


class FakeAlsa:
    """Module-like object: pass it where the code expects `alsaaudio`.

    `controls` maps a card name (or "default", ALSA's default device) to its mixer controls.
    """

    PCM_PLAYBACK = 0
    PCM_CAPTURE = 1
    PCM_NORMAL = 0
    PCM_NONBLOCK = 1
    PCM_FORMAT_S16_LE = 2
    ALSAAudioError = ALSAAudioError

    def __init__(
        self,
        cards: tuple[str, ...] = ("Headphones", "USB"),
        controls: dict[str, list[str]] | None = None,
        step: int = 3,
    ) -> None:
        self._cards = list(cards)
        if controls is None:
            controls = {
                "default": ["PCM", "Speaker"],
                "Headphones": ["PCM"],
                "USB": ["PCM", "Speaker", "Mic"],
            }
        self.levels = {card: dict.fromkeys(names, 50) for card, names in controls.items()}
        self._step = step
        self.mixers_opened: list[FakeMixer] = []
        self.pcms: list[FakePCM] = []
        self.pcm_error: str | None = None  # set to make every PCM open fail (a busy device)

    def cards(self) -> list[str]:
        return list(self._cards)

    def _card(self, cardindex: int, device: str) -> str:
        if cardindex >= 0:
            if cardindex >= len(self._cards):
                raise ALSAAudioError(f"No such file or directory [hw:{cardindex}]")
            return self._cards[cardindex]
        if device == "default" and "default" in self.levels:
            return "default"
        raise ALSAAudioError(f"No such file or directory [{device}]")

    def mixers(self, cardindex: int = -1, device: str = "default") -> list[str]:
        return list(self.levels.get(self._card(cardindex, device), {}))

    def Mixer(
        self, control: str = "Master", id: int = 0, cardindex: int = -1, device: str = "default"
    ) -> FakeMixer:
        card = self._card(cardindex, device)
        levels = self.levels.get(card, {})
        if control not in levels:
            raise ALSAAudioError(f"Unable to find mixer control {control},{id} [{device}]")
        mixer = FakeMixer(card, control, levels, self._step)
        self.mixers_opened.append(mixer)
        return mixer

    def PCM(
        self,
        type: int = 0,  # the real keyword names
        mode: int = 0,
        rate: int = 44100,
        channels: int = 2,
        format: int = 2,
        periodsize: int = 32,
        periods: int = 4,
        device: str = "default",
        cardindex: int = -1,
        **kwargs: Any,
    ) -> FakePCM:
        if type != self.PCM_PLAYBACK or format != self.PCM_FORMAT_S16_LE:
            raise ALSAAudioError("unsupported PCM type or format in this fake")
        if self.pcm_error is not None:
            raise ALSAAudioError(self.pcm_error)
        known = (
            {"default"}
            | {f"default:CARD={c}" for c in self._cards}
            | {f"plughw:CARD={c}" for c in self._cards}
        )
        if device not in known:
            raise ALSAAudioError(f"No such file or directory [{device}]")
        pcm = FakePCM(device, rate, channels, format, periodsize)
        self.pcms.append(pcm)
        return pcm
