"""What every policy function receives besides the state: prompts, word lists, the units, limits; and one turn."""

from __future__ import annotations

from dataclasses import dataclass

from callbot.config import Settings
from callbot.dialogue.address import Gazetteer, ProvinceRef
from callbot.dialogue.lexicon import Lexicon
from callbot.dialogue.state import DialogueState
from callbot.dialogue.text import words
from callbot.prompts import PromptSet
from callbot.types import Decision

Step = tuple[DialogueState, list[Decision]]


@dataclass(frozen=True)
class DialogueConfig:
    max_reprompts: int
    confidence_accept: float
    confidence_confirm: float
    address_end_silence_ms: int
    turn_min_silence_ms: int
    turn_max_silence_ms: int
    address_max_silence_ms: int
    max_readbacks: int
    exhausted_action: str
    default_province: ProvinceRef | None

    @classmethod
    def from_settings(cls, settings: Settings, default_province: ProvinceRef | None) -> DialogueConfig:
        return cls(
            max_reprompts=settings.max_reprompts,
            confidence_accept=settings.confidence_accept,
            confidence_confirm=settings.confidence_confirm,
            address_end_silence_ms=settings.address_end_silence_ms,
            turn_min_silence_ms=settings.turn_min_silence_ms,
            turn_max_silence_ms=settings.turn_max_silence_ms,
            address_max_silence_ms=settings.address_max_silence_ms,
            max_readbacks=settings.max_readbacks,
            exhausted_action=settings.exhausted_action,
            default_province=default_province,
        )


@dataclass(frozen=True)
class PolicyContext:
    prompts: PromptSet
    lexicon: Lexicon
    gazetteer: Gazetteer
    config: DialogueConfig


@dataclass(frozen=True)
class Answer:
    """One caller turn as the question handlers see it."""

    text: str = ""
    digits: str | None = None
    confidence: float = 1.0
    clip: str | None = None

    @property
    def tokens(self) -> list[str]:
        return words(self.text)
