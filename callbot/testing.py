"""Fakes for the edges of a call, shipped with the package the way httpx ships ``MockTransport``: code outside
the tests (benchmarks, a developer's script) may drive a ``CallSession`` with them too.

- ``FakeClock``: a clock the caller moves by hand, for code that takes its clock as a parameter.
- ``ScriptedRecognizer``: the one recognizer double (``callbot.asr.Recognizer``): hears scripted text, costs
  scripted time on a ``FakeClock``, counts what it was fed, can crash.
- ``FakeCallControl``: the SIP core's side of a call; notes what the session asked for.
- ``CallerLine``: the caller's end of a ``CallSession``, 20 ms frames in and out per ``step`` as pjmedia's clock
  does, stepped by its own thread at real time (``start``) or by a clock the caller runs (a benchmark's).

Nothing here imports pjsua2 or vosk.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from callbot.audio import rms_dbfs, samples_per_frame
from callbot.types import Transcript, Word

if TYPE_CHECKING:
    from callbot.call.session import CallSession

RATE = 8000
FRAME_BYTES = 2 * samples_per_frame(RATE)
SILENCE = b"\x00" * FRAME_BYTES
TICK_S = 0.02
VOICED_DBFS = -45.0  # a frame louder than this carries speech (espeak-ng's sits around -20 dBFS)


class FakeClock:
    """A clock the test moves by hand (``now``), for code that takes its clock as a parameter."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ScriptedRecognizer:
    """A recognizer double with the ``callbot.asr.Recognizer`` interface, for unit tests and the eval's doubles.

    Each utterance (each ``final``) is heard as the next of ``transcripts``, then as ``always`` once they run out
    ("": nothing recognized); ``hear(text)`` makes every later utterance ``text`` (what the caller is saying now).
    Work costs time on ``clock`` (a ``FakeClock``): ``accept_s`` per 20 ms of audio fed, ``final_s`` per final
    decode, so a slow recognizer needs no sleep. ``fail`` makes ``final`` raise it (a crashed decoder).
    ``fed_bytes`` counts the audio fed since it was made or reset; ``phrases`` is the grammar last set."""

    def __init__(self, transcripts: Iterable[str] = (), *, always: str = "", sample_rate: int = 16000,
                 confidence: float = 0.95, clock: FakeClock | None = None, accept_s: float = 0.0,
                 final_s: float = 0.0, fail: Exception | None = None) -> None:
        if clock is None and (accept_s or final_s):
            raise ValueError("a recognizer that takes time needs the clock it takes it on")
        self.sample_rate = sample_rate
        self.confidence = confidence
        self.clock = clock
        self.accept_s = accept_s
        self.final_s = final_s
        self.fail = fail
        self.fed_bytes = 0
        self.finals = 0
        self.phrases: tuple[str, ...] | None = None
        self._script = list(transcripts)
        self._always = always
        self._utterance_bytes = 0

    def hear(self, text: str) -> None:
        """From now on every utterance is heard as ``text`` (the script, if any is left, is dropped)."""
        self._script.clear()
        self._always = text

    def accept(self, pcm: bytes) -> str | None:
        self.fed_bytes += len(pcm)
        self._utterance_bytes += len(pcm)
        if self.clock is not None:
            self.clock.now += self.accept_s * len(pcm) / (2 * self.sample_rate * TICK_S)
        return None

    def final(self, offset: float) -> Transcript:
        self.finals += 1
        if self.clock is not None:
            self.clock.now += self.final_s
        if self.fail is not None:
            raise self.fail
        text = self._script.pop(0) if self._script else self._always
        end = offset + self._utterance_bytes / 2 / self.sample_rate
        self._utterance_bytes = 0
        spoken = text.split()
        step = (end - offset) / len(spoken) if spoken else 0.0
        words = tuple(Word(word, offset + i * step, offset + (i + 1) * step, self.confidence)
                      for i, word in enumerate(spoken))
        return Transcript(text, offset, end, self.confidence if spoken else 0.0, words)

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        self.phrases = tuple(phrases) if phrases else None

    def reset(self) -> None:
        self.fed_bytes = 0
        self._utterance_bytes = 0


@dataclass
class FakeCallControl:
    """The SIP core's side of a call, as a unit-level fake: records what the session asked for."""

    operator_uri: str | None = None
    transfer_ok: bool = True
    hangups: int = 0
    transfers: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def transfer(self, target_uri: str, headers: dict[str, str]) -> bool:
        self.transfers.append((target_uri, dict(headers)))
        return self.transfer_ok

    def hangup(self) -> None:
        self.hangups += 1

    def operator_uri_free(self) -> str | None:
        return self.operator_uri


def speech_onset(pcm: bytes) -> int:
    """Index of the first 20 ms frame (at ``RATE``) with speech energy (espeak-ng's clips start with a little
    silence)."""
    for index in range(len(pcm) // FRAME_BYTES):
        if rms_dbfs(pcm[index * FRAME_BYTES : (index + 1) * FRAME_BYTES]) > VOICED_DBFS:
            return index
    raise ValueError("the clip holds no speech")


class CallerLine:
    """The caller's end of a call at ``RATE``: each ``step`` pulls the bot's 20 ms frame and pushes the caller's
    (what ``say`` queued, else silence), as pjmedia's clock does. ``start`` runs the steps on the line's own
    thread at real time (``speed`` times faster if asked); a benchmark's one clock thread may step many lines
    instead. Waiters (``wait_for`` and the ``wait_*`` helpers) are woken after every step."""

    def __init__(self, session: CallSession, *, speed: float = 1.0) -> None:
        self.session = session
        self.speed = speed
        self.heard: list[bytes | None] = []  # the bot's frame per tick (None = silence)
        self.sent: list[bytes] = []  # the caller's frame per tick
        self.started_at_tick: dict[str, int] = {}  # utterance label -> tick its first frame went out
        self.on_start: dict[str, Callable[[], None]] = {}
        self._queue: collections.deque[tuple[bytes, str | None]] = collections.deque()
        self._stepped = threading.Condition()  # notified after every step, and when the line stops
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="caller-line", daemon=True)

    @property
    def tick(self) -> int:
        """How many 20 ms ticks the line has run."""
        return len(self.heard)

    def start(self) -> CallerLine:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def step(self) -> float:
        """One tick: the bot's frame out, the caller's in. Returns the seconds spent in the session's media side
        (``pull_outbound`` + ``push_inbound``, what pjmedia's clock thread pays per call)."""
        began = time.perf_counter()
        bot = self.session.pull_outbound()
        pulled = time.perf_counter()
        pcm, label = self._queue.popleft() if self._queue else (SILENCE, None)
        pushing = time.perf_counter()
        self.session.push_inbound(pcm)
        media_s = pulled - began + time.perf_counter() - pushing
        self.heard.append(bot)
        if label is not None:
            self.started_at_tick[label] = len(self.sent)
            if label in self.on_start:
                self.on_start[label]()
        self.sent.append(pcm)
        with self._stepped:
            self._stepped.notify_all()
        return media_s

    def _run(self) -> None:
        began = time.monotonic()
        while not self._stop.is_set() and not self.session.finished:
            self.step()
            delay = began + len(self.heard) * TICK_S / self.speed - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)  # the pace of pjmedia's clock
        with self._stepped:
            self._stepped.notify_all()

    def say(self, pcm: bytes, label: str, on_start: Callable[[], None] | None = None) -> None:
        """Queue ``pcm`` (at ``RATE``) as the caller's next words; ``on_start`` runs at the tick they begin."""
        if on_start is not None:
            self.on_start[label] = on_start
        frames = [pcm[i : i + FRAME_BYTES].ljust(FRAME_BYTES, b"\x00") for i in range(0, len(pcm), FRAME_BYTES)]
        self._queue.extend((frame, label if i == 0 else None) for i, frame in enumerate(frames))

    @property
    def saying(self) -> bool:
        return bool(self._queue)

    def bot_voice_ticks(self, since: int = 0) -> list[int]:
        return [i for i in range(since, len(self.heard)) if self.heard[i] is not None]

    def wait_for(self, condition: Callable[[], object], timeout: float, what: str) -> None:
        """Wait until ``condition`` holds, checked after every step of the line."""
        with self._stepped:
            if not self._stepped.wait_for(condition, timeout):
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")

    def wait_ticks(self, ticks: int, timeout: float = 10.0) -> None:
        target = self.tick + ticks
        self.wait_for(lambda: self.tick >= target, timeout, f"{ticks} more ticks of the line")

    def wait_bot_speaking(self, since: int, timeout: float = 15.0) -> int:
        """Waits for the bot's voice after tick ``since``; returns the tick it began."""
        self.wait_for(lambda: bool(self.bot_voice_ticks(since)), timeout, "the bot to speak")
        return self.bot_voice_ticks(since)[0]

    def wait_bot_quiet(self, since: int, quiet_s: float = 0.5, timeout: float = 30.0) -> int:
        """Waits until the bot has spoken after ``since`` and then been silent ``quiet_s``; returns that tick."""
        quiet_ticks = int(quiet_s / TICK_S)

        def quiet() -> bool:
            voiced = self.bot_voice_ticks(since)
            if self.session.finished:
                return True
            return bool(voiced) and not self.saying and self.tick - voiced[-1] > quiet_ticks

        self.wait_for(quiet, timeout, "the bot to finish speaking")
        return self.tick
