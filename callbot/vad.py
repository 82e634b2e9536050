"""Endpoint detection on webrtcvad: where a caller's turn starts and ends.

webrtcvad classifies each 20 ms frame as voiced or not. On top of that the detector adds:
- speech start after ``speech_start_ms`` of consecutive voiced frames (one noisy frame is not a turn),
- speech end after ``end_silence_ms`` without a voiced run (settable per question: callers reading out an
  address pause between groups, and cutting them off is the top complaint about voice bots),
- a hangover: inside a pause, isolated voiced frames (noise blips) do not restart the silence count; only a
  run of ``speech_start_ms`` voiced frames does, or short runs within 100 ms of the speech (a fading tail),
- an energy gate: a frame only counts as voiced when it is louder than the tracked noise floor by
  ``energy_margin_db`` (more when the noise itself fluctuates), which keeps webrtcvad's false alarms in steady noise (10 dB SNR) out of the turn,
- a warm-up: webrtcvad adapts to the line noise during its first ~100 ms and calls that noise speech, so
  frames before ``warmup_ms`` are fed to it but never counted,
- a no-input timer restarted by ``begin_turn`` and paused while the bot speaks,
- a barge-in signal when speech starts while the bot is speaking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import webrtcvad

from callbot.audio import FRAME_MS, AudioError, Frame
from callbot.config import Settings

VAD_RATES = (8000, 16000, 32000, 48000)
SPREAD_FACTOR = 2.5  # energy margin in units of the noise's mean fluctuation (tuned at 10 dB SNR)
TAIL_GAP_S = 0.1  # voiced frames this close to the last speech extend it even when the run is short


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """Speech began at ``at`` (start of its first voiced frame); detected ``speech_start_ms`` later."""

    at: float


@dataclass(frozen=True, slots=True)
class SpeechEnd:
    """A turn's speech ran from ``start`` to ``at`` (end of its last voiced frame)."""

    at: float
    start: float


@dataclass(frozen=True, slots=True)
class NoInputTimeout:
    """Nobody spoke for ``seconds`` after the turn began."""

    at: float
    seconds: float


@dataclass(frozen=True, slots=True)
class BargeIn:
    """The caller started speaking while the bot was speaking."""

    at: float


VadEvent = SpeechStarted | SpeechEnd | NoInputTimeout | BargeIn


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    aggressiveness: int = 2
    speech_start_ms: int = 60
    end_silence_ms: int = 600
    no_input_timeout_s: float = 8.0
    warmup_ms: int = 200
    energy_margin_db: float = 3.0  # minimum; widened by the noise's own fluctuation
    energy_gate: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> EndpointConfig:
        return cls(
            aggressiveness=settings.vad_aggressiveness,
            speech_start_ms=settings.speech_start_ms,
            end_silence_ms=settings.end_silence_ms,
            no_input_timeout_s=settings.no_input_timeout_s,
            warmup_ms=settings.vad_warmup_ms,
        )


def _frames_for(ms: float) -> int:
    return max(1, round(ms / FRAME_MS))


class NoiseFloor:
    """Tracks the line's noise level (quiet frames pull it down fast, loud ones lift it slowly) and how much
    noise frames fluctuate above it: pink or babble noise needs a wider margin than white noise."""

    def __init__(self) -> None:
        self.level_db: float | None = None
        self.spread_db = 1.0
        self._spread_samples = 0

    def margin_db(self, minimum: float) -> float:
        return max(minimum, SPREAD_FACTOR * self.spread_db)

    def update(self, level_db: float) -> float:
        if self.level_db is None:
            self.level_db = level_db
            return level_db
        if abs(level_db - self.level_db) < 10.0:  # only noise-like frames tell how the noise fluctuates
            self._spread_samples += 1
            weight = max(0.05, 1 / self._spread_samples)  # a running mean first, so the first 100 ms count
            self.spread_db = (1 - weight) * self.spread_db + weight * abs(level_db - self.level_db)
        if level_db < self.level_db:
            self.level_db = 0.7 * self.level_db + 0.3 * level_db
        else:
            self.level_db = 0.995 * self.level_db + 0.005 * level_db  # speech barely lifts the floor
        return self.level_db


def frame_level_db(frame: Frame) -> float:
    """Frame power in dB (mean removed: a DC offset on the line is not speech)."""
    samples = frame.samples().astype(np.float64)
    samples -= samples.mean()
    power = float(np.mean(samples * samples))
    return 10 * np.log10(power) if power > 1.0 else 0.0


class EndpointDetector:
    """Turns a stream of 20 ms frames (8 or 16 kHz) into speech start/end, no-input and barge-in events."""

    def __init__(self, config: EndpointConfig, rate: int) -> None:
        if rate not in VAD_RATES:
            raise AudioError(f"the endpoint detector needs 8, 16, 32 or 48 kHz audio, got {rate} Hz")
        self.config = config
        self.rate = rate
        self._vad = webrtcvad.Vad(config.aggressiveness)
        self._noise = NoiseFloor()
        self._start_frames = _frames_for(config.speech_start_ms)
        self._end_silence_ms = config.end_silence_ms
        self._no_input_timeout_s = config.no_input_timeout_s
        self._voiced_run = 0
        self._run_start = 0.0
        self.in_speech = False
        self.speech_start = 0.0
        self.last_voiced_end = 0.0
        self._bot_speaking = False
        self._listen_since: float | None = None  # None: no-input timer not running
        self._turn_pending = False
        self._clock = 0.0

    @classmethod
    def from_settings(cls, settings: Settings, rate: int) -> EndpointDetector:
        return cls(EndpointConfig.from_settings(settings), rate)

    @property
    def end_silence_ms(self) -> int:
        return self._end_silence_ms

    def begin_turn(self, end_silence_ms: int | None = None, no_input_timeout_s: float | None = None) -> None:
        """A question was asked: set its end-of-speech silence and (re)start the no-input timer."""
        self._end_silence_ms = end_silence_ms or self.config.end_silence_ms
        self._no_input_timeout_s = no_input_timeout_s or self.config.no_input_timeout_s
        self._turn_pending = True
        self._listen_since = None if self._bot_speaking else self._clock

    def set_bot_speaking(self, speaking: bool) -> None:
        self._bot_speaking = speaking
        if self._turn_pending:
            # the caller is not expected to answer while the question is still being spoken
            self._listen_since = None if speaking else self._clock

    def _voiced(self, frame: Frame) -> bool:
        """webrtcvad's verdict, gated by energy above the tracked noise floor."""
        vad_voiced = self._vad.is_speech(frame.pcm, frame.rate)
        level = frame_level_db(frame)
        floor = self._noise.level_db if self._noise.level_db is not None else self._noise.update(level)
        margin = self._noise.margin_db(self.config.energy_margin_db)
        loud = not self.config.energy_gate or level >= floor + margin
        if not (vad_voiced and loud):
            self._noise.update(level)
        return vad_voiced and loud and frame.start * 1000 >= self.config.warmup_ms

    def process(self, frame: Frame) -> list[VadEvent]:
        if frame.rate != self.rate:
            raise AudioError(f"endpoint detector runs at {self.rate} Hz, got a {frame.rate} Hz frame")
        self._clock = frame.end
        events: list[VadEvent] = []
        if self._voiced(frame):
            if self._voiced_run == 0:
                self._run_start = frame.start
            self._voiced_run += 1
            if self._voiced_run >= self._start_frames:
                if not self.in_speech:
                    events.extend(self._start(self._run_start))
                self.last_voiced_end = frame.end
            elif self.in_speech and frame.start - self.last_voiced_end <= TAIL_GAP_S:
                self.last_voiced_end = frame.end  # a word's fading tail: short runs close to the speech count
        else:
            self._voiced_run = 0
            if self.in_speech and (frame.end - self.last_voiced_end) * 1000 >= self._end_silence_ms:
                self.in_speech = False
                events.append(SpeechEnd(at=self.last_voiced_end, start=self.speech_start))
        events.extend(self._check_no_input(frame.end))
        return events

    def _start(self, at: float) -> list[VadEvent]:
        self.in_speech = True
        self.speech_start = at
        self._turn_pending = False
        self._listen_since = None
        started: list[VadEvent] = [SpeechStarted(at=at)]
        if self._bot_speaking:
            started.append(BargeIn(at=at))
        return started

    def _check_no_input(self, now: float) -> list[VadEvent]:
        if self._listen_since is None or self.in_speech:
            return []
        if now - self._listen_since >= self._no_input_timeout_s:
            self._listen_since = None
            self._turn_pending = False
            return [NoInputTimeout(at=now, seconds=self._no_input_timeout_s)]
        return []

    def end_speech(self) -> SpeechEnd:
        """The turn is over now (the end-of-turn decision heard the caller finish before the silence timer)."""
        self.in_speech = False
        self._voiced_run = 0
        return SpeechEnd(at=self.last_voiced_end, start=self.speech_start)

    def finish(self) -> list[VadEvent]:
        """End of stream: close an open turn at its last voiced frame."""
        if not self.in_speech:
            return []
        self.in_speech = False
        return [SpeechEnd(at=self.last_voiced_end, start=self.speech_start)]
