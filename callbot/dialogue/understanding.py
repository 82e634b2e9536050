"""Reading one caller turn for every slot at once (mixed initiative): a ``TurnReading`` of slot candidates.

Whatever was asked, a turn may give the name, the address, the need, or decline the name; each candidate
says how it was introduced (``cue``), so the policy can fill an empty slot from a weak cue but replace a value
it already holds only on an explicit one ("tên tôi là ...", "địa chỉ là ...", "tôi cần ...").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from callbot.dialogue.address import AddressParse, Gazetteer, ProvinceRef, parse_address
from callbot.dialogue.lexicon import Lexicon
from callbot.dialogue.names import clean_name
from callbot.dialogue.need import NeedReading, classify_need
from callbot.dialogue.segments import STRENGTH_ORDER, CueStrength, Segment, cut_segments
from callbot.types import Category, Question, Slot

V = TypeVar("V")


@dataclass(frozen=True)
class Found(Generic[V]):
    value: V
    cue: CueStrength
    words: tuple[str, ...]  # what the caller said for it

    @property
    def explicit(self) -> bool:
        """Named with a carrier ("tên tôi là", "nhà tôi ở", "tôi cần"): may replace a value held already."""
        return self.cue == "strong"

    @property
    def asked(self) -> bool:
        return self.cue == "lead"


@dataclass(frozen=True)
class TurnReading:
    name: Found[str] | None = None
    anonymous: bool = False  # the caller declined the name (after any name said in the same turn)
    address: Found[AddressParse] | None = None
    need: Found[NeedReading] | None = None

    def only(self, question: Question) -> TurnReading:
        """The candidate for the slot the question fills alone (an unsure recognizer: keep to the question)."""
        slot = question.slot
        return TurnReading(
            name=self.name if slot == Slot.name else None,
            anonymous=self.anonymous and slot == Slot.name,
            address=self.address if slot == Slot.address else None,
            need=self.need if slot == Slot.need else None,
        )

    def get(self, slot: Slot) -> Found | None:
        found: dict[Slot, Found | None] = {Slot.name: self.name, Slot.address: self.address, Slot.need: self.need}
        return found[slot]


def read_turn(
    text: str,
    question: Question | None,
    lexicon: Lexicon,
    gazetteer: Gazetteer,
    default_province: ProvinceRef | None,
) -> TurnReading:
    """Every slot candidate in ``text``; the words before the first cue answer ``question``."""
    lead_slot = question.slot if question is not None else None

    def is_place(tokens: Sequence[str], index: int) -> bool:
        return bool(gazetteer.match_ward(tokens, index, default_province)[1]) or bool(
            gazetteer.match_province(tokens, index, lexicon.province_aliases)[1]
        )

    segments = _give_back(cut_segments(text, lexicon, lead_slot, is_place), lexicon, lead_slot)
    name_segment, name = _best_name(segments, lexicon)
    after_name = name_segment.index if name_segment else -1
    anonymous = any(s.slot == "anonymous" and s.index > after_name for s in segments)
    found = None
    if name_segment is not None and name is not None and not anonymous:
        found = Found(name, name_segment.cue, name_segment.words)
    address = _address(segments, lexicon, gazetteer, default_province)
    need = _need(segments, lexicon, lead_slot, name is not None)
    return TurnReading(found, anonymous, address, need)


def parse_name(text: str, lexicon: Lexicon) -> str | None:
    """The caller's name in an answer to the name question ("dạ tôi tên là nguyễn văn an ạ" -> "Nguyễn Văn An")."""
    segments = _give_back(cut_segments(text, lexicon, "name"), lexicon, "name")
    return _best_name(segments, lexicon)[1]


def _name_of(segment: Segment, lexicon: Lexicon) -> str | None:
    if lexicon.dont_know.contains(segment.words):
        return None
    name = clean_name(segment.words, lexicon)
    if name is not None and segment.cue == "lead" and " " not in name:
        return None  # one bare word ("hi there" -> "There") is a greeting or noise, not a full name
    return name


def _give_back(segments: list[Segment], lexicon: Lexicon, lead_slot: str | None) -> list[Segment]:
    """A cue that leads to no name was not one ("it's forty two baker street"): its words rejoin the segment
    before it, or become the lead."""
    kept: list[Segment] = []
    for segment in segments:
        if segment.slot != "name" or segment.cue == "lead" or _name_of(segment, lexicon) is not None:
            kept.append(segment)
            continue
        if kept:
            previous = kept.pop()
            kept.append(replace(previous, words=previous.words + segment.said))
        elif lead_slot is not None:
            kept.append(Segment(lead_slot, "lead", (), segment.said, segment.index))
    return kept


def _best_name(segments: list[Segment], lexicon: Lexicon) -> tuple[Segment | None, str | None]:
    """ "tôi tên là" outranks "tôi là", which outranks the bare answer; the last of equal rank wins."""
    named = [(s, _name_of(s, lexicon)) for s in segments if s.slot == "name"]
    valid = [(s, n) for s, n in named if n is not None]
    if not valid:
        return None, None
    return max(valid, key=lambda pair: (STRENGTH_ORDER[pair[0].cue], pair[0].index))


def _strongest(segments: Sequence[Segment]) -> CueStrength:
    return max((s.cue for s in segments), key=lambda cue: STRENGTH_ORDER[cue])


def _address(
    segments: list[Segment], lexicon: Lexicon, gazetteer: Gazetteer, default_province: ProvinceRef | None
) -> Found[AddressParse] | None:
    parts = [s for s in segments if s.slot == "address" and s.words]
    said = tuple(
        w for s in parts for w in (s.said if s.cue == "bare" else s.words)
    )  # "phường" is the address
    said = tuple(lexicon.wrong.remove(said))  # "địa chỉ sai rồi, phải là phường bàn cờ"
    if not said or lexicon.dont_know.contains(said):
        return None
    if lexicon.name_carriers.match_at(said, 0) or lexicon.name_intros.match_at(said, 0):
        return None  # "my name is ..." again at the address question is not an address
    parse = parse_address(" ".join(said), lexicon, gazetteer, default_province)
    return None if parse.status == "empty" else Found(parse, _strongest(parts), said)


def _need(
    segments: list[Segment], lexicon: Lexicon, lead_slot: str | None, named: bool
) -> Found[NeedReading] | None:
    parts = [s for s in segments if s.slot == "need" and s.cue != "lead" and s.words]
    if not parts:  # no need cue: the lead, when it answers the need question or is no name but a need
        parts = [s for s in segments if s.cue == "lead" and s.words]
        if not parts or not (lead_slot == "need" or (lead_slot == "name" and not named)):
            return None
    said = tuple(w for s in parts for w in s.said + _place_after(s, segments))
    need = classify_need(" ".join(said), lexicon)
    if need is None:
        return None
    cue = _strongest(parts)
    if cue == "lead" and lead_slot == "name":
        if need.category == Category.other:
            return None
        cue = "bare"  # a problem said instead of the name ("con tôi bị sốt"): a need, not an answer
    return Found(need, cue, said)


def _place_after(part: Segment, segments: list[Segment]) -> tuple[str, ...]:
    """ "xả rác ở phường láng": a place said right after the need stays in the caller's words for the need too
    (it is also read as an address; an explicit "nhà tôi ở" is the caller's home and is not repeated)."""
    following = [s for s in segments if s.index > part.index]
    place: tuple[str, ...] = ()
    for segment in following:
        if segment.slot != "address" or segment.cue == "strong":
            break
        place += segment.said
    return place


def plausible_need(found: Found[NeedReading], lexicon: Lexicon) -> bool:
    """A need said aside (not to the need question) must name a branch, or say more than one word after
    its carrier ("tôi muốn giữ" is not a need)."""
    if found.value.category != Category.other:
        return True
    content = lexicon.politeness.strip_edges(
        lexicon.need_carriers.remove(lexicon.fillers.remove(found.words))
    )
    return found.explicit and len(content) >= 2
