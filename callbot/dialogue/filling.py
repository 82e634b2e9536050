"""Applying a turn's reading to the state: empty slots are filled from whatever the caller said, a slot held
already is replaced only by an explicit restatement ("tên tôi là ...", "địa chỉ là ...", "tôi cần ...") or,
at the read-back, by any value the caller gives while correcting."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

from callbot.dialogue.address import AddressParse
from callbot.dialogue.asking import value_text
from callbot.dialogue.lexicon import Lexicon
from callbot.dialogue.segments import CueStrength
from callbot.dialogue.state import AddressValue, DialogueState
from callbot.dialogue.understanding import Found, TurnReading, plausible_need
from callbot.types import Slot

EXPLICIT: frozenset[CueStrength] = frozenset({"strong"})
ANY_CUE: frozenset[CueStrength] = frozenset({"strong", "weak", "bare"})
PLACED = ("resolved", "ambiguous", "district")  # an address said aside with a ward, a province or a district


@dataclass(frozen=True)
class Taken:
    state: DialogueState
    new: tuple[Slot, ...] = ()  # slots that were empty and are filled now
    changed: tuple[Slot, ...] = ()  # slots whose value was replaced
    pending: AddressParse | None = None  # an address that still needs its ward (or a check) before it is kept

    @property
    def progress(self) -> bool:
        return bool(self.new or self.changed or self.pending)


def take_aside(
    state: DialogueState,
    reading: TurnReading,
    lexicon: Lexicon,
    *,
    asked: Slot | None,
    replace_cues: Collection[CueStrength] = EXPLICIT,
    slots: tuple[Slot, ...] = tuple(Slot),
) -> Taken:
    """Every slot the turn gives except ``asked`` (its own handler takes that one), and anonymity."""
    taken = Taken(state)
    if reading.anonymous and not state.anonymous:
        was = state.name
        declined = replace(state, name=None, anonymous=True).noted("caller declined to give a name")
        taken = _record(taken, declined, Slot.name, changed=was is not None)
    for slot in slots:
        found = reading.get(slot)
        if slot == asked or found is None or found.asked:
            continue
        if slot == Slot.address:
            taken = _take_address(taken, found, lexicon, replace_cues)
        elif slot != Slot.need or plausible_need(found, lexicon):
            taken = _take_value(taken, slot, found, replace_cues)
    return taken


def _record(taken: Taken, state: DialogueState, slot: Slot, *, changed: bool) -> Taken:
    if changed:
        return replace(taken, state=state, changed=taken.changed + (slot,))
    return replace(taken, state=state, new=taken.new + (slot,))


def corrected(state: DialogueState, slot: Slot) -> DialogueState:
    """The slot emptied, with a note of what it held (the operator sees what the caller took back)."""
    old = state.value(slot)
    return state.without(slot).noted(f"caller corrected {slot} (was: {value_text(old) if old else ''})")


def _take_value(taken: Taken, slot: Slot, found: Found, replace_cues: Collection[CueStrength]) -> Taken:
    state, held = taken.state, taken.state.value(slot)
    if not state.filled(slot):
        return _record(taken, state.with_value(slot, found.value), slot, changed=False)
    if found.cue not in replace_cues or held == found.value:
        return taken
    return _record(taken, corrected(state, slot).with_value(slot, found.value), slot, changed=True)


def _take_address(
    taken: Taken, found: Found[AddressParse], lexicon: Lexicon, replace_cues: Collection[CueStrength]
) -> Taken:
    state, parse = taken.state, found.value
    held = state.address
    if state.pending_address is not None or (held is not None and found.cue not in replace_cues):
        return taken
    if not _address_like(found, lexicon):
        return taken
    if parse.status != "resolved" and not lexicon.address_as_text:
        cleared = corrected(state, Slot.address) if held is not None else state
        return replace(taken, state=cleared, pending=parse)
    value = AddressValue.from_parse(parse)
    if held is None:
        return _record(taken, replace(state, address=value), Slot.address, changed=False)
    if not value.street and held.street:  # "sai rồi, phường bàn cờ": only the ward was wrong
        value = replace(value, street=held.street)
    if value == held:
        return taken
    return _record(taken, replace(corrected(state, Slot.address), address=value), Slot.address, changed=True)


def _address_like(found: Found[AddressParse], lexicon: Lexicon) -> bool:
    """Said aside, a bare marker must place the address ("số mười hai" alone is no address); an introduced
    one ("ở ngõ năm mươi hai phố khâm thiên") needs a street marker or a place."""
    parse = found.value
    if parse.status in PLACED:
        return True
    if found.cue == "bare":
        return False
    markers = lexicon.admin.street
    return parse.status == "unknown_ward" or parse.province_named or markers.contains(found.words)
