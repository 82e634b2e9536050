"""The turn-taker: who has the floor on one call, and what the caller's turn means for the dialogue.

Synchronous and single-threaded: the call's frames (with the time each arrived), keypad digits and what the
bot is saying go in; caller turns (``FinalTranscript`` / ``RecordedAnswer`` / ``DtmfInput`` / ``NoInput``
with the times their turn ended) and prompt cuts (barge-in) come out. It owns the rules:

- keypad digits are collected up to the question's ``Ask.dtmf_digits``, or ended by ``#``, or sent after
  ``DTMF_INTER_DIGIT_S`` without a key;
- speech (or a key) over a prompt that allows barge-in cuts it; speech that began over a prompt that forbids
  it is not an answer and is discarded;
- an Ask that allows barge-in listens while it is spoken, one that does not listens once the bot is silent;
  the Listener's no-input timer only counts once the bot has stopped speaking and nobody is talking;
- turn latency starts when the caller's speech ended: the arrival of its last voiced frame (``TurnEnd``).

Time comes from the ``clock`` passed in (``time.monotonic`` on a live call, a fake in tests, a clock that adds
the measured processing to the stream time in ``callbot eval``): no threads, no wall clock here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from callbot.audio import FRAME_MS, Frame
from callbot.call.stats import TurnLatency
from callbot.listener import BargeIn, Final, Listener, ListenerEvent, NoInputTimeout, SpeechStarted
from callbot.types import Ask, DtmfInput, FinalTranscript, NoInput, RecordedAnswer, Speak, TurnKind

FRAME_SECONDS = FRAME_MS / 1000
DTMF_INTER_DIGIT_S = 3.0  # an unfinished keypad answer is sent after this pause
ARRIVAL_RING_FRAMES = 3000  # remembers when each of the last 60 s of frames arrived (turn latency)

Clock = Callable[[], float]
ClipKeeper = Callable[[bytes, str], str]  # (an answer's audio, the slot asked) -> where the clip was saved


@dataclass(frozen=True, slots=True)
class TurnEnd:
    """When a caller's turn ended and was in hand, on the call's clock: the end of the speech (the arrival of
    its last voiced frame, or the last key), the arrival of the frame on which the Listener declared the end
    (after the end-of-speech silence), and the moment the transcript was ready."""

    ended_at: float
    declared_at: float
    understood_at: float

    @property
    def endpoint_s(self) -> float:
        """The end-of-speech wait."""
        return self.declared_at - self.ended_at

    @property
    def processing_s(self) -> float:
        """After the endpoint: any backlog of earlier frames, then the final decode."""
        return self.understood_at - self.declared_at

    @property
    def understood_s(self) -> float:
        return self.understood_at - self.ended_at

    def latency(self, queued_at: float, played_at: float) -> TurnLatency:
        """The answer's first frame was queued at ``queued_at`` and reached the wire at ``played_at``."""
        return TurnLatency(self.understood_s, queued_at - self.ended_at, played_at - self.ended_at)


@dataclass(frozen=True, slots=True)
class CallerTurn:
    """A caller's turn for the dialogue, with what the call stores about it: stream seconds and when it ended
    (``ended`` None: not timed, i.e. a no-input or speech closed by the end of the stream)."""

    event: FinalTranscript | RecordedAnswer | DtmfInput | NoInput
    kind: TurnKind  # speech, dtmf or no_input
    start: float
    end: float
    ended: TurnEnd | None = None


@dataclass(frozen=True, slots=True)
class PromptCut:
    """The caller barged in: stop every prompt now. Stream seconds of the caller's speech (or key) and of the
    cut; ``by`` says which."""

    speech_at: float
    cut_at: float
    by: Literal["speech", "dtmf"]


TurnOutput = CallerTurn | PromptCut


class TurnTaker:
    """One call's turn-taking over its Listener. ``keep_clip`` given: record-only mode, an answer is its clip
    (``RecordedAnswer``); otherwise its transcript (``FinalTranscript``)."""

    def __init__(self, listener: Listener, clock: Clock, keep_clip: ClipKeeper | None = None) -> None:
        self.listener = listener
        self.clock = clock
        self.keep_clip = keep_clip
        self.current_ask: Ask | None = None  # the question the caller's next answer is for
        self.stream_time = 0.0  # the end of the last frame fed
        self._front: Speak | Ask | None = None  # what the caller hears now (None: the bot is silent)
        self._waiting_ask: Ask | None = None  # its listening turn starts once the bot is silent
        self._speech_in_progress = False
        self._discard_utterance = False  # speech that began over a prompt the caller may not interrupt
        self._digits = ""
        self._last_digit_at = 0.0
        self._arrivals: list[tuple[int, float]] = [(-1, 0.0)] * ARRIVAL_RING_FRAMES  # (frame index, clock)
        self._last_index = -1
        self._declared_at = 0.0  # arrival of the frame being heard: where an end of speech is declared

    # --- the bot's side -------------------------------------------------------------------------------------
    def prompt(self, decision: Speak | Ask) -> None:
        """The bot queued a prompt, heard first if nothing else was playing: an Ask is the question the next
        answer is for; it listens during the prompt if it allows barge-in, else once the bot is silent."""
        if self._front is None:
            self._front = decision
        self.listener.set_bot_speaking(True)
        if isinstance(decision, Ask):
            self.current_ask = decision
            self._digits = ""
            if decision.barge_in:
                self._begin_turn(decision)  # the Listener starts the no-input timer once the bot stops
            else:
                self._waiting_ask = decision

    def speaking(self, front: Speak | Ask | None) -> None:
        """What the caller hears now: the first prompt queued or playing; None once the bot is silent."""
        self._front = front
        self.listener.set_bot_speaking(front is not None)
        if front is None and self._waiting_ask is not None:
            self._begin_turn(self._waiting_ask)

    @property
    def bot_speaking(self) -> bool:
        return self._front is not None

    @property
    def waiting_to_listen(self) -> bool:
        """An Ask forbidding barge-in is still being spoken: the caller's turn has not begun."""
        return self._waiting_ask is not None

    def _begin_turn(self, ask: Ask) -> None:
        self.listener.begin_turn(ask)
        self._waiting_ask = None

    # --- the caller's side ----------------------------------------------------------------------------------
    def feed(self, frame: Frame, arrived_at: float) -> list[TurnOutput]:
        """One frame of the caller's audio, which arrived at ``arrived_at`` on the clock."""
        index = round(frame.start / FRAME_SECONDS)
        self._arrivals[index % ARRIVAL_RING_FRAMES] = (index, arrived_at)
        self._last_index = index
        self._declared_at = arrived_at
        self.stream_time = frame.end
        return [out for event in self.listener.feed(frame) for out in self._hear(event)]

    def digit(self, digit: str, at: float) -> list[TurnOutput]:
        """A keypad digit pressed at ``at`` on the clock."""
        out: list[TurnOutput] = self._cut(self.stream_time, "dtmf")
        self._last_digit_at = at
        wanted = self.current_ask.dtmf_digits if self.current_ask else 1
        if digit == "#" and self._digits:
            return [*out, self._send_digits(at)]
        self._digits += digit
        if len(self._digits) >= wanted or digit == "#":
            out.append(self._send_digits(at))
        return out

    def tick(self) -> list[TurnOutput]:
        """Time passed: an unfinished keypad answer is sent after the inter-digit pause."""
        now = self.clock()
        if self._digits and now - self._last_digit_at > DTMF_INTER_DIGIT_S:
            return [self._send_digits(now)]
        return []

    def finish(self) -> list[TurnOutput]:
        """End of the stream (the caller hung up): speech still open is an answer, kept as it is."""
        return [self._answer(event, None) for event in self.listener.finish() if isinstance(event, Final)]

    def _hear(self, event: ListenerEvent) -> list[TurnOutput]:
        match event:
            case SpeechStarted():
                self._speech_in_progress = True
                self._discard_utterance = self._front is not None and not self._front.barge_in
            case BargeIn():
                return self._cut(event.at, "speech")
            case Final():
                self._speech_in_progress = False
                if self._discard_utterance:
                    self._discard_utterance = False
                    return []
                ended = TurnEnd(self._arrival_of(event.speech_end), self._declared_at, self.clock())
                return [self._answer(event, ended)]
            case NoInputTimeout():
                if self._front is None and not self._speech_in_progress and self._waiting_ask is None:
                    return [CallerTurn(NoInput(event.seconds), TurnKind.no_input, event.at, event.at)]
        return []

    def _answer(self, final: Final, ended: TurnEnd | None) -> CallerTurn:
        transcript = final.transcript
        event: FinalTranscript | RecordedAnswer
        if self.keep_clip is not None:
            clip = self.keep_clip(final.audio, self.current_ask.slot if self.current_ask else "answer")
            event = RecordedAnswer(clip, len(final.audio) / 2 / self.listener.rate)
        else:
            event = FinalTranscript(transcript.text, transcript.confidence, transcript)
        return CallerTurn(event, TurnKind.speech, transcript.start, final.speech_end, ended)

    def _send_digits(self, at: float) -> CallerTurn:
        digits, self._digits = self._digits, ""
        return CallerTurn(DtmfInput(digits), TurnKind.dtmf, self.stream_time, self.stream_time,
                          TurnEnd(at, at, self.clock()))

    def _cut(self, speech_at: float, by: Literal["speech", "dtmf"]) -> list[TurnOutput]:
        if self._front is None or not self._front.barge_in:
            return []
        self.speaking(None)
        return [PromptCut(speech_at, self.stream_time, by)]

    def _arrival_of(self, stream_seconds: float) -> float:
        """When the frame ending at this stream time arrived; now if that is unknown (too old, or dropped)."""
        index = min(round(stream_seconds / FRAME_SECONDS) - 1, self._last_index)
        recorded, arrived_at = self._arrivals[max(index, 0) % ARRIVAL_RING_FRAMES]
        return arrived_at if recorded == index else self.clock()
