"""The reference for callbot's numpy Whisper features: a deterministic test signal, and (run as a script) the
real ``transformers.WhisperFeatureExtractor`` output on it, kept as a small fixture.

The fixture was made once, outside the repository, in a scratch virtualenv holding only numpy and transformers
(no torch; transformers computes Whisper features in numpy itself):

    python3 -m venv /tmp/whisper-ref && /tmp/whisper-ref/bin/pip install transformers numpy
    /tmp/whisper-ref/bin/python -m tests.support.whisper      # writes tests/support/whisper_log_mel.npz

It keeps every 16th frame of the (80, 800) features (4 kB of values) plus the whole matrix's mean and
standard deviation; the extractor is configured as Smart Turn v3 uses it (chunk_length 8 s, 16 kHz,
zero-mean unit-variance normalization).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FIXTURE = Path(__file__).resolve().parent / "whisper_log_mel.npz"
RATE = 16000
FRAME_STEP = 16


def reference_signal() -> np.ndarray:
    """8 s of a speech-like test signal, defined by formulas only (no random generator whose stream could
    change between numpy versions): half a second of near-silence, a vowel-like harmonic series with
    syllable-rate amplitude modulation, a rising chirp, a quiet pause, a buzz, and hash-noise."""
    t = np.arange(8 * RATE) / RATE
    signal = np.zeros_like(t)
    vowel = (t >= 0.5) & (t < 3.0)
    f0 = 120 + 20 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    harmonics = sum(np.sin(k * phase) / k for k in range(1, 12))
    signal += np.where(vowel, 0.3 * harmonics * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)), 0.0)
    chirp = (t >= 3.0) & (t < 4.5)
    signal += np.where(chirp, 0.2 * np.sin(2 * np.pi * (300 * (t - 3) + 1200 * (t - 3) ** 2)), 0.0)
    buzz = (t >= 5.0) & (t < 6.5)
    signal += np.where(buzz, 0.15 * np.sign(np.sin(2 * np.pi * 180 * t)) * np.sin(2 * np.pi * 2 * t) ** 2, 0.0)
    index = np.arange(len(t), dtype=np.uint64)
    hashed = ((index * np.uint64(2654435761)) % np.uint64(4294967296)).astype(np.float64) / 4294967296.0 - 0.5
    signal += np.where(t >= 6.5, 0.05 * hashed, 0.001 * hashed)
    return signal.astype(np.float32)


def main() -> None:
    from transformers import WhisperFeatureExtractor  # only in the scratch virtualenv

    extractor = WhisperFeatureExtractor(chunk_length=8)
    features = extractor(reference_signal(), sampling_rate=RATE, return_tensors="np", padding="max_length",
                         max_length=8 * RATE, truncation=True, do_normalize=True).input_features[0]
    assert features.shape == (80, 800), features.shape
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(FIXTURE, frames=features[:, ::FRAME_STEP].astype(np.float32),
                        mean=np.float64(features.mean()), std=np.float64(features.std()),
                        frame_step=np.int64(FRAME_STEP))
    print(f"wrote {FIXTURE}: shape {features.shape}, mean {features.mean():.5f}, std {features.std():.5f}")


if __name__ == "__main__":
    main()
