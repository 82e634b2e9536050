"""The caller's need: kept in their own words, classified into the hotline's branches with a priority."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from callbot.dialogue.lexicon import Lexicon
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
    priority = Priority.high if lexicon.high_priority.contains(tokens) else Priority.normal
    return NeedReading(" ".join(tokens), need_category(tokens, lexicon), priority)


def need_category(tokens: Sequence[str], lexicon: Lexicon) -> Category:
    """The first category of the precedence with a keyword in the need, else a fallback word's, else other
    ("cần thuốc cho người già" is medical, "không có tiền mua gạo" a food need: see needs.yaml)."""
    for table in (lexicon.need_keywords, lexicon.need_fallbacks):
        found = next(
            (name for name in lexicon.need_precedence if name in table and table[name].contains(tokens)), None
        )
        if found is not None:
            return Category(found)
    return Category.other
