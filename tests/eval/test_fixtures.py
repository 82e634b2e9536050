"""What ``callbot eval``'s fixture maker does to audio: the telephone band-pass, noise at a chosen SNR."""

from __future__ import annotations

import numpy as np
import pytest

from callbot.audio import pcm16_to_float, to_pcm16
from callbot.eval.fixtures import add_noise, band_pass, speech_rms


def tone(freq: float, rate: int = 8000, seconds: float = 1.0, amplitude: float = 0.3) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return to_pcm16(amplitude * np.sin(2 * np.pi * freq * t))


def level_db(pcm: bytes) -> float:
    samples = pcm16_to_float(pcm)[800:-800]  # away from the filter's edges
    return 20 * np.log10(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def test_telephone_band_pass_keeps_speech_band_and_cuts_outside() -> None:
    for freq, low, high in ((1000, -1.0, 1.0), (2500, -1.0, 1.0), (100, -100, -20.0), (3900, -100, -15.0)):
        change = level_db(band_pass(tone(freq), 8000, 300, 3400)) - level_db(tone(freq))
        assert low < change < high, (freq, change)
    assert len(band_pass(tone(1000), 8000, 300, 3400)) == len(tone(1000))


def test_noise_is_added_at_the_asked_snr_and_is_reproducible() -> None:
    clean = tone(440, amplitude=0.1)
    noisy = add_noise(clean, 8000, 10.0, np.random.default_rng(3))
    noise = pcm16_to_float(noisy).astype(np.float64) - pcm16_to_float(clean)
    snr = 20 * np.log10(
        speech_rms(pcm16_to_float(clean).astype(np.float64), 8000) / np.sqrt(np.mean(noise**2))
    )
    assert snr == pytest.approx(10.0, abs=0.3)
    assert add_noise(clean, 8000, 10.0, np.random.default_rng(3)) == noisy
    assert add_noise(b"\x00\x00" * 800, 8000, 10.0, np.random.default_rng(3)) == b"\x00\x00" * 800
