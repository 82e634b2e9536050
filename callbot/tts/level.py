"""One loudness for every engine and recording: active-speech level normalization and a peak limiter.

The level is measured over the 20 ms frames that carry speech (pauses do not count), so a voice that leaves
long gaps between words is not made louder than one that does not. The limiter keeps every sample at or
below the ceiling with a smooth gain (no hard clipping, no clicks).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from callbot.audio import FRAME_MS

PEAK_CEILING_DBFS = -1.0
ACTIVE_FLOOR_DBFS = -55.0  # frames quieter than this are silence
ACTIVE_RANGE_DB = 35.0  # ... and so are frames this far below the loudest frame
LIMITER_WINDOW_MS = 4.0
NORMALIZE_PASSES = 4


def _frame_levels(samples: np.ndarray, rate: int) -> np.ndarray:
    if samples.size == 0:
        return np.zeros(0)
    size = max(1, rate * FRAME_MS // 1000)
    count = len(samples) // size
    if count == 0:
        return np.sqrt(np.mean(np.square(samples, dtype=np.float64), keepdims=True))
    frames = samples[: count * size].reshape(count, size).astype(np.float64)
    return np.sqrt(np.mean(np.square(frames), axis=1))


def active_level_dbfs(samples: np.ndarray, rate: int) -> float:
    """RMS level in dBFS of the speech-bearing frames of float samples (-inf for silence)."""
    levels = _frame_levels(samples, rate)
    loudest = float(levels.max(initial=0.0))
    if loudest <= 0:
        return float("-inf")
    floor = max(10 ** (ACTIVE_FLOOR_DBFS / 20), loudest * 10 ** (-ACTIVE_RANGE_DB / 20))
    active = levels[levels >= floor]
    if active.size == 0:
        return float("-inf")
    return float(20 * np.log10(np.sqrt(np.mean(np.square(active)))))


def limit_peaks(samples: np.ndarray, rate: int, ceiling_dbfs: float = PEAK_CEILING_DBFS) -> np.ndarray:
    """Smoothly reduce the gain around peaks so no sample exceeds the ceiling."""
    ceiling = 10 ** (ceiling_dbfs / 20)
    magnitude = np.abs(samples)
    if samples.size == 0 or float(magnitude.max()) <= ceiling:
        return samples
    needed = np.minimum(1.0, ceiling / np.maximum(magnitude, 1e-12))
    half = max(1, int(rate * LIMITER_WINDOW_MS / 1000))
    width = 2 * half + 1
    # Spread each gain dip over the window (minimum filter), smooth it, and never exceed what each sample needs.
    spread = sliding_window_view(np.pad(needed, half, mode="edge"), width).min(axis=1)
    smooth = np.convolve(np.pad(spread, half, mode="edge"), np.full(width, 1.0 / width), mode="valid")
    return (samples * np.minimum(smooth, needed)).astype(np.float32)


def normalize(samples: np.ndarray, rate: int, target_dbfs: float) -> np.ndarray:
    """Scale to ``target_dbfs`` active level and limit peaks to the ceiling. Silence stays silence.

    Limiting lowers the level of a signal with strong peaks, so the gain is corrected and the limiter run
    again (a few passes converge to within a fraction of a dB).
    """
    samples = np.asarray(samples, dtype=np.float32)
    out = samples
    for _ in range(NORMALIZE_PASSES):
        level = active_level_dbfs(out, rate)
        if not np.isfinite(level):
            return np.zeros_like(samples)
        if abs(level - target_dbfs) < 0.1:
            break
        out = limit_peaks(out * np.float32(10 ** ((target_dbfs - level) / 20)), rate)
    return limit_peaks(out, rate)  # also when the input was at the target level already
