"""``SpeechOutput``: text -> PCM16 at the call rate, sentence by sentence, cancellable, one loudness.

One object per process, shared by every call. Voices load lazily, once, whichever thread asks first; the
other threads wait for that load rather than loading twice. Static prompts come from the prompt cache.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from callbot.audio import pcm16_to_float, read_wav, resample, to_pcm16
from callbot.config import Settings
from callbot.prompts import PromptSet, load_prompts
from callbot.tts.cache import BuildReport, PromptCache, recorded_digest, synthesized_digest
from callbot.tts.engine import ResolvedVoice, Synthesizer, TtsError, load_voice, resolve_voice
from callbot.tts.level import normalize
from callbot.tts.textprep import sentences_for_speech

log = logging.getLogger(__name__)

CHUNK_MS = 100  # cancellation (barge-in) takes effect within one chunk
OUTPUT_RATES = (8000, 16000, 22050, 24000, 44100, 48000)


@dataclass
class SpeechStats:
    """Counters for tests, benchmarks and metrics."""

    sentences_synthesized: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    recorded_served: int = 0
    voice_load_seconds: dict[str, float] = field(default_factory=dict)


class SpeechOutput:
    def __init__(self, settings: Settings, *, chunk_ms: int = CHUNK_MS) -> None:
        if not 10 <= chunk_ms <= 200:
            raise ValueError(f"chunk_ms must be 10..200, got {chunk_ms}")
        self.settings = settings
        self.chunk_ms = chunk_ms
        self.cache = PromptCache(settings.data_dir / "prompt-cache")
        self.stats = SpeechStats()
        self._lock = threading.Lock()
        self._resolved: dict[str, ResolvedVoice] = {}
        self._voices: dict[tuple[str, str], Synthesizer] = {}
        self._voice_locks: dict[tuple[str, str], threading.Lock] = {}
        self._prompts: dict[str, tuple[int, PromptSet]] = {}

    # --- voices --------------------------------------------------------------------------------------
    def resolved_voice(self, locale: str) -> ResolvedVoice:
        """The locale's configured voice, found on disk (not loaded); ``VoiceNotFound`` says how to get it."""
        with self._lock:
            found = self._resolved.get(locale)
        if found is None:
            engine, voice = self.settings.tts_for(locale)
            found = resolve_voice(engine, voice, self.settings)
            with self._lock:
                self._resolved[locale] = found
        return found

    def synthesizer(self, locale: str) -> Synthesizer:
        """The locale's loaded voice; the first caller loads it, concurrent callers wait for that load."""
        voice = self.resolved_voice(locale)
        ident = (voice.engine, voice.voice)
        with self._lock:
            loaded = self._voices.get(ident)
            if loaded is not None:
                return loaded
            load_lock = self._voice_locks.setdefault(ident, threading.Lock())
        with load_lock:
            with self._lock:
                loaded = self._voices.get(ident)
            if loaded is None:
                started = time.perf_counter()
                loaded = load_voice(voice)
                with self._lock:
                    self._voices[ident] = loaded
                    self.stats.voice_load_seconds[f"{voice.engine}:{voice.voice}"] = (
                        time.perf_counter() - started
                    )
                log.info(
                    "loaded %s voice %s in %.2f s", voice.engine, voice.voice, time.perf_counter() - started
                )
        return loaded

    # --- the public API ----------------------------------------------------------------------------------
    def stream(
        self,
        text: str,
        *,
        locale: str,
        rate: int,
        key: str | None = None,
        cancel: threading.Event | None = None,
        cached: bool = False,
        recording: str | Path | None = None,
    ) -> Iterator[bytes]:
        """PCM16 mono chunks (at most ``chunk_ms`` each) at ``rate``; stops within one chunk once ``cancel`` is set.

        A ``key`` naming a static prompt is served from the prompt cache (or the prompt's recording); so is a
        text with ``cached`` (one said on many calls, like a campaign's message); a ``recording`` (a WAV) is
        played instead of the text, resampled and levelled like a prompt's recording.
        Other text is synthesized one sentence at a time, so the first chunk comes after one sentence.
        """
        _check_rate(rate)
        size = 2 * rate * self.chunk_ms // 1000
        if recording is not None:
            pieces: Iterator[bytes] = iter([self._recorded(Path(recording), locale=locale, rate=rate)])
        elif cached:
            pieces = self._cached_text(text, locale=locale, rate=rate)
        else:
            pieces = self._pieces(text, locale=locale, rate=rate, key=key)
        for piece in pieces:
            for offset in range(0, len(piece), size):
                if cancel is not None and cancel.is_set():
                    return  # the pieces not pulled yet are never synthesized
                yield piece[offset : offset + size]

    def synthesize(self, text: str, *, locale: str, rate: int, key: str | None = None) -> bytes:
        """The whole of ``stream`` as one buffer (for files and the prompt cache)."""
        return b"".join(self.stream(text, locale=locale, rate=rate, key=key))

    def warm(self, locale: str, rate: int) -> BuildReport:
        """Load the locale's voice and render every static prompt at ``rate`` that is not cached yet."""
        _check_rate(rate)
        voice = self.resolved_voice(locale)
        self.synthesizer(locale)
        report = BuildReport(locale, rate, f"{voice.engine}:{voice.voice}")
        prompts = self._prompt_set(locale)
        if prompts is None:
            return report
        for key, text in prompts.texts.items():
            if not prompts.is_static(key):
                report.dynamic.append(key)
                continue
            misses, recorded = self.stats.cache_misses, self.stats.recorded_served
            for _ in self._pieces(text, locale=locale, rate=rate, key=key):
                pass
            if self.stats.recorded_served > recorded:
                report.recorded.append(key)
            else:
                (report.rendered if self.stats.cache_misses > misses else report.reused).append(key)
        return report

    # --- internals ------------------------------------------------------------------------------------
    def _pieces(self, text: str, *, locale: str, rate: int, key: str | None) -> Iterator[bytes]:
        """The audio of ``text`` in pieces: a whole cached prompt or recording, or one piece per sentence.

        A static prompt missing from the cache is still streamed sentence by sentence, and stored once its
        last sentence is done (a cancelled prompt is not stored half-said).
        """
        prompts = self._prompt_set(locale) if key is not None else None
        if prompts is None or key not in prompts.texts or not prompts.is_static(key):
            yield from self._sentences(text, locale=locale, rate=rate)
            return
        recording = prompts.recorded_audio(key)
        if recording is not None and " ".join(text.split()) == prompts.texts[key]:
            yield self._recorded(recording, locale=locale, rate=rate)
            return
        if recording is not None:
            log.warning(
                "prompt %s/%s: text differs from prompts.yaml, so its recording is not used", locale, key
            )
        yield from self._cached_text(text, locale=locale, rate=rate)

    def _cached_text(self, text: str, *, locale: str, rate: int) -> Iterator[bytes]:
        """A text from the prompt cache, or synthesized sentence by sentence and stored once complete."""
        level = self.settings.tts_level_dbfs
        digest = synthesized_digest(text=text, voice=self.resolved_voice(locale), rate=rate, level_dbfs=level)
        cached = self.cache.get(locale, digest, rate)
        with self._lock:
            if cached is None:
                self.stats.cache_misses += 1
            else:
                self.stats.cache_hits += 1
        if cached is not None:
            yield cached
            return
        rendered = []
        for piece in self._sentences(text, locale=locale, rate=rate):
            rendered.append(piece)
            yield piece
        self.cache.put(locale, digest, b"".join(rendered), rate)

    def _sentences(self, text: str, *, locale: str, rate: int) -> Iterator[bytes]:
        for sentence in sentences_for_speech(text, locale):
            yield self._render_sentence(sentence, locale, rate)

    def _render_sentence(self, sentence: str, locale: str, rate: int) -> bytes:
        synthesizer = self.synthesizer(locale)
        samples = synthesizer.synthesize(sentence)
        with self._lock:
            self.stats.sentences_synthesized += 1
        if samples.size == 0:
            return b""
        peak = float(np.abs(samples).max())
        if peak > 1.0:  # an engine overshot full scale: scale down (the level is set below), never clip
            samples = samples / peak
        at_rate = resample(to_pcm16(samples), synthesizer.sample_rate, rate)
        return to_pcm16(normalize(pcm16_to_float(at_rate), rate, self.settings.tts_level_dbfs))

    def _prompt_set(self, locale: str) -> PromptSet | None:
        """The locale's prompts, re-read when prompts.yaml changes; None when the locale has none."""
        path = Path(self.settings.prompts_dir) / locale / "prompts.yaml"
        try:
            stamp = path.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        with self._lock:
            known = self._prompts.get(locale)
        if known is not None and known[0] == stamp:
            return known[1]
        prompts = load_prompts(self.settings.prompts_dir, locale)
        with self._lock:
            self._prompts[locale] = (stamp, prompts)
        return prompts

    def _recorded(self, path: Path, *, locale: str, rate: int) -> bytes:
        """A human recording, resampled and brought to the same level as synthesized speech."""
        level = self.settings.tts_level_dbfs
        digest = recorded_digest(path=path, rate=rate, level_dbfs=level)
        pcm = self.cache.get(locale, digest, rate)
        if pcm is None:
            audio = read_wav(path, rate)
            pcm = to_pcm16(normalize(pcm16_to_float(audio.pcm), rate, level))
            self.cache.put(locale, digest, pcm, rate)
        with self._lock:
            self.stats.recorded_served += 1
        return pcm


def _check_rate(rate: int) -> None:
    if rate not in OUTPUT_RATES:
        raise TtsError(f"unsupported output rate {rate} Hz (use 8000 or 16000 for calls)")
