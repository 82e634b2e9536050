"""The prompt cache: static prompts rendered once per (locale, voice, rate) so a call costs no synthesis.

Entries live in ``<data_dir>/prompt-cache/<locale>/<digest>.wav`` (PCM16 mono at the call rate, already
level-normalized). The digest hashes everything that changes the audio: the text, the engine, the voice and
its version, the rate, the level, and the text preparation rules, so an edited prompt or a new voice is a
new entry and never a stale one. Entries read once stay in memory for the life of the process.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import soundfile

from callbot.audio import write_wav
from callbot.tts.engine import ResolvedVoice
from callbot.tts.textprep import TEXTPREP_VERSION

CACHE_FORMAT = "2"  # bumped when the audio processing (resampling, level, limiter) changes


@dataclass
class BuildReport:
    """What filling the cache for one (locale, rate) did."""

    locale: str
    rate: int
    voice: str
    rendered: list[str] = field(default_factory=list)  # synthesized now
    reused: list[str] = field(default_factory=list)  # already cached
    recorded: list[str] = field(default_factory=list)  # served from prompts/<locale>/audio/<key>.wav
    dynamic: list[str] = field(default_factory=list)  # have {placeholders}: synthesized during the call

    def summary(self) -> str:
        return (
            f"{self.locale} @ {self.rate} Hz ({self.voice}): {len(self.rendered)} rendered, "
            f"{len(self.reused)} already cached, {len(self.recorded)} recorded, {len(self.dynamic)} dynamic"
        )


def _digest(fields: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


def synthesized_digest(*, text: str, voice: ResolvedVoice, rate: int, level_dbfs: float) -> str:
    return _digest(
        {
            "format": CACHE_FORMAT,
            "textprep": TEXTPREP_VERSION,
            "text": text,
            "engine": voice.engine,
            "voice": voice.voice,
            "version": voice.version,
            "rate": rate,
            "level": level_dbfs,
        }
    )


def recorded_digest(*, path: Path, rate: int, level_dbfs: float) -> str:
    """Recordings are identified by their bytes: replacing the file replaces the entry."""
    content = hashlib.sha256(path.read_bytes()).hexdigest()
    return _digest({"format": CACHE_FORMAT, "recording": content, "rate": rate, "level": level_dbfs})


class PromptCache:
    """Disk cache of rendered prompts with an in-memory layer; safe to use from several threads."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._memory: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()

    def path(self, locale: str, digest: str) -> Path:
        return self.directory / locale / f"{digest}.wav"

    def get(self, locale: str, digest: str, rate: int) -> bytes | None:
        with self._lock:
            pcm = self._memory.get((locale, digest))
        if pcm is not None:
            return pcm
        path = self.path(locale, digest)
        if not path.is_file():
            return None
        try:  # read the int16 samples as stored (read_wav's float path would alter them by rounding)
            samples, stored_rate = soundfile.read(str(path), dtype="int16")
        except (RuntimeError, soundfile.LibsndfileError):
            return None  # a damaged entry is rendered again
        if stored_rate != rate or samples.ndim != 1:
            return None
        pcm = samples.astype("<i2", copy=False).tobytes()
        with self._lock:
            self._memory[(locale, digest)] = pcm
        return pcm

    def put(self, locale: str, digest: str, pcm: bytes, rate: int) -> Path:
        """Write atomically (temporary file + rename), so a crash never leaves half an entry."""
        final = self.path(locale, digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=final.parent, suffix=".tmp.wav")
        os.close(handle)
        try:
            write_wav(temporary, pcm, rate)
            os.replace(temporary, final)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        with self._lock:
            self._memory[(locale, digest)] = pcm
        return final
