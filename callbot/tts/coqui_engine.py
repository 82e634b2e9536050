"""Coqui TTS (optional extra, ``scripts/install-coqui.sh``). The only module importing TTS or torch.

A voice is named by one of:
- a Coqui model name, ``tts_models/<lang>/<dataset>/<model>``, present in Coqui's own cache
  (``$TTS_HOME/tts/tts_models--<lang>--<dataset>--<model>/``; Coqui does not download when it is there);
- a local checkpoint: a ``.pth`` file with ``config.json`` beside it, or a folder holding both;
- a model pulled by the model manager (``callbot models pull NAME``), a folder holding both.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from callbot.tts.engine import ResolvedVoice, TtsError, VoiceNotFound, file_identity, pulled_model

if TYPE_CHECKING:
    from callbot.config import Settings

_MODEL_NAME = re.compile(r"^tts_models/[^/\s]+/[^/\s]+/[^/\s]+$")
_CHECKPOINT_NAMES = ("model_file.pth", "model_file.pth.tar", "model.pth", "checkpoint.pth")
INSTALL_HINT = "install it with scripts/install-coqui.sh (see the README, Speech output)"


def coqui_cache_dir() -> Path:
    """Where Coqui keeps named models: the same rule as Coqui's own (TTS_HOME, XDG_DATA_HOME, ~/.local/share)."""
    base = (
        os.environ.get("TTS_HOME") or os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    )
    return Path(base).expanduser().resolve() / "tts"


def is_model_name(voice: str) -> bool:
    return bool(_MODEL_NAME.match(voice))


def _checkpoint_in(folder: Path, voice: str) -> tuple[Path, Path]:
    config = folder / "config.json"
    named = [folder / name for name in _CHECKPOINT_NAMES if (folder / name).is_file()]
    found = named or sorted(folder.glob("*.pth"))
    if not config.is_file() or len(found) != 1:
        raise VoiceNotFound(f"coqui voice {voice!r}: {folder} must hold config.json and one .pth checkpoint")
    return found[0], config


def _coqui_version() -> str:
    try:
        return importlib.metadata.version("coqui-tts")
    except importlib.metadata.PackageNotFoundError:
        raise TtsError(f"the Coqui TTS engine is not installed: {INSTALL_HINT}") from None


def resolve(voice: str, settings: Settings) -> ResolvedVoice:
    version = _coqui_version()
    if is_model_name(voice):
        # Coqui's own cache first; else a copy pulled by the model manager (whose error names `models pull`).
        folder = coqui_cache_dir() / voice.replace("/", "--")
        model, config = _checkpoint_in(folder if folder.is_dir() else pulled_model(voice, settings), voice)
    else:
        path = Path(voice).expanduser()
        if path.is_file():
            model, config = path, path.parent / "config.json"
            if not config.is_file():
                raise VoiceNotFound(f"coqui checkpoint {path} has no config.json beside it")
        elif path.is_dir():
            model, config = _checkpoint_in(path, voice)
        elif path.is_absolute() or path.suffix == ".pth":
            raise VoiceNotFound(f"coqui checkpoint not found: {path}")
        else:
            model, config = _checkpoint_in(pulled_model(voice, settings), voice)
    return ResolvedVoice(
        "coqui", voice, f"coqui-tts {version}|{file_identity(model, config)}", (model, config)
    )


def _in_coqui_cache(voice: ResolvedVoice) -> bool:
    return is_model_name(voice.voice) and voice.files[0].parent == coqui_cache_dir() / voice.voice.replace(
        "/", "--"
    )


@dataclass
class CoquiSynthesizer:
    voice: ResolvedVoice
    sample_rate: int
    _tts: object
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def synthesize(self, sentence: str) -> np.ndarray:
        import torch

        # One inference at a time per model: torch modules keep per-call state and the CPU is shared anyway.
        with self._lock, torch.inference_mode():
            samples = self._tts.tts(sentence, split_sentences=False)  # type: ignore[attr-defined]
        return np.asarray(samples, dtype=np.float32)


def load(voice: ResolvedVoice) -> CoquiSynthesizer:
    try:
        from TTS.api import TTS
    except ImportError as exc:
        raise TtsError(f"the Coqui TTS engine does not import ({exc}): {INSTALL_HINT}") from None
    model, config = voice.files
    try:
        if _in_coqui_cache(voice):  # Coqui's own loading by name, from its cache (no download: it is there)
            tts = TTS(model_name=voice.voice, progress_bar=False)
        else:
            tts = TTS(model_path=str(model), config_path=str(config), progress_bar=False)
    except Exception as exc:  # Coqui raises plain exceptions of many kinds for a bad checkpoint or config
        raise TtsError(f"cannot load coqui voice {voice.voice} from {model}: {exc}") from exc
    return CoquiSynthesizer(voice, int(tts.synthesizer.output_sample_rate), tts)  # type: ignore[union-attr]
