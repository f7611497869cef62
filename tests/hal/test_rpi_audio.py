"""ALSA mixers and the ringer against a fake alsaaudio, and the ringer against the real one."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import wave
from array import array
from pathlib import Path

import pytest
from fake_alsa import FakeAlsa, FakePCM

from hal import AudioConfig, AudioPath, DeviceError, HalConfigError
from hal.backends.rpi_audio import PERIOD_FRAMES, RING_RATE, AlsaAudio, synth_ring

USB = AudioConfig(
    card="USB", handset_mixer="PCM", speaker_mixer="Speaker", handset_volume=70, speaker_volume=60
)


def test_mixers_are_found_by_card_name_and_get_the_profile_volumes() -> None:
    alsa = FakeAlsa(cards=("Headphones", "USB"))
    AlsaAudio(USB, alsa=alsa)
    opened = {(m.card, m.control): m for m in alsa.mixers_opened}
    assert set(opened) == {("USB", "PCM"), ("USB", "Speaker")}
    assert opened["USB", "PCM"].set_calls == [70]
    assert opened["USB", "Speaker"].set_calls == [60]


def test_card_number_follows_the_name_when_cards_move() -> None:
    alsa = FakeAlsa(cards=("USB", "Headphones"))  # enumerated in the other order after a reboot
    AlsaAudio(USB, alsa=alsa)
    assert {m.card for m in alsa.mixers_opened} == {"USB"}


def test_volume_returns_what_was_asked_although_the_mixer_rounds() -> None:
    alsa = FakeAlsa(step=3)
    audio = AlsaAudio(USB, alsa=alsa)
    audio.set_volume(AudioPath.HANDSET, 71)
    assert audio.volume(AudioPath.HANDSET) == 71
    assert alsa.levels["USB"]["PCM"] == 69  # the hardware's nearest step
    audio.set_volume(AudioPath.SPEAKER, 150)
    assert audio.volume(AudioPath.SPEAKER) == 100
    audio.set_volume(AudioPath.SPEAKER, -5)
    assert audio.volume(AudioPath.SPEAKER) == 0


def test_default_card_uses_the_default_device() -> None:
    alsa = FakeAlsa()
    audio = AlsaAudio(AudioConfig(card="default"), alsa=alsa)
    assert {m.card for m in alsa.mixers_opened} == {"default"}
    assert audio.sound_device() == "default"


def test_missing_card_lists_the_cards_present() -> None:
    with pytest.raises(
        DeviceError, match=r"ALSA card 'Phone' not found; cards present: \['Headphones', 'USB'\]"
    ):
        AlsaAudio(AudioConfig(card="Phone"), alsa=FakeAlsa())


def test_missing_mixer_control_lists_the_controls() -> None:
    alsa = FakeAlsa()
    with pytest.raises(DeviceError, match=r"control 'Speaker' not found on card 'Headphones'.*'PCM'"):
        AlsaAudio(AudioConfig(card="Headphones"), alsa=alsa)
    assert all(m.closed for m in alsa.mixers_opened)  # the PCM mixer opened first was released


def test_empty_control_name_means_no_hardware_volume_for_that_path() -> None:
    alsa = FakeAlsa()
    audio = AlsaAudio(AudioConfig(card="Headphones", speaker_mixer=""), alsa=alsa)
    audio.set_volume(AudioPath.SPEAKER, 33)
    assert audio.volume(AudioPath.SPEAKER) == 33
    assert [m.control for m in alsa.mixers_opened] == ["PCM"]


def test_null_card_needs_no_alsa_at_all() -> None:
    audio = AlsaAudio(AudioConfig(card="null"), alsa=None)
    assert audio.sound_device() is None
    audio.set_volume(AudioPath.HANDSET, 40)
    assert audio.volume(AudioPath.HANDSET) == 40
    audio.start_ringer()
    assert audio.is_ringing()
    audio.stop_ringer()
    assert not audio.is_ringing()
    audio.close()


def test_route_is_recorded() -> None:
    audio = AlsaAudio(USB, alsa=FakeAlsa())
    assert audio.route() is AudioPath.HANDSET
    audio.set_route(AudioPath.SPEAKER)
    assert audio.route() is AudioPath.SPEAKER
    assert audio.sound_device() == "USB"


def expected_periods(pcm: bytes, channels: int) -> bytes:
    period = PERIOD_FRAMES * 2 * channels
    return pcm + bytes(-len(pcm) % period)


def only_pcm(alsa: FakeAlsa) -> FakePCM:
    (pcm,) = alsa.pcms
    return pcm


def test_ringer_plays_the_synthesised_ring_on_the_named_card_until_stopped() -> None:
    alsa = FakeAlsa()
    audio = AlsaAudio(USB, alsa=alsa)
    audio.start_ringer()
    audio.start_ringer()  # already ringing: no second stream
    pcm = only_pcm(alsa)
    assert (pcm.device, pcm.rate, pcm.channels, pcm.periodsize) == (
        "default:CARD=USB",
        RING_RATE,
        1,
        PERIOD_FRAMES,
    )
    burst = expected_periods(synth_ring(USB.ringer_volume).pcm, 1)
    assert pcm.wait_for_bytes(len(burst))
    assert audio.is_ringing()
    audio.stop_ringer()
    assert not audio.is_ringing()
    assert pcm.closed and pcm.dropped
    # The thread was waiting out the pause: it stopped there, after exactly one burst.
    assert bytes(pcm.data) == burst
    assert audio.ringer.bursts_played == 1
    audio.stop_ringer()
    audio.close()
    audio.close()


def test_ringer_can_ring_again_after_stop() -> None:
    alsa = FakeAlsa()
    audio = AlsaAudio(USB, alsa=alsa)
    for _ in range(2):
        audio.start_ringer()
        assert alsa.pcms[-1].wait_for_bytes(1)
        audio.stop_ringer()
    assert len(alsa.pcms) == 2 and all(p.closed for p in alsa.pcms)


def test_ringer_on_its_own_card() -> None:
    alsa = FakeAlsa()
    audio = AlsaAudio(AudioConfig(card="USB", ringer_card="Headphones"), alsa=alsa)
    audio.start_ringer()
    assert only_pcm(alsa).device == "default:CARD=Headphones"
    audio.close()
    assert only_pcm(alsa).wait_closed()


def test_busy_ringer_device_is_a_device_error() -> None:
    alsa = FakeAlsa()
    audio = AlsaAudio(USB, alsa=alsa)
    alsa.pcm_error = "Device or resource busy"
    with pytest.raises(DeviceError, match="busy"):
        audio.start_ringer()
    assert not audio.is_ringing()


def test_synthesised_ring_is_two_seconds_of_unclipped_tone_with_soft_edges() -> None:
    tone = synth_ring(100)
    samples = array("h", tone.pcm)
    assert len(samples) == 2 * RING_RATE
    assert max(abs(s) for s in samples) <= 32767 * 0.9 + 1
    assert max(abs(s) for s in samples) > 20000
    assert abs(samples[0]) < 100 and abs(samples[-1]) < 100
    assert max(abs(s) for s in array("h", synth_ring(50).pcm)) < 16000


def write_wav(path: Path, rate: int, channels: int, width: int, frames: bytes) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(frames)


def test_wav_ringtone_is_played_at_its_own_rate_and_scaled(tmp_path: Path) -> None:
    path = tmp_path / "ring.wav"
    samples = array("h", [1000, -1000] * 400)  # 400 stereo frames
    write_wav(path, 8000, 2, 2, samples.tobytes())
    alsa = FakeAlsa()
    audio = AlsaAudio(AudioConfig(card="USB", ringtone=str(path), ringer_volume=50), alsa=alsa)
    audio.start_ringer()
    pcm = only_pcm(alsa)
    assert (pcm.rate, pcm.channels) == (8000, 2)
    expected = expected_periods(array("h", [500, -500] * 400).tobytes(), 2)
    assert pcm.wait_for_bytes(len(expected))
    audio.stop_ringer()
    assert bytes(pcm.data) == expected


def test_unusable_ringtone_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(HalConfigError, match="cannot read ringtone"):
        AlsaAudio(AudioConfig(card="USB", ringtone=str(tmp_path / "missing.wav")), alsa=FakeAlsa())
    eight_bit = tmp_path / "8bit.wav"
    write_wav(eight_bit, 8000, 1, 1, bytes(100))
    with pytest.raises(HalConfigError, match="16-bit"):
        AlsaAudio(AudioConfig(card="USB", ringtone=str(eight_bit)), alsa=FakeAlsa())


REAL_RINGER = textwrap.dedent(
    """
    import sys, time
    from hal import AudioConfig
    from hal.backends.rpi_audio import AlsaAudio, synth_ring
    out = sys.argv[1]
    audio = AlsaAudio(AudioConfig(card="default", handset_mixer="", speaker_mixer="", ringer_volume=80))
    audio.start_ringer()
    deadline = time.monotonic() + 10
    while audio.ringer.bursts_played < 1 and time.monotonic() < deadline:
        time.sleep(0.002)  # the file PCM is not paced: a burst takes milliseconds
    audio.stop_ringer()
    audio.close()
    """
)


def test_ringer_through_the_real_alsaaudio_into_a_file_pcm(tmp_path: Path) -> None:
    """pyalsaaudio and libasound for real: ALSA's `file` plugin writes what we play to a file."""
    import alsaaudio  # noqa: F401 - installed by .ci/setup; this test must run, not skip

    out = tmp_path / "ring.raw"
    conf = tmp_path / "asound.conf"
    conf.write_text(f'pcm.!default {{ type file; slave.pcm {{ type null }}; file "{out}"; format "raw" }}\n')
    env = {**os.environ, "ALSA_CONFIG_PATH": str(conf)}
    # A child process: libasound reads its configuration once per process.
    result = subprocess.run(
        [sys.executable, "-c", REAL_RINGER, str(out)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    burst = synth_ring(80).pcm
    assert out.read_bytes()[: len(burst)] == burst
