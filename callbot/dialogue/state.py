"""The dialogue's state: immutable, replaced (never mutated) by each policy step."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from callbot.dialogue.address import AddressParse, ProvinceRef, WardRef
from callbot.dialogue.need import NeedReading
from callbot.types import Ask, Category, Escalation, Outcome, Priority, Question, Slot, TicketDraft

Phase = Literal["asking", "lookup", "filing", "transferring", "ended"]
AfterFiling = Literal["goodbye", "callback", "transfer_operator", "transfer_emergency"]


@dataclass(frozen=True)
class AddressValue:
    street: str
    ward: WardRef | None
    province: ProvinceRef | None
    heard: str

    @classmethod
    def from_parse(cls, parse: AddressParse) -> AddressValue:
        return cls(parse.street, parse.ward, parse.province, parse.heard)

    @classmethod
    def without_ward(cls, pending: AddressParse) -> AddressValue:
        """The street as heard, with the former district kept as text so an operator can still place it."""
        street = " ".join(p for p in (pending.street, pending.district or "") if p)
        return cls(street, None, pending.province, pending.heard)

    def spoken(self) -> str:
        parts = [
            self.street,
            self.ward.name if self.ward else "",
            self.province.name if self.province else "",
        ]
        return ", ".join(p for p in parts if p)


SlotValue = str | AddressValue | NeedReading


@dataclass(frozen=True)
class DialogueState:
    call_id: str
    locale: str
    caller_id: str | None = None
    name: str | None = None
    anonymous: bool = False  # the caller declined to give a name: the name slot is answered, empty
    address: AddressValue | None = None
    need: NeedReading | None = None
    recorded: tuple[Slot, ...] = ()  # slots answered by a clip in record-only mode (no text)
    question: Question | None = None
    checking_slot: Slot | None = None  # "did you say X?" open for this slot...
    checking_value: SlotValue | None = None  # ...with this value
    pending_address: AddressParse | None = None  # an address waiting for its ward
    reprompts: tuple[tuple[Question, int], ...] = ()  # per question
    readbacks: int = 0
    lookup_tries: int = 0  # ticket numbers keyed that were not right (status by phone)
    phase: Phase = "asking"
    outcome: Outcome | None = None
    escalation: Escalation | None = None
    after_filing: AfterFiling | None = None
    ticket_number: str | None = None
    last_prompt: Ask | None = None
    notes: tuple[str, ...] = ()

    def reprompt_count(self, question: Question) -> int:
        return dict(self.reprompts).get(question, 0)

    def with_reprompt(self, question: Question) -> DialogueState:
        counts = dict(self.reprompts)
        counts[question] = counts.get(question, 0) + 1
        return replace(self, reprompts=tuple(counts.items()))

    def value(self, slot: Slot) -> SlotValue | None:
        values: dict[Slot, SlotValue | None] = {Slot.name: self.name, Slot.address: self.address,
                                                Slot.need: self.need}
        return values[slot]

    def with_value(self, slot: Slot, value: SlotValue) -> DialogueState:
        """A slot filled; a name given ends anonymity."""
        if isinstance(value, AddressValue) and slot == Slot.address:
            return replace(self, address=value)
        if isinstance(value, NeedReading) and slot == Slot.need:
            return replace(self, need=value)
        if isinstance(value, str) and slot == Slot.name:
            return replace(self, name=value, anonymous=False)
        raise TypeError(f"not a value of the {slot} slot: {type(value).__name__}")

    def without(self, slot: Slot) -> DialogueState:
        """A slot emptied; emptying the name ends anonymity too."""
        if slot == Slot.name:
            return replace(self, name=None, anonymous=False)
        return replace(self, address=None) if slot == Slot.address else replace(self, need=None)

    def noted(self, note: str) -> DialogueState:
        return replace(self, notes=self.notes + (note,))

    def filled(self, slot: Slot) -> bool:
        return self.value(slot) is not None or slot in self.recorded or (slot == Slot.name and self.anonymous)

    @property
    def next_slot(self) -> Slot | None:
        """Rasa-forms style: the first slot of the form still empty."""
        return next((slot for slot in Slot if not self.filled(slot)), None)

    @property
    def ended(self) -> bool:
        return self.phase == "ended"

    def draft(self) -> TicketDraft:
        address, need = self.address, self.need
        return TicketDraft(
            call_id=self.call_id,
            locale=self.locale,
            outcome=self.outcome or Outcome.partial,
            caller_id=self.caller_id,
            name=self.name,
            anonymous=self.anonymous,
            address_text=(address.spoken() or None) if address else None,
            ward_code=address.ward.code if address and address.ward else None,
            ward_name=address.ward.name if address and address.ward else None,
            province_code=address.province.code if address and address.province else None,
            province_name=address.province.name if address and address.province else None,
            need_text=need.text if need else None,
            category=need.category if need else Category.other,
            priority=need.priority if need else Priority.normal,
            escalation=self.escalation,
            needs_transcription=bool(self.recorded),
            notes=list(self.notes),
        )
