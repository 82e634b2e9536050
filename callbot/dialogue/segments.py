"""Cutting one caller turn into slot segments at cue phrases, whatever question was asked.

"tôi là nguyễn thị hoa ở số mười lăm ngõ tám phường kim liên nhà tôi cần hỗ trợ gạo" becomes
name("nguyễn thị hoa") · address("số mười lăm ngõ tám phường kim liên") · need("nhà tôi cần hỗ trợ gạo").

The words before the first cue (the lead) answer the question asked. Cues come from the lexicon in three
strengths: ``strong`` phrases name the slot ("tôi tên là", "nhà tôi ở", "tôi cần", "giấu tên") and may replace a
value given earlier; ``weak`` ones introduce it ("tôi là", "ở" before an address marker, "con tôi bị");
``bare`` ones are address markers said alone ("phường", "số"). A weak or bare cue of the segment's own slot
is part of it (the "phường" inside an address); inside a need, a name introduction or an address marker is
part of the need ("bà nội tôi là người già", "gạo cho xóm").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from callbot.dialogue.lexicon import Lexicon
from callbot.dialogue.numerals import is_number_word
from callbot.dialogue.repair import has_trailing_repair, mark_repairs, repaired
from callbot.dialogue.text import PhraseSet, words

CueStrength = Literal["lead", "bare", "weak", "strong"]
STRENGTH_ORDER: dict[str, int] = {"lead": 0, "bare": 1, "weak": 2, "strong": 3}
IsPlace = Callable[[Sequence[str], int], bool]  # a ward or province name starts at this word


@dataclass(frozen=True)
class Segment:
    slot: str  # name | address | need | role | anonymous
    cue: CueStrength
    head: tuple[str, ...]  # the cue as said ("tôi cần", "nhà tôi ở"); empty for the lead
    words: tuple[str, ...]  # what follows the cue, repairs applied
    index: int  # order in the turn

    @property
    def said(self) -> tuple[str, ...]:
        return self.head + self.words


@dataclass(frozen=True)
class _Cue:
    start: int
    end: int
    slot: str
    strength: CueStrength


def cut_segments(
    text: str, lexicon: Lexicon, lead_slot: str | None, is_place: IsPlace | None = None
) -> list[Segment]:
    """The turn's segments in order; the lead is labelled ``lead_slot`` (None: the lead is dropped)."""
    tokens = lexicon.fillers.remove(mark_repairs(words(text), lexicon))
    anonymity = {m.start: m for m in lexicon.anonymous.find_all(tokens)}
    blocked = {i for m in anonymity.values() for i in range(m.start, m.end)}
    raw: list[tuple[_Cue | None, list[str]]] = [(None, [])]
    slot = lead_slot
    index = 0
    while index < len(tokens):
        cue: _Cue | None
        if index in anonymity:
            cue = _Cue(index, anonymity[index].end, "anonymous", "strong")
        else:
            cue = _cue_at(tokens, index, lexicon, is_place)
            if cue is not None and blocked.intersection(range(cue.start, cue.end)):
                cue = None  # "tôi xin giấu tên": the anonymity phrase wins over the carrier "tôi xin"
        if (
            cue is not None
            and slot == "address"
            and cue.strength != "strong"
            and is_place
            and is_place(tokens, index)
        ):
            cue = None  # "xã cần giờ": a place name, not the need word "cần"
        current = raw[-1][0]
        if cue is not None and current is not None and not raw[-1][1] and _same_carrier(current, cue):
            raw[-1] = (_Cue(current.start, cue.end, cue.slot, "strong"), [])
            index = cue.end
        elif cue is not None and not (current is not None and _absorbed(cue, slot)):
            raw.append((cue, []))
            slot = cue.slot
            index = cue.end
        else:
            end = cue.end if cue is not None else index + 1
            raw[-1][1].extend(tokens[index:end])
            index = end
    return _finish(raw, tokens, lexicon, lead_slot)


def _finish(
    raw: list[tuple[_Cue | None, list[str]]], tokens: list[str], lexicon: Lexicon, lead_slot: str | None
) -> list[Segment]:
    if len(raw) > 1 and (joined := raw[1][0]) is not None and _joins_lead(joined, lead_slot):
        content = raw.pop(1)[1]  # "mười hai" + "ngõ ba ...", "nhà tôi thì" + "bị ...": one answer
        raw[0][1].extend(tokens[joined.start : joined.end] + content)
    segments: list[Segment] = []
    for position, (cue, content) in enumerate(raw):
        slot = cue.slot if cue else lead_slot
        if slot is None or (cue is None and not content):
            continue
        following = raw[position + 1][0] if position + 1 < len(raw) else None
        if following is not None and following.slot == slot and has_trailing_repair(content, lexicon):
            continue  # "tôi cần gạo à không tôi cần thuốc": the first need is taken back
        head = tuple(tokens[cue.start : cue.end]) if cue else ()
        body = tuple(repaired(content, slot, lexicon))
        segments.append(Segment(slot, cue.strength if cue else "lead", head, body, len(segments)))
    return segments


def _same_carrier(current: _Cue, cue: _Cue) -> bool:
    """ "tui cần" + "xin hỗ trợ", "tôi ở" + "địa chỉ": two carriers in a row introduce one value."""
    return cue.slot == current.slot and cue.strength == "strong"


def _joins_lead(cue: _Cue, lead_slot: str | None) -> bool:
    """A cue right after the lead that continues the answer: any need cue ("thuốc huyết áp" + "tôi cần mua"),
    a weak address cue ("mười hai" + "ngõ ba"); never a name cue ("dạ" + "tôi là")."""
    if cue.slot != lead_slot:
        return False
    return lead_slot == "need" or (lead_slot == "address" and cue.strength != "strong")


def _absorbed(cue: _Cue, slot: str | None) -> bool:
    """A weak or bare cue that belongs to the segment being read (once it has words) does not start a new one."""
    if cue.strength == "strong":
        return False
    if cue.slot == slot:
        return True
    if slot == "need":  # "bà nội tôi là người già", "gạo cho cả xóm": still the need
        return (cue.slot, cue.strength) in (("name", "weak"), ("address", "bare"))
    return slot == "role" and cue.slot == "address" and cue.strength == "bare"  # "tổ trưởng tổ dân phố"


def _cue_at(tokens: Sequence[str], index: int, lexicon: Lexicon, is_place: IsPlace | None) -> _Cue | None:
    """The longest cue starting at ``index``; at equal length the earlier kind in this list wins."""
    found: list[_Cue] = []

    def add(phrases: PhraseSet, slot: str, strength: CueStrength) -> None:
        match = phrases.match_at(tokens, index)
        if match:
            found.append(_Cue(index, match.end, slot, strength))

    add(lexicon.name_carriers, "name", "strong")
    add(lexicon.address_intros, "address", "strong")
    add(lexicon.need_carriers, "need", "strong")
    add(lexicon.name_intros, "name", "weak")
    add(lexicon.need_starts, "need", "weak")
    locative = lexicon.locatives.match_at(tokens, index)
    if locative and _address_follows(tokens, locative.end, lexicon, is_place):
        found.append(_Cue(index, locative.end, "address", "weak"))
    for phrases in (lexicon.admin.ward, lexicon.admin.district, lexicon.admin.province, lexicon.admin.street):
        add(phrases, "address", "bare")
    if not found:
        return None
    best = max(found, key=lambda c: c.end)  # max keeps the first of equal length
    if best.slot == "name" and best.strength == "strong" and _relation_before(tokens, index, lexicon):
        return _Cue(best.start, best.end, "role", "strong")  # "con tôi tên là ...": someone else's name
    if best.slot == "name" and best.strength == "weak":
        relation = lexicon.relations.match_at(tokens, best.end)
        if relation is not None and _is_role(tokens, relation.start, relation.end, lexicon):
            return _Cue(best.start, relation.end, "role", "weak")  # "tôi là mẹ của cháu ...": not a name
    return best


def _is_role(tokens: Sequence[str], start: int, end: int, lexicon: Lexicon) -> bool:
    """ "tổ trưởng", "mẹ của", "mẹ cháu", "hàng xóm" are roles; "ông văn thái" is a name (Ông is a surname)."""
    if end - start > 1 or end >= len(tokens):
        return True
    following = tokens[end]
    return (
        following in lexicon.pronouns
        or following in lexicon.not_name_words
        or lexicon.relations.match_at(tokens, end) is not None
    )


def _address_follows(tokens: Sequence[str], index: int, lexicon: Lexicon, is_place: IsPlace | None) -> bool:
    """ "ở số năm", "ở phường láng", "tại hải châu", "at twelve": an address; "ở nhà", "at night": not."""
    if index >= len(tokens):
        return False
    markers = lexicon.admin
    if any(
        p.match_at(tokens, index) for p in (markers.ward, markers.district, markers.province, markers.street)
    ):
        return True
    if is_number_word(tokens[index], lexicon.locale) and tokens[index] != "and":
        return True
    return is_place is not None and is_place(tokens, index)


def _relation_before(tokens: Sequence[str], index: int, lexicon: Lexicon) -> bool:
    """Someone else's name: an owner word just before the carrier, or before the "tôi" that follows it
    ("mẹ tôi tên là", "con tôi" + "tên là", "my mother's name is")."""
    if _relation_ends_at(tokens, index, lexicon.name_owners):
        return True
    before = tokens[index - 1] if index >= 1 else ""
    return before in lexicon.pronouns and _relation_ends_at(tokens, index - 1, lexicon.name_owners)


def _relation_ends_at(tokens: Sequence[str], end: int, relations: PhraseSet) -> bool:
    for start in range(max(0, end - 3), end):
        match = relations.match_at(tokens, start)
        if match is not None and match.end == end:
            return True
    return False
