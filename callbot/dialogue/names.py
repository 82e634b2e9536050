"""The caller's name from the words after its carrier (see ``understanding.parse_name``): fillers out, proper
case, nonsense rejected."""

from __future__ import annotations

from collections.abc import Sequence

from callbot.dialogue.lexicon import Lexicon
from callbot.dialogue.numerals import is_number_word

MAX_NAME_WORDS = 6
MAX_SYLLABLE_LETTERS = 7  # the longest Vietnamese syllable ("nghiêng") has 7 letters


def _dedupe(tokens: Sequence[str]) -> list[str]:
    """Drop a word said twice in a row ("nguyễn nguyễn văn an"): callers restart after hesitating."""
    kept: list[str] = []
    for token in tokens:
        if not kept or kept[-1] != token:
            kept.append(token)
    return kept


def _proper_case(token: str) -> str:
    return "-".join(part[:1].upper() + part[1:] for part in token.split("-"))


def clean_name(tokens: Sequence[str], lexicon: Lexicon) -> str | None:
    tokens = lexicon.fillers.remove(tokens)
    end = lexicon.name_ends.first(tokens)
    if end is not None and end.start > 0:  # "nguyễn văn an ở phường láng": the name stops at "ở"
        tokens = tokens[: end.start]
    tokens = lexicon.politeness.strip_edges(tokens)
    tokens = _dedupe(tokens)
    if not tokens or len(tokens) > MAX_NAME_WORDS:
        return None
    if all(is_number_word(t, lexicon.locale) for t in tokens):  # "một hai ba" is digits, not "Một Hai Ba"
        return None
    for token in tokens:
        letters = token.replace("-", "").replace("'", "")
        if not letters.isalpha() or token in lexicon.not_name_words:
            return None
        if lexicon.locale == "vi" and len(letters) > MAX_SYLLABLE_LETTERS:
            return None
    return " ".join(_proper_case(t) for t in tokens)
