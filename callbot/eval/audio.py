"""A ``wav:`` turn heard the way a live call hears it: the clip at the call rate, 20 ms frames through the
call's turn-taker (``callbot.call.turns``: the Listener's endpointing, then its own resampling to the
recognizer's rate), its caller turns sent to the policy. One ``AudioCaller`` per case, like one turn-taker per
call, so the Listener-event -> caller-event mapping and the turn latency are the live call's own.

Latency per turn, as a caller would feel it (``TurnEnd``), on a clock where each frame arrives at its end
time (as on a live call): the endpointing wait (from the end of speech to the frame where the Listener
declared it), then the processing until the final transcript is ready. Each ``feed`` is timed on the wall
clock and queued behind the previous ones, so a recognizer slower than real time shows up as a backlog, not
only the final decode.

Turn-taking per turn (``TurnTiming``): where the clip's speech really ends (by energy, independent of the VAD)
against the stream time of the frame on which the turn-taker declared the caller's turn over: ``cut_off`` when
that came while the clip still had speech to come, else ``end_of_turn_ms``. With ``CALLBOT_TURN_DETECTOR=smart``
the caller's Listener carries the call's end-of-turn decision (``end_of_turn``), as on a live call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from callbot.asr import Recognizer
from callbot.audio import FRAME_MS, Frame, frames_of, read_wav, samples_per_frame, speech_bounds
from callbot.call.turns import CallerTurn, TurnTaker
from callbot.config import Settings
from callbot.eval.metrics import ErrorCount, TurnTiming, char_errors, turn_timing, word_errors
from callbot.eval.script import EvalFile, Turn, WavTurn
from callbot.listener import Listener
from callbot.turn_end import EndOfTurn
from callbot.types import Ask, CallerEvent, FinalTranscript, NoInput, TurnKind

LEAD_SILENCE_S = 0.5  # the pause after the bot's question; also lets the VAD's noise gauge settle on turn one
TAIL_MARGIN_S = (
    0.4  # silence fed beyond the end-of-speech wait, so the endpoint is declared by the VAD itself
)


@dataclass(slots=True)
class TurnMeasure:
    """One audio turn: what was said (reference), what was heard, errors, and its latency parts."""

    turn: int
    wav: str
    reference: str | None
    hypothesis: str
    words: ErrorCount | None
    chars: ErrorCount | None
    latency_ms: (
        float | None
    )  # endpoint_ms + processing_ms (None: no speech, or the VAD never closed the turn)
    endpoint_ms: float | None
    processing_ms: float | None  # after the endpoint: any backlog of earlier frames, then the final decode
    speech: bool
    timing: TurnTiming | None = None  # None: no speech in the clip, or no turn declared before the stream ended

    def as_dict(self) -> dict:
        return {
            "turn": self.turn,
            "wav": self.wav,
            "reference": self.reference,
            "hypothesis": self.hypothesis,
            "wer": _rounded(self.words.rate if self.words else None),
            "cer": _rounded(self.chars.rate if self.chars else None),
            "word_errors": self.words.errors if self.words else None,
            "reference_words": self.words.length if self.words else None,
            "latency_ms": _rounded(self.latency_ms, 1),
            "endpoint_ms": _rounded(self.endpoint_ms, 1),
            "processing_ms": _rounded(self.processing_ms, 1),
            "speech": self.speech,
            "end_of_turn_ms": _rounded(self.timing.end_of_turn_ms, 1) if self.timing else None,
            "cut_off": self.timing.cut_off if self.timing else None,
        }


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


@dataclass
class AudioCaller:
    """One case's caller: plays each ``wav:`` turn into a turn-taker and reports what the policy receives.

    ``recognizer`` None means ``--asr reference``: the Listener still runs (endpointing, no-speech detection,
    latency of the endpointing) and the turn's reference text stands in for the recognizer's. ``end_of_turn``:
    the call's smart end-of-turn decision (None: the plain silence timer)."""

    eval_file: EvalFile
    settings: Settings
    recognizer: Recognizer | None
    end_of_turn: EndOfTurn | None = None
    wall_clock: Callable[[], float] = time.monotonic  # what each feed is timed on (tests pass a FakeClock)
    measures: list[TurnMeasure] = field(default_factory=list, init=False)
    _stream_end: float = field(default=0.0, init=False)  # stream time of the next frame
    _busy_until: float = field(default=0.0, init=False)  # when the Listener has caught up with the frames fed
    _started: float = field(default=0.0, init=False)  # when the frame being fed began to be processed
    _fed_at: float = field(default=0.0, init=False)  # ...on the wall clock

    def __post_init__(self) -> None:
        self.rate = self.settings.call_sample_rate
        self.turns = TurnTaker(Listener(self.settings, self.recognizer, self.rate, self.end_of_turn), self._clock)

    def _clock(self) -> float:
        """The stream time at which the frame being fed started to be processed, plus the wall time since."""
        return self._started + self.wall_clock() - self._fed_at

    def events(self, turn: Turn, index: int, ask: Ask | None) -> list[CallerEvent]:
        """What the policy receives for turn ``index`` of the case, said after the bot's question ``ask``:
        audio turns are heard, the others speak for themselves."""
        if isinstance(turn, WavTurn):
            return self.hear(turn, index, ask)
        return turn.events()

    def _frames(self, pcm: bytes) -> list[Frame]:
        frames = list(frames_of(pcm, self.rate, start=self._stream_end))
        self._stream_end += len(frames) * FRAME_MS / 1000
        return frames

    def _silence(self, seconds: float) -> list[Frame]:
        count = max(1, round(seconds * 1000 / FRAME_MS))
        return self._frames(b"\x00" * 2 * samples_per_frame(self.rate) * count)

    def hear(self, turn: WavTurn, index: int, ask: Ask | None) -> list[CallerEvent]:
        audio = read_wav(self.eval_file.wav_path(turn), self.rate)  # as the SIP leg would deliver it
        if ask is not None:
            self.turns.prompt(ask)  # the bot asked...
        self.turns.speaking(None)  # ...and is silent: the caller's turn begins
        end_silence_ms = (ask.end_silence_ms if ask else None) or self.settings.end_silence_ms
        if self.end_of_turn is not None:  # the smart decision may hold a turn up to the question's maximum
            end_silence_ms = max(end_silence_ms, self.end_of_turn.max_silence_ms)
        lead = self._silence(LEAD_SILENCE_S)
        bounds = speech_bounds(audio.pcm, self.rate)
        speech_end = lead[-1].end + bounds[1] if bounds else None
        frames = [*lead, *self._frames(audio.pcm), *self._silence(end_silence_ms / 1000 + TAIL_MARGIN_S)]
        heard: list[CallerTurn] = []
        declared_at: list[float] = []  # stream time of the frame on which each speech turn was declared over
        for frame in frames:
            self._fed_at = self.wall_clock()
            self._started = max(frame.end, self._busy_until)  # there at its end, and after the earlier ones
            for out in self.turns.feed(frame, arrived_at=frame.end):
                if isinstance(out, CallerTurn) and out.kind == TurnKind.speech:
                    heard.append(out)
                    declared_at.append(frame.end)
            self._busy_until = self._clock()
        heard.extend(out for out in self.turns.finish() if isinstance(out, CallerTurn))  # untimed: forced
        timing = turn_timing(declared_at, speech_end) if speech_end is not None and heard else None
        return self._answer(turn, index, heard, audio.duration, timing)

    def _answer(
        self, turn: WavTurn, index: int, heard: list[CallerTurn], seconds: float, timing: TurnTiming | None
    ) -> list[CallerEvent]:
        finals = [out.event for out in heard if isinstance(out.event, FinalTranscript)]
        if self.recognizer is None:
            hypothesis = (turn.reference or "") if heard else ""
        else:
            hypothesis = " ".join(final.text for final in finals if final.text)
        ended = heard[-1].ended if heard else None  # a turn closed by the end of the stream is not timed
        self.measures.append(
            TurnMeasure(
                turn=index,
                wav=turn.path,
                reference=turn.reference,
                hypothesis=hypothesis,
                words=word_errors(turn.reference, hypothesis) if turn.reference else None,
                chars=char_errors(turn.reference, hypothesis) if turn.reference else None,
                latency_ms=None if ended is None else ended.understood_s * 1000,
                endpoint_ms=None if ended is None else ended.endpoint_s * 1000,
                processing_ms=None if ended is None else ended.processing_s * 1000,
                speech=bool(heard),
                timing=timing,
            )
        )
        if not heard:
            return [NoInput(seconds)]  # a clip without speech is a caller who said nothing
        if self.recognizer is None:
            return [FinalTranscript(turn.reference or "")]
        return list(finals)  # every final reaches the policy, even an empty one, as on a live call
