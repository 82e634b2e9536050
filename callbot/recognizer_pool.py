"""Warm recognizers: a per-process pool of ``VoskRecognizer``s, one lent to each call and taken back at its end.

A recognizer that has decoded before decodes the same audio 2-4x cheaper than a new one (DEPENDENCY-FACTS), so
calls reuse them: ``acquire`` lends an idle one (or makes one), ``release`` clears it (free speech again, no
utterance open) and keeps it for the next call. Vosk's recognizers also grow as they decode (~150 MB over
~28 s of varied audio), so the pool has a memory cap: a recognizer that has decoded ``max_audio_s`` seconds,
or any recognizer given back while the process's RSS is above ``max_rss_mb``, is dropped instead (the next
call gets a new one). At most ``max_idle`` wait per model and rate.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from callbot.asr import VoskModels, VoskRecognizer
from callbot.config import Settings

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def process_rss_mb() -> float:
    """This process's resident memory now (Linux), in MB."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE / 2**20


@dataclass(slots=True)
class PoolStats:
    created: int = 0  # recognizers made (a call found none idle)
    reused: int = 0  # calls lent an idle, warm recognizer
    dropped: int = 0  # given back over the memory cap (audio seconds or RSS)
    idle: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "reused": self.reused, "dropped": self.dropped, "idle": self.idle}


class RecognizerPool:
    """Thread-safe: calls of a worker acquire and release from their own threads."""

    def __init__(self, models: VoskModels, *, max_audio_s: float, max_rss_mb: float | None, max_idle: int,
                 rss_mb: Callable[[], float] = process_rss_mb) -> None:
        self.models = models
        self.max_audio_s = max_audio_s
        self.max_rss_mb = max_rss_mb
        self.max_idle = max_idle
        self.rss_mb = rss_mb
        self.stats = PoolStats()
        self._idle: dict[tuple[Path, int], list[VoskRecognizer]] = {}
        self._homes: dict[int, tuple[Path, int]] = {}  # id of a lent recognizer -> where it goes back
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, models: VoskModels) -> RecognizerPool:
        return cls(models, max_audio_s=settings.asr_recognizer_max_audio_s, max_rss_mb=settings.asr_max_rss_mb,
                   max_idle=settings.max_calls or 8)

    def acquire(self, path: Path, rate: int) -> VoskRecognizer:
        key = (Path(path).resolve(), rate)
        with self._lock:
            idle = self._idle.get(key)
            recognizer = idle.pop() if idle else None
            if recognizer is not None:
                self.stats.reused += 1
                self.stats.idle -= 1
        if recognizer is None:
            recognizer = VoskRecognizer(self.models.get(key[0]), rate)  # outside the lock: ~50 ms
            with self._lock:
                self.stats.created += 1
        with self._lock:
            self._homes[id(recognizer)] = key
        return recognizer

    def release(self, recognizer: VoskRecognizer) -> None:
        """The call is over: keep the recognizer warm for the next one, or drop it over the memory cap."""
        with self._lock:
            key = self._homes.pop(id(recognizer), None)
        if key is None:
            return  # not lent by this pool (or given back twice)
        recognizer.clear()
        over_cap = recognizer.audio_seconds >= self.max_audio_s or (
            self.max_rss_mb is not None and self.rss_mb() > self.max_rss_mb)
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if over_cap or len(idle) >= self.max_idle:
                self.stats.dropped += 1
                return
            idle.append(recognizer)
            self.stats.idle += 1
