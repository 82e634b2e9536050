"""Answering-machine detection from the VAD after answer: a person says a short "alô?" and waits; a voicemail
greeting talks on without a pause. Pure and synchronous: 20 ms frames in (stream time), a verdict out.

- no speech within ``initial_silence_ms`` of the answer: a person who waits to hear who calls;
- speech that pauses (``pause_ms`` of silence) before ``greeting_ms``: a person;
- speech going on for ``greeting_ms`` without such a pause: a machine (decided at that moment).
A keypad digit means a person at once (the session tells the detector nothing; it simply stops asking it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from callbot.audio import Frame
from callbot.config import Settings
from callbot.vad import EndpointConfig, EndpointDetector, SpeechEnd, SpeechStarted

NEVER_S = 3600.0  # the detector's own no-input timer is not used


class Answerer(StrEnum):
    person = "person"
    machine = "machine"


@dataclass(frozen=True, slots=True)
class AmdConfig:
    initial_silence_ms: int = 2500
    greeting_ms: int = 2500
    pause_ms: int = 800

    @classmethod
    def from_settings(cls, settings: Settings) -> AmdConfig:
        return cls(settings.amd_initial_silence_ms, settings.amd_greeting_ms, settings.amd_pause_ms)


@dataclass(frozen=True, slots=True)
class AmdVerdict:
    answerer: Answerer
    at: float  # stream seconds when it was decided
    greeting_s: float  # how long the callee spoke before the verdict (0: silent)
    reason: str


class AnsweringMachineDetector:
    def __init__(self, config: AmdConfig, settings: Settings, rate: int) -> None:
        self.config = config
        endpoint = EndpointConfig.from_settings(settings)
        self._vad = EndpointDetector(
            EndpointConfig(aggressiveness=endpoint.aggressiveness, speech_start_ms=endpoint.speech_start_ms,
                           end_silence_ms=config.pause_ms, no_input_timeout_s=NEVER_S, warmup_ms=endpoint.warmup_ms),
            rate,
        )
        self._speech_start: float | None = None
        self.verdict: AmdVerdict | None = None

    def feed(self, frame: Frame) -> AmdVerdict | None:
        """One frame of the callee's audio; the verdict once there is one (then every later call returns it)."""
        if self.verdict is not None:
            return self.verdict
        for event in self._vad.process(frame):
            if isinstance(event, SpeechStarted) and self._speech_start is None:
                self._speech_start = event.at
            elif isinstance(event, SpeechEnd):
                spoken = event.at - event.start
                return self._decide(Answerer.person, frame.end, spoken, f"a {spoken:.1f} s greeting, then a pause")
        if self._speech_start is not None and frame.end - self._speech_start >= self.config.greeting_ms / 1000:
            spoken = frame.end - self._speech_start
            return self._decide(Answerer.machine, frame.end, spoken, f"{spoken:.1f} s of speech without a pause")
        return self.elapsed(frame.end)

    def elapsed(self, seconds: float) -> AmdVerdict | None:
        """Time since the answer (frames or not: a callee may send no RTP at all while silent)."""
        if self.verdict is None and self._speech_start is None and seconds >= self.config.initial_silence_ms / 1000:
            return self._decide(Answerer.person, seconds, 0.0, "silent after answering")
        return self.verdict

    def _decide(self, answerer: Answerer, at: float, spoken: float, reason: str) -> AmdVerdict:
        self.verdict = AmdVerdict(answerer, at, round(spoken, 2), reason)
        return self.verdict
