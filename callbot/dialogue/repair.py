"""Self-repair inside one slot's words: "tên tôi là hùng à không hưng", "số hai mốt nhầm số hai bảy",
"ann lee sorry anne with an e", and the contrast "tôi cần thuốc chứ không phải gạo" (keep what comes first).

A repair keeps what follows its marker. What came before survives only where the repair plainly replaces a
part of it: an address marker said again ("... phường A à không phường B" keeps the street before "phường A"),
a number after a number ("số mười hai ngõ năm à không bảy" keeps "số mười hai ngõ"), or a single name word
that sounds like one said before ("nguyễn văn hùng à không hưng"). The words repaired away never survive.
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher

from callbot.dialogue.lexicon import Lexicon
from callbot.dialogue.numerals import is_number_word
from callbot.dialogue.text import PhraseSet, fold

REPAIR = "<repair>"  # stands in for a repair marker once found (words() can never produce it)
CONTRAST = "<contrast>"
NAME_WORD_LIKENESS = 0.6  # "ann" ~ "anne" 0.86, "hùng" ~ "hưng" 1.0 (folded), "jon" ~ "john" 0.86


def mark_repairs(tokens: Sequence[str], lexicon: Lexicon) -> list[str]:
    """Replace each repair and contrast marker by a sentinel, unless a longer everyday phrase covers it
    ("chuyển nhầm tiền", "à không có gì ăn", "sorry to bother you")."""
    masked = {i for m in lexicon.repair_exceptions.find_all(tokens) for i in range(m.start, m.end)}
    marked: list[str] = []
    index = 0
    while index < len(tokens):
        hit = _marker_at(tokens, index, lexicon.contrasts, CONTRAST) or _marker_at(
            tokens, index, lexicon.repairs, REPAIR
        )
        if hit and not masked.intersection(range(index, hit[0])):
            marked.append(hit[1])
            index = hit[0]
        else:
            marked.append(tokens[index])
            index += 1
    return marked


def _marker_at(
    tokens: Sequence[str], index: int, phrases: PhraseSet, sentinel: str
) -> tuple[int, str] | None:
    match = phrases.match_at(tokens, index)
    return (match.end, sentinel) if match else None


def has_trailing_repair(tokens: Sequence[str], lexicon: Lexicon) -> bool:
    """ "tôi cần gạo à không" + a new need: the words before the marker are taken back entirely."""
    content = lexicon.politeness.strip_edges([t for t in tokens if t != CONTRAST])
    return bool(content) and content[-1] == REPAIR


def repaired(tokens: Sequence[str], slot: str, lexicon: Lexicon) -> list[str]:
    """The slot's words with every repair applied left to right and a contrast's second half dropped."""
    words = list(tokens)
    if CONTRAST in words:
        words = words[: words.index(CONTRAST)]
    while REPAIR in words:
        cut = words.index(REPAIR)
        before = lexicon.politeness.strip_edges(words[:cut])
        after = lexicon.politeness.strip_edges(words[cut + 1 :])
        if not after or not before:
            words = before + words[cut + 1 :] if not after else words[cut + 1 :]
            continue
        head = after[: after.index(REPAIR)] if REPAIR in after else after
        rest = after[len(head) :]
        words = _splice(before, head, slot, lexicon) + rest
    return words


def _splice(before: list[str], after: list[str], slot: str, lexicon: Lexicon) -> list[str]:
    if slot == "name":
        return _splice_name(before, after, lexicon)
    if slot == "address":
        return _splice_address(before, after, lexicon)
    return after


def _splice_name(before: list[str], after: list[str], lexicon: Lexicon) -> list[str]:
    end = lexicon.name_ends.first(after)
    core = after[: end.start] if end is not None and end.start > 0 else after  # "anne with an e" -> "anne"
    if not core or len(core) >= len(before):
        return after
    folded = [fold(w) for w in before]
    if fold(core[0]) in folded:  # "jenny wong, no, it's jenny huang": the name again from that word on
        return before[: folded.index(fold(core[0]))] + after
    if len(core) == 1:  # "nguyễn văn hùng à không hưng": the one word that sounds like it (same first letter)
        said = fold(core[0])
        likeness = [SequenceMatcher(None, w, said).ratio() if w[:1] == said[:1] else 0.0 for w in folded]
        best = max(range(len(before)), key=lambda i: likeness[i])
        if likeness[best] >= NAME_WORD_LIKENESS:
            return before[:best] + core + before[best + 1 :]
    return after


def _marker_kind(tokens: Sequence[str], index: int, lexicon: Lexicon) -> tuple[str, int] | None:
    markers = lexicon.admin
    for kind, phrases in (
        ("ward", markers.ward),
        ("district", markers.district),
        ("province", markers.province),
    ):
        match = phrases.match_at(tokens, index)
        if match:
            return kind, match.end
    match = markers.street.match_at(tokens, index)
    return ("street " + match.phrase, match.end) if match else None  # a street marker repairs the same word


def _splice_address(before: list[str], after: list[str], lexicon: Lexicon) -> list[str]:
    first = _marker_kind(after, 0, lexicon)
    if first is not None:
        starts = [i for i in range(len(before)) if (_marker_kind(before, i, lexicon) or ("",))[0] == first[0]]
        return before[: starts[-1]] + after if starts else after
    if is_number_word(after[0], lexicon.locale) or after[0].isdigit():
        runs = [
            i
            for i, w in enumerate(before)
            if is_number_word(w, lexicon.locale)
            and (i == 0 or not is_number_word(before[i - 1], lexicon.locale))
        ]
        return before[: runs[-1]] + after if runs else after
    return after
