"""The caller's name from what the ASR heard: carrier phrases and fillers out, proper case, nonsense rejected."""

from __future__ import annotations

from collections.abc import Sequence

from callbot.dialogue.lexicon import Lexicon
from callbot.dialogue.numerals import is_number_word
from callbot.dialogue.text import words

MAX_NAME_WORDS = 6
MAX_SYLLABLE_LETTERS = 7  # the longest Vietnamese syllable ("nghiêng") has 7 letters


def after_carrier(tokens: Sequence[str], lexicon: Lexicon) -> list[str] | None:
    """The words after the first name carrier phrase ("tôi tên là X" -> X), or None without a carrier."""
    match = lexicon.name_carriers.first(tokens)
    return None if match is None else list(tokens[match.end :])


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


def parse_name(text: str, lexicon: Lexicon) -> str | None:
    """ "dạ tôi tên là nguyễn văn an ạ" -> "Nguyễn Văn An"; None for what cannot be a name."""
    tokens = words(text)
    if lexicon.dont_know.contains(tokens):
        return None
    carried = after_carrier(tokens, lexicon)
    name = clean_name(tokens if carried is None else carried, lexicon)
    if name is not None and carried is None and " " not in name:
        return None  # one bare word ("hi there" -> "There") is a greeting or noise, not a full name
    return name
