"""What every call of a process shares, loaded once: ASR models, voices, dialogue data, the ticket store."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from callbot.asr import Recognizer, VoskModels, VoskRecognizer
from callbot.call.stats import LatencyHistogram
from callbot.config import Settings
from callbot.dialogue import DialogueResources
from callbot.model_manager import ModelManager, ModelNotFound
from callbot.listener import Listener
from callbot.recognizer_pool import RecognizerPool
from callbot.store import Store, open_store
from callbot.tts import SpeechOutput
from callbot.turn_end import EndOfTurnFactory, load_turn_model

log = logging.getLogger(__name__)

RecognizerFactory = Callable[[str, int], Recognizer]  # (locale, call rate) -> a fresh recognizer for one call


@dataclass
class SharedResources:
    """Loaded once per process and shared by every call. ``recognizer_factory`` replaces Vosk as the maker of
    every call's recognizer (the one injection point for a recognizer double at the ASR edge)."""

    settings: Settings
    speech: SpeechOutput
    store: Store
    vosk_models: VoskModels
    asr_model_paths: dict[str, Path] = field(default_factory=dict)  # a locale missing here runs record-only
    dialogue: DialogueResources | None = None  # None: built from the settings
    recognizer_factory: RecognizerFactory | None = None
    turn_latencies: LatencyHistogram = field(default_factory=LatencyHistogram)  # every call's, for /metrics
    end_of_turn: EndOfTurnFactory | None = None  # None: built from the settings (loads the turn model)
    recognizers: RecognizerPool | None = None  # None: built from the settings (warm recognizers, or none)

    def __post_init__(self) -> None:
        if self.recognizers is None and self.settings.asr_warm_recognizers:
            self.recognizers = RecognizerPool.from_settings(self.settings, self.vosk_models)
        if self.dialogue is None:
            self.dialogue = DialogueResources(self.settings)
        if self.end_of_turn is None:
            self.end_of_turn = EndOfTurnFactory(self.settings, load_turn_model(self.settings))

    @property
    def dialogue_data(self) -> DialogueResources:
        assert self.dialogue is not None  # set in __post_init__
        return self.dialogue

    @classmethod
    def load(
        cls, settings: Settings, locales: tuple[str, ...] | None = None,
        vosk_models: VoskModels | None = None, recognizer_factory: RecognizerFactory | None = None,
    ) -> SharedResources:
        """Resolve and load each locale's ASR model (or note record-only), warm the voices and the dialogue's
        data, open the store: the first caller must not wait seconds for any of it."""
        manager = ModelManager(settings)
        resources = cls(settings, SpeechOutput(settings), open_store(settings),
                        vosk_models or VoskModels(), recognizer_factory=recognizer_factory)
        for locale in locales or (settings.locale,):
            if recognizer_factory is None:
                try:
                    path = manager.asr_model_path(locale)
                except ModelNotFound as exc:
                    log.warning("no speech recognition for locale %s, answering in record-only mode: %s",
                                locale, exc)
                else:
                    resources.vosk_models.get(path)
                    resources.asr_model_paths[locale] = path
            resources.speech.warm(locale, settings.call_sample_rate)
            resources.dialogue_data.context(locale)
        return resources

    def record_only(self, locale: str) -> bool:
        return self.recognizer_factory is None and locale not in self.asr_model_paths

    def listener(self, locale: str, rate: int) -> Listener:
        """One call's Listener: its recognizer (None: record-only) and, in smart mode, its end-of-turn
        decision on the process's turn model and the locale's turn-taking words."""
        assert self.end_of_turn is not None  # set in __post_init__
        lexicon = self.dialogue_data.locale(locale).lexicon
        return Listener(self.settings, self.recognizer(locale, rate), rate, self.end_of_turn.for_call(lexicon, rate))

    def recognizer(self, locale: str, rate: int) -> Recognizer | None:
        """A recognizer for one call at ``rate`` (None = record-only: no model for this locale): a warm one
        from the pool, or a new one with ``asr_warm_recognizers`` off. Vosk runs at
        ``settings.asr_sample_rate``: the Listener resamples the call's audio to its rate. Give it back with
        ``release_recognizer`` when the call ends."""
        if self.recognizer_factory is not None:
            return self.recognizer_factory(locale, rate)
        path = self.asr_model_paths.get(locale)
        if path is None:
            return None
        if self.recognizers is not None:
            return self.recognizers.acquire(path, self.settings.asr_sample_rate)
        return VoskRecognizer(self.vosk_models.get(path), self.settings.asr_sample_rate)

    def release_recognizer(self, recognizer: Recognizer | None) -> None:
        """The call is over: its recognizer goes back to the pool (kept warm, or dropped over the cap)."""
        if self.recognizers is not None and isinstance(recognizer, VoskRecognizer):
            self.recognizers.release(recognizer)
