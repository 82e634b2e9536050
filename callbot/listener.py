"""The Listener: one per call. Endpoint detection gates a streaming recognizer.

Only speech segments plus ``asr_padding_ms`` of audio on each side reach the recognizer, so ASR cost follows
talk time, not call time. Frames arrive at the call rate (8 or 16 kHz) and are resampled to the recognizer's
rate. Decoding happens inside ``feed`` on the caller's thread (the call's worker), never on a media callback.
The same class runs live calls, ``callbot replay`` and ``callbot eval``.

With an ``EndOfTurn`` (``CALLBOT_TURN_DETECTOR=smart``) a turn ends when that decision says the caller is done
(asked on every silent frame inside a turn, fed every frame and partial); the detector's own silence timer is
then set to the question's maximum. Without one, turns end on the detector's timer alone, as before.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from callbot.audio import FRAME_MS, Frame, StreamResampler
from callbot.config import Settings
from callbot.types import Ask, Transcript
from callbot.vad import BargeIn, EndpointDetector, NoInputTimeout, SpeechEnd, SpeechStarted

__all__ = [  # the VAD's own events are part of the Listener's contract
    "BargeIn", "Final", "Listener", "ListenerEvent", "ListenerStats", "NoInputTimeout", "Partial", "SpeechStarted",
]

if TYPE_CHECKING:
    from callbot.asr import Recognizer
    from callbot.turn_end import EndOfTurn


@dataclass(frozen=True, slots=True)
class Partial:
    at: float
    text: str


@dataclass(frozen=True, slots=True)
class Final:
    """A finished turn: its transcript (empty text when record-only), the clip at the call rate (speech plus
    padding), where the speech ended (stream seconds) and when decoding finished (``time.monotonic()``)."""

    at: float
    transcript: Transcript
    audio: bytes
    speech_end: float
    decoded_at: float


ListenerEvent = SpeechStarted | Partial | Final | NoInputTimeout | BargeIn


@dataclass(slots=True)
class ListenerStats:
    """How much of the call reached the recognizer (the VAD gating's saving)."""

    stream_seconds: float = 0.0
    asr_seconds: float = 0.0  # call-rate audio fed to the recognizer
    segments: int = 0

    @property
    def asr_fraction(self) -> float:
        return self.asr_seconds / self.stream_seconds if self.stream_seconds else 0.0


class Listener:
    def __init__(self, settings: Settings, recognizer: Recognizer | None, rate: int,
                 end_of_turn: EndOfTurn | None = None) -> None:
        self.settings = settings
        self.recognizer = recognizer
        self.rate = rate
        self.end_of_turn = end_of_turn
        self.detector = EndpointDetector.from_settings(settings, rate)
        self.stats = ListenerStats()
        self._padding_frames = max(0, settings.asr_padding_ms // FRAME_MS)
        start_frames = max(1, settings.speech_start_ms // FRAME_MS)
        # frames before the detector confirms speech: its confirmation window plus the leading padding
        self._pre_speech: deque[Frame] = deque(maxlen=self._padding_frames + start_frames + 1)
        self._held: list[Frame] = []  # silence inside a turn, fed only if the caller speaks again
        self._segment: list[Frame] = []  # frames of the current turn sent to the recognizer
        self._resampler: StreamResampler | None = None
        self._phrases_pending = False  # a new question's phrases wait until the current utterance is decoded
        self._next_phrases: tuple[str, ...] | None = None
        self._clock = 0.0

    # --- control from the dialogue side ---------------------------------------------------------------
    def begin_turn(self, ask: Ask | None) -> None:
        """A question was asked: its end silence, its phrase list (None = free speech), a new no-input timer."""
        end_silence_ms = ask.end_silence_ms if ask else None
        if self.end_of_turn is not None:
            self.end_of_turn.begin_turn(ask)
            end_silence_ms = self.end_of_turn.max_silence_ms  # the smart decision ends turns sooner
        self.detector.begin_turn(
            end_silence_ms=end_silence_ms,
            no_input_timeout_s=ask.no_input_timeout_s if ask else None,
        )
        phrases = ask.phrases if ask else None
        if self.detector.in_speech:  # never swap the grammar under an utterance being decoded
            self._phrases_pending, self._next_phrases = True, phrases
        else:
            self._apply_phrases(phrases)

    def set_bot_speaking(self, speaking: bool) -> None:
        self.detector.set_bot_speaking(speaking)

    # --- audio --------------------------------------------------------------------------------------------
    def feed(self, frame: Frame) -> list[ListenerEvent]:
        self._clock = frame.end
        self.stats.stream_seconds += frame.duration
        events: list[ListenerEvent] = []
        was_in_speech = self.detector.in_speech
        vad_events = self.detector.process(frame)
        if was_in_speech and self.detector.in_speech:
            events.extend(self._continue_segment(frame))
        else:
            self._pre_speech.append(frame)
        for event in vad_events:
            if isinstance(event, SpeechEnd):
                events.append(self._close_segment(event))
                continue
            events.append(event)  # SpeechStarted, BargeIn and NoInputTimeout pass through as they are
            if isinstance(event, SpeechStarted):
                events.extend(self._open_segment(event.at))
        if self.end_of_turn is not None:
            events.extend(self._decide_end(frame, events))
        return events

    def _decide_end(self, frame: Frame, events: list[ListenerEvent]) -> list[ListenerEvent]:
        """Tell the end-of-turn decision what was heard; inside a pause, ask it whether the turn is over."""
        assert self.end_of_turn is not None
        self.end_of_turn.hear(frame)
        for event in events:
            if isinstance(event, SpeechStarted):
                self.end_of_turn.speech_started(event.at)
            elif isinstance(event, Partial):
                self.end_of_turn.partial(event.text)
        silence = frame.end - self.detector.last_voiced_end
        if not self.detector.in_speech or silence <= 0:
            return []
        if self.end_of_turn.decide(silence, self.detector.last_voiced_end) is None:
            return []
        return [self._close_segment(self.detector.end_speech())]

    def finish(self) -> list[ListenerEvent]:
        """End of the stream (hang-up or end of file): an open turn is decoded and returned."""
        return [self._close_segment(event) for event in self.detector.finish() if isinstance(event, SpeechEnd)]

    # --- segments ---------------------------------------------------------------------------------------
    def _open_segment(self, speech_start: float) -> list[ListenerEvent]:
        padding_start = speech_start - self._padding_frames * FRAME_MS / 1000 - 1e-9
        leading = [frame for frame in self._pre_speech if frame.start >= padding_start]
        self._pre_speech.clear()
        self._segment = []
        self._held = []
        if self.recognizer is not None:
            self._resampler = StreamResampler(self.rate, self.recognizer.sample_rate)
        return self._send(leading)

    def _continue_segment(self, frame: Frame) -> list[ListenerEvent]:
        silent_for = frame.end - self.detector.last_voiced_end
        if silent_for * 1000 <= self.settings.asr_padding_ms:
            return self._send([*self._held, frame])
        self._held.append(frame)  # a pause longer than the padding: wait to see whether speech resumes
        return []

    def _send(self, frames: list[Frame]) -> list[ListenerEvent]:
        self._held = []
        if not frames:
            return []
        self._segment.extend(frames)
        self.stats.asr_seconds += len(frames) * FRAME_MS / 1000
        if self.recognizer is None or self._resampler is None:
            return []
        pcm = self._resampler.process(b"".join(frame.pcm for frame in frames))
        partial = self.recognizer.accept(pcm)
        return [Partial(at=frames[-1].end, text=partial)] if partial else []

    def _close_segment(self, end: SpeechEnd) -> Final:
        audio = b"".join(frame.pcm for frame in self._segment)
        offset = self._segment[0].start if self._segment else end.start
        self.stats.segments += 1
        if self.recognizer is not None and self._resampler is not None:
            self.recognizer.accept(self._resampler.process(b"", last=True))  # the resampler's delayed tail
            transcript = self.recognizer.final(offset)
        else:
            transcript = Transcript(text="", start=end.start, end=end.at, confidence=0.0)
        self._segment = []
        self._held = []
        self._resampler = None
        if self._phrases_pending:
            self._apply_phrases(self._next_phrases)
            self._phrases_pending = False
        return Final(
            at=self._clock, transcript=transcript, audio=audio, speech_end=end.at, decoded_at=time.monotonic()
        )

    def _apply_phrases(self, phrases: tuple[str, ...] | None) -> None:
        if self.recognizer is not None:
            self.recognizer.set_phrases(phrases)
