"""The bot's voice on one call: speech jobs, the producer that synthesizes them into 20 ms frames, the
outbound queue the media clock thread pulls from, playback marks, and whether what was said has played out.

Threads: ``produce`` runs on the call's speech thread; ``pull`` on pjmedia's clock thread (deque operations
only); everything else on the call's worker. A prompt's frames sit between two ``PlaybackMark``s; when the
clock thread reaches a mark it hands it to the worker (``notify``), which learns that a prompt began or ended
playing with ``mark_reached``.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from callbot.audio import samples_per_frame
from callbot.call.stats import CallStats
from callbot.call.turns import Clock, TurnEnd
from callbot.tts import SpeechOutput
from callbot.types import Ask, Speak

log = logging.getLogger(__name__)

PLAYED_CAPACITY_FRAMES = 500  # what the recording has not paired yet (10 s); older frames are dropped
DRAIN_STALL_S = 3.0  # waiting for the bot's audio to play out gives up when playback stops moving this long
# what a speech engine raises for a prompt it cannot say: TtsError and the engines' runtime errors
# (RuntimeError), an unreadable voice or cache file (OSError), text it cannot prepare (ValueError)
SPEECH_FAILURES = (RuntimeError, OSError, ValueError)


@dataclass(eq=False)
class SpeechJob:
    """One Speak or Ask on its way to the caller's ear."""

    decision: Speak | Ask
    cancel: threading.Event = field(default_factory=threading.Event)
    first_frame_queued_at: float | None = None  # on the call's clock
    playing_since: float | None = None  # stream seconds when its first frame went out
    answers: TurnEnd | None = None  # the caller's turn this prompt answers (its first prompt only)

    @property
    def cut(self) -> bool:
        return self.cancel.is_set()


@dataclass(frozen=True, slots=True)
class PlaybackMark:
    """Queued around a prompt's frames; the clock thread hands it to the worker when it reaches the wire."""

    job: SpeechJob
    started: bool  # True: before the first frame; False: after the last one


class Framer:
    """Cuts a stream of PCM chunks of any size into 20 ms frames."""

    def __init__(self, frame_bytes: int) -> None:
        self.frame_bytes = frame_bytes
        self._rest = b""

    def frames(self, pcm: bytes) -> list[bytes]:
        data = self._rest + pcm
        cut = len(data) - len(data) % self.frame_bytes
        self._rest = data[cut:]
        return [data[i : i + self.frame_bytes] for i in range(0, cut, self.frame_bytes)]

    def flush(self) -> list[bytes]:
        rest, self._rest = self._rest, b""
        return [rest + b"\x00" * (self.frame_bytes - len(rest))] if rest else []


@dataclass(eq=False, kw_only=True)
class Playback:
    """Speech jobs in order, from synthesis to the wire."""

    speech: SpeechOutput
    call_id: str
    locale: str
    rate: int
    clock: Clock
    stats: CallStats
    notify: Callable[[PlaybackMark, float], None]  # from the clock thread: a mark reached the wire then
    wake: Callable[[], None]  # from the speech thread: a prompt is fully queued
    played: collections.deque[bytes | None] = field(
        default_factory=lambda: collections.deque(maxlen=PLAYED_CAPACITY_FRAMES), init=False)
    _outbound: collections.deque[bytes | PlaybackMark] = field(default_factory=collections.deque, init=False)
    _jobs: queue.SimpleQueue[SpeechJob | None] = field(default_factory=queue.SimpleQueue, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)  # the producer vs a cut
    _speaking: list[SpeechJob] = field(default_factory=list, init=False)  # queued or playing, in order
    _drain_progress: tuple[int, int] | None = field(default=None, init=False)  # (played, queued) last seen
    _drain_moved_at: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.frame_bytes = 2 * samples_per_frame(self.rate)

    # --- worker -------------------------------------------------------------------------------------------
    @property
    def front(self) -> Speak | Ask | None:
        """What the caller hears now, or next: the first prompt queued or playing."""
        return self._speaking[0].decision if self._speaking else None

    def say(self, decision: Speak | Ask, answers: TurnEnd | None) -> SpeechJob:
        job = SpeechJob(decision, answers=answers)
        self._speaking.append(job)
        self._jobs.put(job)
        return job

    def mark_reached(self, mark: PlaybackMark, at: float, stream_time: float) -> SpeechJob | None:
        """A mark reached the wire at ``at``: a prompt began (its answer's latency is measured) or ended
        (returned). Marks of prompts cut meanwhile mean nothing."""
        job = mark.job
        if job not in self._speaking:
            return None
        if mark.started:
            job.playing_since = stream_time
            if job.answers is not None and job.first_frame_queued_at is not None:
                self.stats.turn_latencies.append(job.answers.latency(job.first_frame_queued_at, at))
            return None
        self._speaking.remove(job)
        return job

    def stop(self) -> list[SpeechJob]:
        """Cancel every queued or playing prompt and drop the audio not yet played; returns them, in order."""
        jobs, self._speaking = self._speaking, []
        with self._lock:
            for job in jobs:
                job.cancel.set()
            self._outbound.clear()
        return jobs

    def drain(self) -> Literal["drained", "playing", "stalled"]:
        """Whether what was said has played out; ``stalled``: it stopped moving for ``DRAIN_STALL_S``."""
        if not self._speaking:
            return "drained"
        progress, now = (self.stats.outbound_frames, len(self._outbound)), self.clock()
        if progress != self._drain_progress:  # still moving: wait
            self._drain_progress, self._drain_moved_at = progress, now
            return "playing"
        return "stalled" if now - self._drain_moved_at > DRAIN_STALL_S else "playing"

    def close(self) -> None:
        """Cancel what is left and let the producer thread end."""
        for job in self._speaking:
            job.cancel.set()
        self._jobs.put(None)

    # --- media side (pjmedia's clock thread) -------------------------------------------------------------
    def pull(self) -> bytes | None:
        """The next 20 ms frame of the bot's voice, or None for silence."""
        while True:
            try:
                item = self._outbound.popleft()
            except IndexError:
                self.played.append(None)
                return None
            if isinstance(item, bytes):
                self.played.append(item)
                self.stats.outbound_frames += 1
                return item
            self.notify(item, self.clock())  # a playback mark: tell the worker, send the next frame

    # --- the speech thread ----------------------------------------------------------------------------------
    def produce(self) -> None:
        """The speech thread's body: synthesize each job as it comes, until ``close``."""
        while self.produce_one():
            pass

    def produce_one(self, *, block: bool = True) -> bool:
        """Synthesize the next job into the outbound queue (waiting for one unless ``block`` is False);
        False once closed, or when nothing is waiting and ``block`` is False."""
        try:
            job = self._jobs.get(block=block)
        except queue.Empty:
            return False
        if job is None:
            return False
        if job.cancel.is_set():
            return True
        try:
            self._synthesize(job)
        except SPEECH_FAILURES:
            log.exception("call %s: speech output failed for prompt %s", self.call_id,
                          job.decision.key or "(dynamic)")  # the text may read back a name or address
        finally:
            with self._lock:
                if not job.cancel.is_set():
                    self._outbound.append(PlaybackMark(job, started=False))
                    self.wake()
        return True

    def _synthesize(self, job: SpeechJob) -> None:
        framer = Framer(self.frame_bytes)
        decision = job.decision
        locale = (decision.locale if isinstance(decision, Speak) else None) or self.locale
        chunks = self.speech.stream(decision.text, locale=locale, rate=self.rate, key=decision.key,
                                    cancel=job.cancel, **_audio_source(decision))
        for chunk in chunks:
            if not self._queue_frames(job, framer.frames(chunk)):
                return
        self._queue_frames(job, framer.flush())

    def _queue_frames(self, job: SpeechJob, frames: list[bytes]) -> bool:
        """Append a prompt's frames unless it was cancelled meanwhile; False once it has been."""
        with self._lock:
            if job.cancel.is_set():
                return False
            if frames and job.first_frame_queued_at is None:
                job.first_frame_queued_at = self.clock()
                self._outbound.append(PlaybackMark(job, started=True))
            self._outbound.extend(frames)
        return True


def _audio_source(decision: Speak | Ask) -> dict[str, object]:
    """A Speak may name a recording to play, or ask for its (dynamic) text to be kept in the prompt cache."""
    if isinstance(decision, Speak) and (decision.cached or decision.recording):
        return {"cached": decision.cached, "recording": decision.recording}
    return {}
