"""Media set-up for pjsua2: codec order, bridge clock, jitter buffer, sound device and call-progress tones."""

from __future__ import annotations

import logging
from typing import Any

import pjsua2 as pj

from firmware.commands import Tone
from firmware.config import Audio, Sip

log = logging.getLogger(__name__)

# North-American call-progress tones (freq1, freq2, on_ms, off_ms); ITU-T E.180 leaves the choice to
# each country. Volume 0 lets pjmedia pick its default level.
TONES: dict[Tone, tuple[int, int, int, int]] = {
    Tone.DIAL: (350, 440, 1000, 0),
    Tone.RINGBACK: (440, 480, 2000, 4000),
    Tone.BUSY: (480, 620, 500, 500),
    Tone.ERROR: (480, 620, 250, 250),
}
# Codecs a desk phone should never pick on a LAN: they add delay or CPU for no gain.
DISABLED_CODECS = ("speex/", "iLBC/", "GSM/", "L16/")
TOP_PRIORITY = 255


def codec_clock_rate(codecs: list[str]) -> int:
    """The bridge clock follows the preferred codec: G.722 -> 16 kHz; G.711 at 8 kHz avoids a resampler."""
    first = codecs[0]
    parts = first.split("/")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 16000


def media_config(ep_cfg: Any, sip: Sip, audio: Audio) -> None:
    med = ep_cfg.medConfig
    rate = codec_clock_rate(sip.codecs)
    med.clockRate = rate
    med.sndClockRate = rate
    med.audioFramePtime = sip.ptime_ms
    med.ptime = sip.ptime_ms
    med.noVad = True  # continuous RTP: no clipped syllables, NAT bindings stay open
    med.ecTailLen = audio.ec_tail_ms
    med.sndRecLatency = audio.rec_latency_ms
    med.sndPlayLatency = audio.play_latency_ms
    med.jbInit = sip.jitter.init_ms
    med.jbMinPre = sip.jitter.min_pre_ms
    med.jbMaxPre = sip.jitter.max_pre_ms
    med.jbMax = sip.jitter.max_ms


def set_codec_priorities(ep: Any, preferred: list[str]) -> list[str]:
    """Give the configured codecs falling priorities in order; disable the ones a LAN phone should not use.

    Returns the codec ids enabled in order, for the log.
    """
    available = [info.codecId for info in ep.codecEnum2()]
    enabled: list[str] = []
    for codec_id in available:
        if codec_id.startswith(DISABLED_CODECS):
            ep.codecSetPriority(codec_id, 0)
    for rank, name in enumerate(preferred):
        matches = [cid for cid in available if cid.lower().startswith(name.lower())]
        if not matches:
            log.warning(
                "codec %s is not available in this pjsua2 build (have: %s)", name, ", ".join(available)
            )
        for cid in matches:
            ep.codecSetPriority(cid, TOP_PRIORITY - rank)
            enabled.append(cid)
    return enabled


def select_sound_device(ep: Any, card: str | None) -> str:
    """Pick the ALSA device by card name (card numbers change across reboots); null device without a card."""
    manager = ep.audDevManager()
    if card is None or card == "null":
        manager.setNullDev()
        return "null"
    for index, dev in enumerate(manager.enumDev2()):
        if card in dev.name and dev.inputCount > 0 and dev.outputCount > 0:
            manager.setCaptureDev(index)
            manager.setPlaybackDev(index)
            return str(dev.name)
    names = [d.name for d in manager.enumDev2()]
    raise LookupError(f"sound card {card!r} not found (devices: {', '.join(names) or 'none'})")


class TonePlayer:
    """One pjmedia tone generator connected to the sound device; replaces the tone on each play()."""

    def __init__(self, ep: Any, clock_rate: int) -> None:
        self._ep = ep
        self._gen = pj.ToneGenerator()
        self._gen.createToneGenerator(clock_rate, 1)
        self._playing: Tone | None = None
        self._connected = False

    @property
    def playing(self) -> Tone | None:
        return self._playing

    def play(self, tone: Tone) -> None:
        if tone is self._playing:
            return
        freq1, freq2, on_ms, off_ms = TONES[tone]
        desc = pj.ToneDesc()
        desc.freq1, desc.freq2, desc.on_msec, desc.off_msec, desc.volume = freq1, freq2, on_ms, off_ms, 0
        tones = pj.ToneDescVector()
        tones.append(desc)
        self._gen.stop()
        self._gen.play(tones, True)
        if not self._connected:
            self._gen.startTransmit(self._ep.audDevManager().getPlaybackDevMedia())
            self._connected = True
        self._playing = tone

    def stop(self) -> None:
        if self._playing is None:
            return
        self._gen.stop()
        if self._connected:
            self._gen.stopTransmit(self._ep.audDevManager().getPlaybackDevMedia())
            self._connected = False
        self._playing = None

    def close(self) -> None:
        self.stop()
        del self._gen
