"""What a caller's turn means beyond a slot value: a request for a person, an emergency, "repeat",
yes/no, naming a slot or correcting one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from callbot.dialogue.lexicon import Lexicon
from callbot.dialogue.text import words
from callbot.types import Slot

YesNo = Literal["yes", "no"]


def wants_operator(tokens: Sequence[str], lexicon: Lexicon) -> bool:
    return lexicon.operator.contains(tokens)


def is_emergency(tokens: Sequence[str], lexicon: Lexicon) -> bool:
    return lexicon.emergency.contains(tokens)


def _only(tokens: Sequence[str], phrases_removed: list[str], lexicon: Lexicon) -> bool:
    """Nothing is left after removing the phrase and fillers/politeness: the turn says only that."""
    rest = lexicon.politeness.remove(lexicon.fillers.remove(phrases_removed))
    return len(rest) == 0 and len(phrases_removed) < len(tokens)


def wants_repeat(tokens: Sequence[str], lexicon: Lexicon) -> bool:
    return _only(tokens, lexicon.repeat.remove(tokens), lexicon)


def yes_or_no(tokens: Sequence[str], lexicon: Lexicon) -> YesNo | None:
    """ "No" phrases are checked first: "không đúng" contains the "yes" word "đúng"."""
    if lexicon.deny.contains(tokens):
        return "no"
    if lexicon.affirm.contains(tokens):
        return "yes"
    return None


def dtmf_action(digits: str, lexicon: Lexicon) -> str | None:
    """The keypad action a digit stands for ("yes", "no", "operator", "repeat"), if any."""
    return next((action for action, digit in lexicon.dtmf.items() if digit == digits), None)


@dataclass(frozen=True)
class Correction:
    slot: Slot
    value_words: tuple[str, ...]  # empty: the caller only said which part is wrong
    slot_only: bool = False  # the turn was nothing but the part's name ("địa chỉ", "the address")
    said: tuple[
        str, ...
    ] = ()  # the words from the correction phrase on: a need is kept in the caller's words


def find_correction(text: str, lexicon: Lexicon) -> Correction | None:
    """ "không, tên tôi là X" -> (name, X); "địa chỉ sai rồi" -> (address, ()); None if no slot is named."""
    tokens = lexicon.fillers.remove(words(text))
    best: tuple[int, Correction] | None = None
    for slot in Slot:
        match = lexicon.corrections[slot].first(tokens)
        if match:
            value = lexicon.wrong.remove(tokens[match.end :])
            value = lexicon.politeness.strip_edges(value)
            if best is None or match.start < best[0]:
                best = (match.start, Correction(slot, tuple(value), said=tuple(tokens[match.start :])))
    if best:
        return best[1]
    for slot in Slot:
        if lexicon.slot_words[slot].contains(tokens):
            rest = lexicon.politeness.remove(lexicon.slot_words[slot].remove(tokens))
            return Correction(slot, (), slot_only=not rest)
    return None


def named_slot(text: str, digits: str | None, lexicon: Lexicon) -> Slot | None:
    """The slot a caller names when asked which part is wrong (by word or keypad 1/2/3)."""
    if digits is not None:
        return next((slot for slot in Slot if lexicon.dtmf.get(slot) == digits), None)
    tokens = words(text)
    return next((slot for slot in Slot if lexicon.slot_words[slot].contains(tokens)), None)
