"""When the caller's turn is over: the one end-of-turn decision (``CALLBOT_TURN_DETECTOR=smart``).

Synchronous and clock-free: the Listener hands it every frame (stream time is the clock), the recognizer's
partials, and, while the caller is silent inside a turn, asks ``decide(silence)``. It answers with a
``TurnEnd`` ("end the turn now, because ...") or None (keep listening). The endpoint detector still ends any
turn at the question's ``max_silence_ms``, so holding is always bounded. Three signals:

- the question (``Ask.min_silence_ms`` / ``max_silence_ms``, set by the pure policy): no end before the minimum
  (except an emergency), always an end at the maximum;
- the text (``callbot.turn_text``): the words so far against what the question expects. Complete ends the turn
  at the minimum; incomplete (a trailing connector, an unfinished number, a name of one syllable) holds it to
  the maximum; an emergency phrase ends it at the first pause of ``check_ms``, whatever anything else says;
- the audio (``callbot.turn_model``, Smart Turn v3.2): when the text does not tell, the model hears the turn
  (from half a second before its speech to now, the last 8 s) once per pause, after ``check_ms`` of silence:
  complete ends the turn; otherwise the turn ends at the question's plain-timer silence (``Ask.end_silence_ms``),
  as it would without a model. The model's "incomplete" does not hold a turn to the maximum (only the words
  do): measured on espeak-ng Vietnamese at 8 kHz the model is at chance (AUC 0.48-0.54 telling finished
  answers from cut ones, against 0.82-0.89 on espeak English), and holding on its word sent the p95 end of
  turn to the maximum (1.8-2.5 s) without saving a single cut-off (scripts/bench_turns.py).

``CALLBOT_TURN_DETECTOR=timer`` builds none of this: the Listener ends turns on the plain silence timer, as
before.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from callbot.audio import FRAME_MS, Frame
from callbot.config import Settings
from callbot.dialogue.lexicon import Lexicon
from callbot.turn_text import AnswerText, Expectation, TextVerdict
from callbot.types import Ask

log = logging.getLogger(__name__)

PRE_SPEECH_S = 0.5  # the model hears this much before the speech began (as it was trained)
MODEL_WINDOW_S = 8.0

EndReason = Literal["text", "model", "timer", "emergency"]


class TurnModel(Protocol):
    """The audio signal: ``callbot.turn_model.SmartTurnModel`` (or a test double in unit tests)."""

    def probability(self, audio: np.ndarray, rate: int) -> float: ...


@dataclass(frozen=True, slots=True)
class EndOfTurnConfig:
    check_ms: int = 280  # silence before the model runs; also the earliest end of an emergency
    threshold: float = 0.5  # the model's probability of "complete" that ends a turn
    min_silence_ms: int = 280  # for an Ask that does not say
    max_silence_ms: int = 1800
    timer_ms: int = 600  # a turn the text does not settle, with no model

    @classmethod
    def from_settings(cls, settings: Settings) -> EndOfTurnConfig:
        return cls(
            check_ms=settings.turn_min_silence_ms,
            threshold=settings.turn_threshold,
            min_silence_ms=settings.turn_min_silence_ms,
            max_silence_ms=settings.turn_max_silence_ms,
            timer_ms=settings.end_silence_ms,
        )


@dataclass(frozen=True, slots=True)
class TurnEndDecision:
    """End the turn now. ``probability``: the model's, when it was asked during this pause."""

    reason: EndReason
    silence_ms: float
    text: TextVerdict
    probability: float | None = None


class EndOfTurn:
    """One call's end-of-turn decision (one per Listener). ``model`` None: no audio signal; ``text`` None:
    no text signal (a locale without turn-taking words)."""

    def __init__(self, config: EndOfTurnConfig, rate: int, model: TurnModel | None = None,
                 text: AnswerText | None = None) -> None:
        self.config = config
        self.rate = rate
        self.model = model
        self.text = text
        self._ask: Ask | None = None
        self._expect = Expectation("free")
        self._frames: deque[Frame] = deque(maxlen=round((MODEL_WINDOW_S + PRE_SPEECH_S) * 1000 / FRAME_MS) + 1)
        self._partial = ""
        self._verdict: tuple[str, TextVerdict] | None = None  # the last partial read, and what it said
        self._speech_start = 0.0
        self._pause: float | None = None  # last_voiced_end of the pause the model already heard
        self._pause_probability: float | None = None
        self.decisions: list[TurnEndDecision] = []  # every turn ended early, in order (figures, tests)

    # --- the question -------------------------------------------------------------------------------------
    def begin_turn(self, ask: Ask | None) -> None:
        self._ask = ask
        self._verdict = None
        self._expect = Expectation.of(ask, self.text.lexicon) if self.text is not None else Expectation("free")

    @property
    def min_silence_ms(self) -> int:
        return (self._ask.min_silence_ms if self._ask else None) or self.config.min_silence_ms

    @property
    def max_silence_ms(self) -> int:
        """The endpoint detector's own end of turn: nothing holds a turn longer."""
        return (self._ask.max_silence_ms if self._ask else None) or self.config.max_silence_ms

    @property
    def timer_ms(self) -> int:
        return (self._ask.end_silence_ms if self._ask else None) or self.config.timer_ms

    # --- what the Listener hears --------------------------------------------------------------------------
    def hear(self, frame: Frame) -> None:
        """Every frame of the call (the model's window reaches back before the speech)."""
        self._frames.append(frame)

    def speech_started(self, at: float) -> None:
        self._speech_start = at
        self._partial = ""
        self._pause = None
        self._pause_probability = None

    def partial(self, text: str) -> None:
        self._partial = text

    @property
    def verdict(self) -> TextVerdict:
        """What the words so far say about this question's answer (read once per new partial)."""
        if self.text is None:
            return TextVerdict.unknown
        if self._verdict is None or self._verdict[0] != self._partial:
            self._verdict = (self._partial, self.text.verdict(self._partial, self._expect))
        return self._verdict[1]

    # --- the decision -------------------------------------------------------------------------------------
    def decide(self, silence_s: float, last_voiced_end: float) -> TurnEndDecision | None:
        """The caller has been silent for ``silence_s`` inside a turn (since ``last_voiced_end``, stream
        seconds): end the turn now, or None to keep listening."""
        silence_ms = silence_s * 1000
        if silence_ms < self.config.check_ms:
            return None
        text = self.verdict
        if text is TextVerdict.emergency:
            return self._end("emergency", silence_ms, text)  # never held, by the model or by the minimum
        if silence_ms < self.min_silence_ms:
            return None
        if text is TextVerdict.complete:
            return self._end("text", silence_ms, text)
        if text is TextVerdict.incomplete:
            return None  # held: the detector ends it at the maximum if the caller says nothing more
        if self.model is None:
            return self._end("timer", silence_ms, text) if silence_ms >= self.timer_ms else None
        if self._pause != last_voiced_end:  # once per pause: later silence adds nothing the model weighs well
            self._pause = last_voiced_end
            self._pause_probability = self.model.probability(self._turn_audio(), self.rate)
        probability = self._pause_probability
        if probability is not None and probability >= self.config.threshold:
            return self._end("model", silence_ms, text, probability)
        if silence_ms >= self.timer_ms:
            return self._end("timer", silence_ms, text, probability)  # words and model undecided: the timer
        return None

    def _end(self, reason: EndReason, silence_ms: float, text: TextVerdict,
             probability: float | None = None) -> TurnEndDecision:
        decision = TurnEndDecision(reason, silence_ms, text, probability)
        self.decisions.append(decision)
        return decision

    def _turn_audio(self) -> np.ndarray:
        """The turn so far as float samples: from ``PRE_SPEECH_S`` before its speech to now."""
        since = self._speech_start - PRE_SPEECH_S - 1e-9
        pcm = b"".join(frame.pcm for frame in self._frames if frame.start >= since)
        return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


class EndOfTurnFactory:
    """Builds each call's ``EndOfTurn`` around what the process shares: the turn model (one onnxruntime
    session) and each locale's text signal. ``for_call`` returns None in timer mode."""

    def __init__(self, settings: Settings, model: TurnModel | None) -> None:
        self.settings = settings
        self.config = EndOfTurnConfig.from_settings(settings)
        self.model = model
        self._texts: dict[str, AnswerText] = {}

    @property
    def smart(self) -> bool:
        return self.settings.turn_detector == "smart"

    def text_for(self, lexicon: Lexicon) -> AnswerText:
        text = self._texts.get(lexicon.locale)
        if text is None:
            text = self._texts[lexicon.locale] = AnswerText(lexicon)
        return text

    def for_call(self, lexicon: Lexicon | None, rate: int) -> EndOfTurn | None:
        if not self.smart:
            return None
        return EndOfTurn(self.config, rate, self.model, self.text_for(lexicon) if lexicon is not None else None)


def load_turn_model(settings: Settings) -> TurnModel | None:
    """The process's turn model in smart mode; None in timer mode, or (logged) when it is not installed: the
    smart end of turn then runs on the text signal and the plain timer."""
    if settings.turn_detector != "smart":
        return None
    from callbot.model_manager import ModelManager, ModelNotFound
    from callbot.turn_model import SmartTurnModel, TurnModelError

    try:
        return SmartTurnModel(ModelManager(settings).resolve(settings.turn_model))
    except (ModelNotFound, TurnModelError) as exc:
        log.warning("no end-of-turn model (%s): turns end on the caller's words and the plain timer", exc)
        return None
