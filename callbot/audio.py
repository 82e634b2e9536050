"""Audio primitives: 20 ms PCM16 frames, resampling, WAV input and output.

Everything in the product moves mono signed 16-bit little-endian PCM. A ``Frame`` is 20 ms of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import soundfile
import soxr

from callbot.private_files import create_private_file

FRAME_MS = 20
SUPPORTED_RATES = (8000, 16000, 22050, 24000, 44100, 48000)


class AudioError(ValueError):
    """Audio that cannot be used (unreadable file, wrong rate, wrong frame size)."""


def samples_per_frame(rate: int, frame_ms: int = FRAME_MS) -> int:
    return rate * frame_ms // 1000


@dataclass(frozen=True, slots=True)
class Frame:
    """20 ms of mono PCM16 audio at ``rate``; ``start`` is the offset from the stream's start, in seconds."""

    pcm: bytes
    rate: int
    start: float = 0.0

    def __post_init__(self) -> None:
        if len(self.pcm) != 2 * samples_per_frame(self.rate):
            raise AudioError(
                f"a {FRAME_MS} ms frame at {self.rate} Hz is {2 * samples_per_frame(self.rate)} bytes, "
                f"got {len(self.pcm)}"
            )

    @property
    def duration(self) -> float:
        return FRAME_MS / 1000

    @property
    def end(self) -> float:
        return self.start + self.duration

    def samples(self) -> np.ndarray:
        return np.frombuffer(self.pcm, dtype="<i2")


def to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] (or int16) to PCM16 bytes, clipped rather than wrapped."""
    if samples.dtype == np.int16:
        return samples.astype("<i2", copy=False).tobytes()
    scaled = np.clip(np.round(samples.astype(np.float64) * 32767.0), -32768, 32767)
    return scaled.astype("<i2").tobytes()


def pcm16_to_float(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Resample a whole PCM16 buffer with soxr (high quality, band-limited)."""
    if from_rate == to_rate or not pcm:
        return pcm
    data = np.frombuffer(pcm, dtype="<i2")
    return soxr.resample(data, from_rate, to_rate, quality="HQ").astype("<i2").tobytes()


class StreamResampler:
    """Resamples a PCM16 stream chunk by chunk, keeping filter state between chunks."""

    def __init__(self, from_rate: int, to_rate: int) -> None:
        self.from_rate = from_rate
        self.to_rate = to_rate
        self._stream = None if from_rate == to_rate else soxr.ResampleStream(from_rate, to_rate, 1, dtype="int16")

    def process(self, pcm: bytes, last: bool = False) -> bytes:
        if self._stream is None:
            return pcm
        data = np.frombuffer(pcm, dtype="<i2")
        return self._stream.resample_chunk(data, last=last).astype("<i2").tobytes()


@dataclass(frozen=True, slots=True)
class Audio:
    """A whole mono PCM16 clip."""

    pcm: bytes
    rate: int

    @property
    def duration(self) -> float:
        return len(self.pcm) / 2 / self.rate

    def resampled(self, rate: int) -> "Audio":
        return Audio(resample(self.pcm, self.rate, rate), rate)

    def frames(self, pad_last: bool = True) -> Iterator[Frame]:
        return frames_of(self.pcm, self.rate, pad_last=pad_last)


def frames_of(pcm: bytes, rate: int, pad_last: bool = True, start: float = 0.0) -> Iterator[Frame]:
    """Cut PCM16 into 20 ms frames; the last partial frame is zero-padded (or dropped)."""
    size = 2 * samples_per_frame(rate)
    for index, offset in enumerate(range(0, len(pcm), size)):
        chunk = pcm[offset : offset + size]
        if len(chunk) < size:
            if not pad_last:
                return
            chunk = chunk + b"\x00" * (size - len(chunk))
        yield Frame(chunk, rate, start + index * FRAME_MS / 1000)


def channel_count(path: Path | str) -> int:
    try:
        return int(soundfile.info(str(path)).channels)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise AudioError(f"cannot read audio file {path}: {exc}") from None


def read_wav(path: Path | str, rate: int | None = None, channel: int | None = None) -> Audio:
    """Read a WAV (or any libsndfile format) at any rate and channel count, optionally resampled: one channel
    (0 = the first) or, with ``channel`` None, all of them mixed to mono."""
    try:
        data, file_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise AudioError(f"cannot read audio file {path}: {exc}") from None
    if channel is not None and channel >= data.shape[1]:
        raise AudioError(f"{path} has {data.shape[1]} channel(s): no channel {channel + 1}")
    if channel is not None:
        mono = data[:, channel]
    else:
        mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    audio = Audio(to_pcm16(mono), int(file_rate))
    return audio.resampled(rate) if rate and rate != file_rate else audio


def write_wav(path: Path | str, pcm: bytes, rate: int, channels: int = 1) -> Path:
    """Write PCM16 (interleaved when channels > 1) as a WAV file, private to this user (callers' voices)."""
    path = create_private_file(path)
    data = np.frombuffer(pcm, dtype="<i2")
    if channels > 1:
        data = data.reshape(-1, channels)
    soundfile.write(str(path), data, rate, subtype="PCM_16")
    return path


def join_frames(frames: Iterable[Frame]) -> bytes:
    return b"".join(frame.pcm for frame in frames)


def rms_dbfs(pcm: bytes) -> float:
    """Root-mean-square level of PCM16 audio in dBFS (-inf for digital silence)."""
    samples = pcm16_to_float(pcm)
    if samples.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20 * np.log10(rms) if rms > 0 else float("-inf")


def speech_bounds(pcm: bytes, rate: int, below_peak_db: float = 40.0, above_floor_db: float = 12.0) -> tuple[float, float] | None:
    """Where the speech in a clip starts and ends (seconds), by energy in 10 ms windows: louder than the
    loudest window minus ``below_peak_db`` and than the clip's noise floor (its 10th-percentile window) plus
    ``above_floor_db``. None for a clip with nothing above both. The truth for turn-taking figures: independent
    of the VAD whose decisions they judge."""
    samples = pcm16_to_float(pcm).astype(np.float64)
    window = max(1, rate // 100)
    count = len(samples) // window
    if count == 0:
        return None
    power = np.mean(samples[: count * window].reshape(count, window) ** 2, axis=1)
    level = 10 * np.log10(np.maximum(power, 1e-12))
    threshold = max(level.max() - below_peak_db, float(np.percentile(level, 10)) + above_floor_db)
    loud = np.nonzero(level > threshold)[0]
    if loud.size == 0:
        return None
    return loud[0] * window / rate, (loud[-1] + 1) * window / rate
