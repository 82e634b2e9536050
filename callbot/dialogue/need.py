"""The caller's need: kept in their own words, classified into the hotline's branches with a priority."""

from __future__ import annotations

from dataclasses import dataclass

from callbot.dialogue.lexicon import NEED_CATEGORIES, Lexicon
from callbot.dialogue.text import words
from callbot.types import Category, Priority


@dataclass(frozen=True)
class NeedReading:
    text: str
    category: Category
    priority: Priority


def classify_need(text: str, lexicon: Lexicon) -> NeedReading | None:
    """None when nothing usable was said (only fillers, or "I don't know")."""
    tokens = lexicon.fillers.remove(words(text))
    content = lexicon.politeness.strip_edges(lexicon.need_carriers.remove(tokens))
    if not content or lexicon.dont_know.contains(tokens) and len(content) <= 3:
        return None
    if not lexicon.affirm.remove(lexicon.deny.remove(content)):  # "không", "vâng": an answer, not a need
        return None
    if lexicon.emergency.contains(tokens):
        return NeedReading(" ".join(tokens), Category.emergency, Priority.high)
    scores = {
        name: sum(len(m.phrase.split()) for m in lexicon.need_keywords[name].find_all(tokens))
        for name in NEED_CATEGORIES
    }
    best = max(NEED_CATEGORIES, key=lambda name: scores[name])  # ties: the order of NEED_CATEGORIES
    category = Category(best) if scores[best] > 0 else Category.other
    priority = Priority.high if lexicon.high_priority.contains(tokens) else Priority.normal
    return NeedReading(" ".join(tokens), category, priority)
