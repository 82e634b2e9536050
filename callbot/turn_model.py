"""The audio signal of end-of-turn detection: Pipecat's Smart Turn v3.2 (a Whisper-tiny encoder with a
classifier head, int8 ONNX, trained on 23 languages including Vietnamese) run by onnxruntime.

The model reads the last 8 s of the turn at 16 kHz as Whisper log-mel features (80 mel bins x 800 frames of
10 ms) and returns the probability that the speaker has finished. The features are computed here in numpy,
following Whisper's recipe (400-sample Hann STFT, hop 160, Slaney mel filters, log10, clamp to 8 below the
peak, scaled by (x + 4) / 4) on audio normalized to zero mean and unit variance; ``tests/test_turn_model.py``
checks them against the real ``transformers.WhisperFeatureExtractor`` (a fixture of its output).

One ``SmartTurnModel`` per process (``SharedResources``): onnxruntime's ``run`` is thread-safe on the CPU
provider, so every call shares one session. The model file comes from ``callbot models pull smart-turn-v3.2``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import onnxruntime
import soxr

log = logging.getLogger(__name__)

MODEL_RATE = 16000
WINDOW_S = 8  # the model sees the last 8 s of the turn; shorter turns are padded with silence in front
N_FFT = 400
HOP = 160
N_MELS = 80
MODEL_FILE = "smart-turn-v3.2-cpu.onnx"


class TurnModelError(RuntimeError):
    """The model file is missing or cannot be loaded; the message names the fix."""


def _slaney_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default, Whisper's): linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    mel = 3.0 * hz / 200.0
    log_region = hz >= 1000.0
    return np.where(log_region, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) * 27.0 / np.log(6.4), mel)


def _slaney_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp(np.log(6.4) / 27.0 * (mel - 15.0)), 200.0 * mel / 3.0)


def mel_filters(rate: int = MODEL_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters, equally spaced on the Slaney scale, area-normalized."""
    bins = np.linspace(0.0, rate / 2, n_fft // 2 + 1)
    edges = _slaney_hz(np.linspace(_slaney_mel(0.0), _slaney_mel(rate / 2), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    triangles = np.maximum(0.0, np.minimum(rising, falling))
    return triangles * (2.0 / (upper - lower))  # each filter keeps the same area (Slaney normalization)


class WhisperFeatures:
    """Whisper's log-mel spectrogram of a fixed-length window, in numpy (no torch, no transformers)."""

    def __init__(self, window_s: int = WINDOW_S) -> None:
        self.samples = window_s * MODEL_RATE
        self.filters = mel_filters().astype(np.float32)
        self.window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)  # periodic

    def fit(self, audio: np.ndarray) -> np.ndarray:
        """The last ``window_s`` seconds, zero-padded in front when shorter."""
        audio = np.asarray(audio, dtype=np.float32)
        if len(audio) >= self.samples:
            return audio[-self.samples :]
        return np.concatenate([np.zeros(self.samples - len(audio), dtype=np.float32), audio])

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        """(80, 800) features of a 16 kHz float window of exactly ``window_s`` seconds."""
        audio = np.asarray(audio, dtype=np.float64)
        audio = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)  # Whisper's do_normalize
        padded = np.pad(audio, N_FFT // 2, mode="reflect")  # frames centred on each hop
        count = 1 + (len(padded) - N_FFT) // HOP
        frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:count]
        power = np.abs(np.fft.rfft(frames * self.window, axis=1)) ** 2
        mel = self.filters.astype(np.float64) @ power[:-1].T  # Whisper drops the last frame
        log_mel = np.log10(np.maximum(mel, 1e-10))
        log_mel = np.maximum(log_mel, log_mel.max() - 8.0)
        return ((log_mel + 4.0) / 4.0).astype(np.float32)


class SmartTurnModel:
    """One onnxruntime session of Smart Turn v3.2, shared by every call of the process."""

    def __init__(self, path: Path | str, threads: int = 1) -> None:
        path = Path(path)
        if path.is_dir():
            path = path / MODEL_FILE
        if not path.is_file():
            raise TurnModelError(f"no end-of-turn model at {path} (fetch it with: callbot models pull smart-turn-v3.2)")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # calls run in parallel threads: one core each is plenty
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = onnxruntime.InferenceSession(str(path), sess_options=options,
                                                        providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own untyped errors for a bad file
            raise TurnModelError(f"cannot load the end-of-turn model {path}: {exc}") from None
        self.path = path
        self.features = WhisperFeatures()
        self._input = self.session.get_inputs()[0].name
        self.inferences = 0
        self.seconds = 0.0  # CPU-side wall time spent in inference (figures for the benchmarks)

    def probability(self, audio: np.ndarray, rate: int) -> float:
        """The probability (0-1) that the turn in ``audio`` (float samples in [-1, 1] at ``rate``) is over."""
        began = time.perf_counter()
        audio = np.asarray(audio, dtype=np.float32)
        if rate != MODEL_RATE:
            audio = soxr.resample(audio, rate, MODEL_RATE, quality="HQ").astype(np.float32)
        features = self.features(self.features.fit(audio))[None, :, :]
        (output,) = self.session.run(None, {self._input: features})
        self.inferences += 1
        self.seconds += time.perf_counter() - began
        return float(np.asarray(output).reshape(-1)[0])
