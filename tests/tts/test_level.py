"""Level normalization and the peak limiter (unit tests on synthetic signals)."""

from __future__ import annotations

import numpy as np
import pytest

from callbot.tts.level import PEAK_CEILING_DBFS, active_level_dbfs, limit_peaks, normalize

RATE = 8000


def tone(seconds: float, amplitude: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_active_level_ignores_pauses() -> None:
    speech = tone(1.0, 0.1)
    with_pauses = np.concatenate([np.zeros(RATE, np.float32), speech, np.zeros(2 * RATE, np.float32)])
    assert active_level_dbfs(with_pauses, RATE) == pytest.approx(active_level_dbfs(speech, RATE), abs=0.1)
    assert active_level_dbfs(speech, RATE) == pytest.approx(20 * np.log10(0.1 / np.sqrt(2)), abs=0.1)


@pytest.mark.parametrize("target", [-30.0, -20.0, -12.0])
def test_normalize_reaches_the_target_and_never_exceeds_the_ceiling(target: float) -> None:
    rng = np.random.default_rng(7)
    signal = tone(2.0, 0.02) + np.where(rng.random(2 * RATE) < 0.002, 0.3, 0.0).astype(np.float32)  # clicks
    out = normalize(signal, RATE, target)
    assert float(np.abs(out).max()) <= 10 ** (PEAK_CEILING_DBFS / 20) + 1e-6
    assert active_level_dbfs(out, RATE) == pytest.approx(target, abs=1.0)


def test_limiter_only_touches_the_neighbourhood_of_peaks() -> None:
    signal = tone(1.0, 0.5)
    signal[4000] = 3.0
    limited = limit_peaks(signal, RATE)
    assert float(np.abs(limited).max()) <= 10 ** (PEAK_CEILING_DBFS / 20) + 1e-6
    assert np.array_equal(limited[:3900], signal[:3900]) and np.array_equal(limited[4100:], signal[4100:])


def test_silence_stays_silent_and_empty_stays_empty() -> None:
    assert not normalize(np.zeros(800, np.float32), RATE, -20.0).any()
    assert normalize(np.zeros(0, np.float32), RATE, -20.0).size == 0


def test_a_signal_already_at_the_target_is_still_limited() -> None:
    signal = tone(1.0, 0.1 * np.sqrt(2))  # -20 dBFS RMS
    signal[100] = 1.0
    out = normalize(signal, RATE, -20.0)
    assert float(np.abs(out).max()) <= 10 ** (PEAK_CEILING_DBFS / 20) + 1e-6
