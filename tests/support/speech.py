"""Test audio built from real espeak-ng speech: known speech placement, measured-SNR noise."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from callbot.audio import read_wav, speech_bounds, to_pcm16


def espeak_wav(path: Path, text: str, voice: str, rate: int = 16000, speed: int = 150) -> Path:
    """Synthesize ``text`` with espeak-ng into a WAV at ``rate`` (real speech for real engines to hear)."""
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(path)], check=True)
    raw.unlink()
    return path


def trimmed_speech(tmp: Path, text: str, voice: str, rate: int) -> np.ndarray:
    """espeak speech with its leading/trailing silence cut by energy (10 ms windows, -40 dB from the peak)."""
    name = f"speech_{abs(hash((text, voice, rate)))}.wav"
    pcm = read_wav(espeak_wav(tmp / name, text, voice, rate)).pcm
    bounds = speech_bounds(pcm, rate)
    assert bounds is not None, f"espeak said nothing for {text!r}"
    samples = np.frombuffer(pcm, dtype="<i2").astype(float)
    return samples[round(bounds[0] * rate) : round(bounds[1] * rate)]


@dataclass(frozen=True)
class SyntheticCall:
    """Float samples (PCM16 scale) with the true speech intervals, in seconds."""

    samples: np.ndarray
    rate: int
    truth: tuple[tuple[float, float], ...]

    @property
    def pcm(self) -> bytes:
        return to_pcm16(np.clip(self.samples, -32768, 32767).astype(np.float64) / 32767.0)


def build_call(rate: int, pieces: list[np.ndarray | float]) -> SyntheticCall:
    """Concatenate speech arrays and silences (floats = seconds), remembering where the speech went."""
    parts: list[np.ndarray] = []
    truth: list[tuple[float, float]] = []
    cursor = 0
    for piece in pieces:
        if isinstance(piece, np.ndarray):
            truth.append((cursor / rate, (cursor + len(piece)) / rate))
            parts.append(piece)
            cursor += len(piece)
        else:
            silence = np.zeros(round(piece * rate))
            parts.append(silence)
            cursor += len(silence)
    return SyntheticCall(np.concatenate(parts), rate, tuple(truth))


def noise(kind: str, n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """White noise, or pink noise (1/f power) limited to the audible band above 100 Hz."""
    white = rng.standard_normal(n)
    if kind == "white":
        return white
    spectrum = np.fft.rfft(white)
    freqs = np.fft.rfftfreq(n, 1 / rate)
    shaping = np.where(freqs >= 100, 1 / np.sqrt(np.maximum(freqs, 100)), 0.0)
    return np.fft.irfft(spectrum * shaping, n)


def with_noise(call: SyntheticCall, kind: str, snr_db: float, seed: int = 7) -> SyntheticCall:
    """Add noise over the whole call (also before the first word) at ``snr_db`` measured on the speech."""
    speech = np.concatenate([call.samples[int(a * call.rate) : int(b * call.rate)] for a, b in call.truth])
    speech_power = float(np.mean(speech**2))
    added = noise(kind, len(call.samples), call.rate, np.random.default_rng(seed))
    added *= np.sqrt(speech_power / 10 ** (snr_db / 10) / float(np.mean(added**2)))
    measured = 10 * np.log10(speech_power / float(np.mean(added**2)))
    assert abs(measured - snr_db) < 0.01
    return SyntheticCall(call.samples + added, call.rate, call.truth)


def text_similarity(first: str, second: str) -> float:
    """Character similarity ignoring spaces. Kaldi dithers its features, so two decodes of the same
    (robotic, espeak) audio may differ by a syllable: tests compare texts with this, not with ==."""
    from difflib import SequenceMatcher

    return SequenceMatcher(None, first.replace(" ", ""), second.replace(" ", "")).ratio()
