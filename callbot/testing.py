"""Fakes for the edges of a call, shipped with the package the way httpx ships ``MockTransport``: code outside
the tests (benchmarks, a developer's script) may drive a ``CallSession`` with them too.

- ``FakeClock``: a clock the caller moves by hand, for code that takes its clock as a parameter.
- ``FakeCallControl``: the SIP core's side of a call; notes what the session asked for.
- ``CallerLine``: the caller's end of a ``CallSession``, ticking 20 ms frames in and out as pjmedia's clock does.

Nothing here imports pjsua2 or vosk.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from callbot.audio import samples_per_frame

if TYPE_CHECKING:
    from callbot.call.session import CallSession

RATE = 8000
FRAME_BYTES = 2 * samples_per_frame(RATE)
SILENCE = b"\x00" * FRAME_BYTES
TICK_S = 0.02


class FakeClock:
    """A clock the test moves by hand (``now``), for code that takes its clock as a parameter."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


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


class CallerLine:
    """The caller's end: one thread ticks every 20 ms (or faster), pulls the bot's frame and pushes the caller's."""

    def __init__(self, session: CallSession, *, speed: float = 1.0) -> None:
        self.session = session
        self.speed = speed
        self.heard: list[bytes | None] = []  # the bot's frame per tick (None = silence)
        self.sent: list[bytes] = []  # the caller's frame per tick
        self.started_at_tick: dict[str, int] = {}  # utterance label -> tick its first frame went out
        self.on_start: dict[str, Callable[[], None]] = {}
        self._queue: collections.deque[tuple[bytes, str | None]] = collections.deque()
        self._ticked = threading.Condition()  # notified after every tick, and when the line stops
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="caller-line", daemon=True)

    @property
    def tick(self) -> int:
        return len(self.heard)

    def start(self) -> CallerLine:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        began = time.monotonic()
        while not self._stop.is_set() and not self.session.finished:
            self.heard.append(self.session.pull_outbound())
            pcm, label = self._queue.popleft() if self._queue else (SILENCE, None)
            if label is not None:
                self.started_at_tick[label] = len(self.sent)
                if label in self.on_start:
                    self.on_start[label]()
            self.sent.append(pcm)
            self.session.push_inbound(pcm)
            with self._ticked:
                self._ticked.notify_all()
            delay = began + len(self.heard) * TICK_S / self.speed - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)  # the pace of pjmedia's clock
        with self._ticked:
            self._ticked.notify_all()

    def say(self, pcm: bytes, label: str, on_start: Callable[[], None] | None = None) -> None:
        if on_start is not None:
            self.on_start[label] = on_start
        frames = [pcm[i : i + FRAME_BYTES].ljust(FRAME_BYTES, b"\x00") for i in range(0, len(pcm), FRAME_BYTES)]
        self._queue.extend((frame, label if i == 0 else None) for i, frame in enumerate(frames))

    @property
    def saying(self) -> bool:
        return bool(self._queue)

    def bot_voice_ticks(self, since: int = 0) -> list[int]:
        return [i for i in range(since, len(self.heard)) if self.heard[i] is not None]

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait until ``condition`` holds, checked after every tick of the line."""
        with self._ticked:
            assert self._ticked.wait_for(condition, timeout), f"timed out after {timeout} s waiting for {what}"

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
