"""The dialogue policy: pure functions from (state, caller event) to (new state, decisions).

No clock, no I/O, no audio: everything it needs (prompts, word lists, the administrative units, limits from
the settings) comes in a read-only ``PolicyContext``, so every conversation can be replayed from text.
The form follows Rasa's convention: the next question is the first required slot still empty, and prompts
are found by name (``ask_<slot>``, ``reprompt_<question>_<n>``, ``check_<slot>``, ``reask_<slot>``).

Protocol with the runtime that carries the decisions out:
- complete: ``FileTicket`` -> runtime answers ``TicketFiled(number)`` -> ticket number, goodbye, ``EndCall``;
- escalation: ``FileTicket`` (outcome escalated, or partial when reprompts ran out) -> ``TicketFiled`` ->
  ``Transfer(target, number)`` -> ``TransferResult(ok)``: ok -> ``EndCall``; not ok -> callback message
  (emergency: "dial 115") -> ``EndCall``;
- hangup: ``FileTicket`` (partial) and ``EndCall`` at once; the later ``TicketFiled`` is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from callbot.config import Settings
from callbot.dialogue.address import AddressParse, Gazetteer, ProvinceRef, parse_address
from callbot.dialogue.intents import (
    Correction,
    dtmf_action,
    find_correction,
    named_slot,
    wants_operator,
    wants_repeat,
    yes_or_no,
)
from callbot.dialogue.lexicon import SLOTS, Lexicon
from callbot.dialogue.names import clean_name, parse_name
from callbot.dialogue.need import NeedReading, classify_need
from callbot.dialogue.state import AddressValue, DialogueState, Question, SlotValue
from callbot.dialogue.text import PhraseSet, words
from callbot.prompts import PromptSet
from callbot.types import (
    Ask,
    CallerEvent,
    Category,
    Decision,
    DtmfInput,
    EndCall,
    FileTicket,
    FinalTranscript,
    Hangup,
    NoInput,
    Outcome,
    Priority,
    RecordedAnswer,
    Speak,
    TicketFiled,
    Transfer,
    TransferResult,
)

Step = tuple[DialogueState, list[Decision]]


@dataclass(frozen=True)
class DialogueConfig:
    max_reprompts: int
    confidence_accept: float
    confidence_confirm: float
    address_end_silence_ms: int
    max_readbacks: int
    exhausted_action: str
    default_province: ProvinceRef | None

    @classmethod
    def from_settings(cls, settings: Settings, default_province: ProvinceRef | None) -> DialogueConfig:
        return cls(
            max_reprompts=settings.max_reprompts,
            confidence_accept=settings.confidence_accept,
            confidence_confirm=settings.confidence_confirm,
            address_end_silence_ms=settings.address_end_silence_ms,
            max_readbacks=settings.max_readbacks,
            exhausted_action=settings.exhausted_action,
            default_province=default_province,
        )


@dataclass(frozen=True)
class PolicyContext:
    prompts: PromptSet
    lexicon: Lexicon
    gazetteer: Gazetteer
    config: DialogueConfig


@dataclass(frozen=True)
class Answer:
    """One caller turn as the question handlers see it."""

    text: str = ""
    digits: str | None = None
    confidence: float = 1.0
    clip: str | None = None

    @property
    def tokens(self) -> list[str]:
        return words(self.text)


# --- entry points ---------------------------------------------------------------------------------------
def start(state: DialogueState, ctx: PolicyContext) -> Step:
    state, asked = _advance(state, ctx)
    return state, [_speak(ctx, "greeting")] + asked


def step(state: DialogueState, event: CallerEvent, ctx: PolicyContext) -> Step:
    if state.ended:
        return state, []
    if isinstance(event, Hangup):
        return _hangup(state, ctx)
    if isinstance(event, TicketFiled):
        return _on_filed(state, event.number, ctx)
    if isinstance(event, TransferResult):
        return _on_transfer(state, event.ok, ctx)
    if state.phase != "asking":
        return state, []  # the caller talks while the ticket is filed or the call transferred
    if isinstance(event, NoInput):
        return _reprompt(state, ctx, note=None)
    if isinstance(event, RecordedAnswer):
        return _answer(state, Answer(clip=event.clip), ctx)
    if isinstance(event, DtmfInput):
        action = dtmf_action(event.digits, ctx.lexicon)
        if action == "operator":
            return _escalate_operator(state, ctx, "caller pressed 0")
        if action == "repeat":
            return _repeat(state)
        return _answer(state, Answer(digits=event.digits), ctx)
    if isinstance(event, FinalTranscript):
        tokens = words(event.text)
        if not tokens:
            return _reprompt(state, ctx, note=None)
        if ctx.lexicon.emergency.contains(tokens):
            return _escalate_emergency(state, event.text, ctx)
        if wants_operator(tokens, ctx.lexicon):
            return _escalate_operator(state, ctx, "caller asked for a person")
        if wants_repeat(tokens, ctx.lexicon):
            return _repeat(state)
        if event.confidence < ctx.config.confidence_confirm:
            return _reprompt(state, ctx, note=f"low confidence ({event.confidence:.2f}): {event.text}")
        return _answer(state, Answer(text=event.text, confidence=event.confidence), ctx)
    raise TypeError(f"not a caller event: {event!r}")


# --- prompts --------------------------------------------------------------------------------------------
def _speak(ctx: PolicyContext, key: str, **values: object) -> Speak:
    return Speak(ctx.prompts.text(key, **values), key=key)


def _ask(state: DialogueState, ctx: PolicyContext, question: Question, key: str, **values: object) -> Step:
    ask = Ask(
        text=ctx.prompts.text(key, **values),
        slot=_ask_slot_label(question),
        key=key,
        phrases=_phrases(state, ctx, question),
        end_silence_ms=ctx.config.address_end_silence_ms if question in ("address", "ward") else None,
    )
    return replace(state, question=question, last_prompt=ask), [ask]


def _ask_slot_label(question: Question) -> str:
    return {"check": "confirm", "readback": "confirm"}.get(question, question)


def _phrases(state: DialogueState, ctx: PolicyContext, question: Question) -> tuple[str, ...] | None:
    """A grammar where the answers are few: yes/no, which part, the wards of the province."""
    if question in ("check", "readback"):
        return ctx.lexicon.yes_no_phrases()
    if question == "which_slot":
        return (
            tuple(p for slot in SLOTS for p in ctx.lexicon.slot_words[slot].phrases)
            + ctx.lexicon.yes_no_phrases()
        )
    if question == "ward":
        pending = state.pending_address
        if pending is not None and pending.ambiguous:  # the answer is one of the candidates' provinces
            return tuple(
                sorted(
                    {
                        " ".join(words(n))
                        for w in pending.ambiguous
                        for n in (w.province.name, w.province.short)
                    }
                )
            )
        province = (pending.province if pending else None) or ctx.config.default_province
        return ctx.gazetteer.spoken_ward_names(province) if province else None
    return None


def _prompt_key(ctx: PolicyContext, question: str, attempt: int) -> str:
    """reprompt_<question>_<n>, falling back to the last one written, then to ask_<question>."""
    for n in range(attempt, 0, -1):
        key = f"reprompt_{question}_{n}"
        if key in ctx.prompts.texts:
            return key
    return f"ask_{question}"


def _spoken_number(number: str, ctx: PolicyContext) -> str:
    """ "1234-5678" (or "12345678") -> "một hai ba bốn, năm sáu bảy tám": digit by digit, in groups of four."""
    groups = [g for g in number.replace(" ", "-").split("-") if g]
    if len(groups) == 1 and groups[0].isdigit():
        groups = [groups[0][i : i + 4] for i in range(0, len(groups[0]), 4)]
    digit_words = ctx.lexicon.digit_words
    return ", ".join(" ".join(digit_words[int(d)] for d in g if d.isdigit()) for g in groups)


# --- the form -------------------------------------------------------------------------------------------
def _advance(state: DialogueState, ctx: PolicyContext) -> Step:
    state = replace(state, checking_slot=None, checking_value=None, pending_address=None)
    slot = state.next_slot
    if slot is not None:
        return _ask(state, ctx, slot, f"ask_{slot}")  # type: ignore[arg-type]
    if state.recorded:  # record-only: nothing to read back, the clips are transcribed later
        return _file(state, ctx, Outcome.complete, None, "goodbye")
    return _readback(state, ctx)


def _readback(state: DialogueState, ctx: PolicyContext) -> Step:
    if state.readbacks >= ctx.config.max_readbacks:
        return _exhausted(state, ctx, f"read back {state.readbacks} times without a confirmation")
    state = replace(state, readbacks=state.readbacks + 1)
    assert state.name is not None and state.address is not None and state.need is not None
    return _ask(
        state, ctx, "readback", "readback",
        name=state.name, address=state.address.spoken(), need=state.need.text,
    )  # fmt: skip


def _answer(state: DialogueState, answer: Answer, ctx: PolicyContext) -> Step:
    handlers = {
        "name": _answer_name,
        "address": _answer_address,
        "ward": _answer_ward,
        "need": _answer_need,
        "check": _answer_check,
        "readback": _answer_readback,
        "which_slot": _answer_which_slot,
    }
    if state.question is None:
        return state, []
    return handlers[state.question](state, answer, ctx)


def _offer(state: DialogueState, slot: str, value: SlotValue, answer: Answer, ctx: PolicyContext) -> Step:
    """Accept a value, or ask "did you say X?" when the recognizer was unsure."""
    if answer.confidence >= ctx.config.confidence_accept:
        return _accept(state, slot, value, ctx)
    state = replace(state, checking_slot=slot, checking_value=value)
    return _ask(state, ctx, "check", f"check_{slot}", value=_value_text(value))


def _value_text(value: SlotValue) -> str:
    if isinstance(value, AddressValue):
        return value.spoken()
    if isinstance(value, NeedReading):
        return value.text
    return value


def _accept(state: DialogueState, slot: str, value: SlotValue, ctx: PolicyContext) -> Step:
    return _advance(replace(state, **{slot: value}), ctx)


def _record(state: DialogueState, slot: str, clip: str, ctx: PolicyContext) -> Step:
    state = replace(state, recorded=state.recorded + (slot,)).noted(f"{slot} recorded: {clip}")
    return _advance(state, ctx)


def _answer_name(state: DialogueState, answer: Answer, ctx: PolicyContext) -> Step:
    if answer.clip:
        return _record(state, "name", answer.clip, ctx)
    name = parse_name(answer.text, ctx.lexicon) if answer.text else None
    if name is None:
        return _reprompt(state, ctx, note=f"not a name: {answer.text}" if answer.text else None)
    return _offer(state, "name", name, answer, ctx)


def _answer_address(state: DialogueState, answer: Answer, ctx: PolicyContext) -> Step:
    if answer.clip:
        return _record(state, "address", answer.clip, ctx)
    if not answer.text or ctx.lexicon.dont_know.contains(answer.tokens):
        return _reprompt(state, ctx, note=None)
    if _starts_with(answer.tokens, ctx.lexicon.name_carriers, ctx):  # "my name is ..." again: not an address
        return _reprompt(state, ctx, note=f"a name, not an address: {answer.text}")
    parse = parse_address(answer.text, ctx.lexicon, ctx.gazetteer, ctx.config.default_province)
    return _use_address(state, parse, answer, ctx)


def _starts_with(tokens: Sequence[str], phrases: PhraseSet, ctx: PolicyContext) -> bool:
    lead = ctx.lexicon.politeness.strip_edges(ctx.lexicon.fillers.remove(tokens))
    return phrases.match_at(lead, 0) is not None


def _use_address(state: DialogueState, parse: AddressParse, answer: Answer, ctx: PolicyContext) -> Step:
    if parse.status == "empty":
        return _reprompt(state, ctx, note=f"no address in: {answer.text}")
    state = replace(state, notes=state.notes + tuple(n for n in parse.notes if n not in state.notes))
    if parse.status == "resolved" or ctx.lexicon.address_as_text:
        return _offer(state, "address", AddressValue.from_parse(parse), answer, ctx)
    state = replace(state, pending_address=parse)
    if parse.status == "ambiguous":
        return _ask_ambiguous(state, parse, ctx)
    if parse.status == "district":
        return _ask(state, ctx, "ward", "ask_ward_district", district=parse.district)
    return _ask(state, ctx, "ward", "ask_ward")


def _ask_ambiguous(state: DialogueState, parse: AddressParse, ctx: PolicyContext) -> Step:
    shorts = {w.short for w in parse.ambiguous}
    if len(shorts) == 1:  # one name in several provinces: which province?
        return _ask(state, ctx, "ward", "ask_ward_which_province", ward=next(iter(shorts)))
    choices = [f"{w.name}, {w.province.name}" for w in parse.ambiguous[:3]]
    return _ask(state, ctx, "ward", "ask_ward_ambiguous", choices="; ".join(choices))


def _answer_ward(state: DialogueState, answer: Answer, ctx: PolicyContext) -> Step:
    pending = state.pending_address
    assert pending is not None
    if answer.clip:
        return _accept_without_ward(state, ctx, f"ward recorded: {answer.clip}")
    if not answer.text:
        return _reprompt(state, ctx, note=None)
    scope = pending.province if pending.province_named else ctx.config.default_province
    alone = parse_address(answer.text, ctx.lexicon, ctx.gazetteer, scope)  # "phường láng", "bạch mai"
    if alone.status == "resolved":
        street = pending.street or alone.street
        return _offer(state, "address", replace(AddressValue.from_parse(alone), street=street), answer, ctx)
    # the answer may only complete what was said before ("phường tân an" + "đắk lắk")
    combined = f"{pending.heard} {answer.text}"
    parse = parse_address(combined, ctx.lexicon, ctx.gazetteer, ctx.config.default_province)
    if parse.status == "resolved":
        street = parse.street or pending.street
        return _offer(state, "address", replace(AddressValue.from_parse(parse), street=street), answer, ctx)
    if parse.status == "ambiguous" and parse.ambiguous != pending.ambiguous:
        state = replace(state.with_reprompt("ward"), pending_address=parse)
        if state.reprompt_count("ward") > ctx.config.max_reprompts:
            return _accept_without_ward(state, ctx, f"ward unresolved: {answer.text}")
        return _ask_ambiguous(state, parse, ctx)
    return _reprompt(state, ctx, note=f"no ward in: {answer.text}")


def _accept_without_ward(state: DialogueState, ctx: PolicyContext, note: str) -> Step:
    """A ward nobody could resolve does not stop the ticket: operators route it by the address text."""
    assert state.pending_address is not None
    return _accept(state.noted(note), "address", _without_ward(state.pending_address), ctx)


def _without_ward(pending: AddressParse) -> AddressValue:
    """The street as heard, with the former district kept as text so an operator can still place it."""
    street = " ".join(p for p in (pending.street, pending.district or "") if p)
    return AddressValue(street, None, pending.province, pending.heard)


def _answer_need(state: DialogueState, answer: Answer, ctx: PolicyContext) -> Step:
    if answer.clip:
        return _record(state, "need", answer.clip, ctx)
    need = classify_need(answer.text, ctx.lexicon) if answer.text else None
    if need is None:
        return _reprompt(state, ctx, note=None)
    return _offer(state, "need", need, answer, ctx)


def _yes_no(answer: Answer, ctx: PolicyContext) -> str | None:
    if answer.clip:
        return "yes"
    if answer.digits is not None:
        action = dtmf_action(answer.digits, ctx.lexicon)
        return action if action in ("yes", "no") else None
    return yes_or_no(answer.tokens, ctx.lexicon)


def _answer_check(state: DialogueState, answer: Answer, ctx: PolicyContext) -> Step:
    slot, value = state.checking_slot, state.checking_value
    assert slot is not None and value is not None
    verdict = _yes_no(answer, ctx)
    if verdict == "yes":
        return _accept(state, slot, value, ctx)
    correction = find_correction(answer.text, ctx.lexicon) if answer.text else None
    if verdict == "no" and not (correction and correction.value_words):
        state = replace(state, question=slot, checking_slot=None, checking_value=None)  # type: ignore[arg-type]
        return _reprompt(state, ctx, note=f"caller rejected {slot}: {_value_text(value)}")
    if answer.text:  # a new answer instead of yes/no: take it as the answer to the question itself
        state = replace(state, question=slot, checking_slot=None, checking_value=None)  # type: ignore[arg-type]
        return _answer(state, replace(answer, confidence=1.0), ctx)
    return _reprompt(state, ctx, note=None)


def _answer_readback(state: DialogueState, answer: Answer, ctx: PolicyContext) -> Step:
    verdict = _yes_no(answer, ctx)
    correction = find_correction(answer.text, ctx.lexicon) if answer.text else None
    if correction and (
        correction.value_words
        or correction.slot_only
        or verdict == "no"
        or ctx.lexicon.wrong.contains(answer.tokens)
    ):
        return _correct(state, correction, answer, ctx)
    if verdict == "yes":
        return _file(state, ctx, Outcome.complete, None, "goodbye")
    if verdict == "no":
        return _ask(state, ctx, "which_slot", "ask_which_slot")
    return _reprompt(state, ctx, note=f"unclear read-back answer: {answer.text}" if answer.text else None)


def _answer_which_slot(state: DialogueState, answer: Answer, ctx: PolicyContext) -> Step:
    correction = find_correction(answer.text, ctx.lexicon) if answer.text else None
    if correction and correction.value_words:
        return _correct(state, correction, answer, ctx)
    slot = named_slot(answer.text, answer.digits, ctx.lexicon)
    if slot is not None:
        return _correct(state, Correction(slot, ()), answer, ctx)
    if _yes_no(answer, ctx) == "yes":  # "it is all correct after all"
        return _file(state, ctx, Outcome.complete, None, "goodbye")
    return _reprompt(state, ctx, note=None)


def _correct(state: DialogueState, correction: Correction, answer: Answer, ctx: PolicyContext) -> Step:
    """Update a slot from a correction ("không, tên tôi là ..."), or ask it again when no value came with it."""
    slot, value_words = correction.slot, correction.value_words
    old = getattr(state, slot)
    cleared = replace(state, **{slot: None}).noted(
        f"caller corrected {slot} (was: {_value_text(old) if old else ''})"
    )
    if value_words:
        text = " ".join(value_words)
        if slot == "name":
            name = clean_name(value_words, ctx.lexicon)
            if name is not None:
                return _accept(cleared, "name", name, ctx)
        elif slot == "address":
            parse = parse_address(text, ctx.lexicon, ctx.gazetteer, ctx.config.default_province)
            if parse.status != "empty":
                return _use_address(
                    replace(cleared, question="address"), parse, replace(answer, confidence=1.0), ctx
                )
        else:
            need = classify_need(" ".join(correction.said), ctx.lexicon)
            if need is not None:
                return _accept(cleared, "need", need, ctx)
    return _ask(cleared, ctx, slot, f"reask_{slot}")  # type: ignore[arg-type]


# --- repair ---------------------------------------------------------------------------------------------
def _repeat(state: DialogueState) -> Step:
    return state, [state.last_prompt] if state.last_prompt else []


def _reprompt(state: DialogueState, ctx: PolicyContext, note: str | None) -> Step:
    question = state.question
    if question is None:
        return state, []
    state = state.with_reprompt(question)
    if note:
        state = state.noted(note)
    attempt = state.reprompt_count(question)
    if attempt > ctx.config.max_reprompts:
        if question == "ward":
            return _accept_without_ward(state, ctx, "ward not given")
        return _exhausted(
            state, ctx, f"no usable answer to {question} after {ctx.config.max_reprompts} reprompts"
        )
    if question == "check":
        value = state.checking_value
        return _ask(
            state, ctx, "check", _prompt_key(ctx, "check", attempt), value=_value_text(value) if value else ""
        )
    if question == "readback":
        assert state.name is not None and state.address is not None and state.need is not None
        key = _prompt_key(ctx, "readback", attempt)
        return _ask(
            state, ctx, "readback", key, name=state.name, address=state.address.spoken(), need=state.need.text
        )
    return _ask(state, ctx, question, _prompt_key(ctx, question, attempt))


# --- endings --------------------------------------------------------------------------------------------
def _file(
    state: DialogueState,
    ctx: PolicyContext,
    outcome: Outcome,
    escalation: str | None,
    after: str,
    *said: Decision,
) -> Step:
    state = replace(
        state, outcome=outcome, escalation=escalation, after_filing=after, phase="filing", question=None
    )  # type: ignore[arg-type]
    return state, [*said, FileTicket(state.draft())]


def _exhausted(state: DialogueState, ctx: PolicyContext, reason: str) -> Step:
    """The form cannot be finished: a partial ticket, handed to an operator or kept for a callback."""
    state = state.noted(reason)
    if ctx.config.exhausted_action == "transfer":
        return _file(
            state, ctx, Outcome.partial, "operator", "transfer_operator", _speak(ctx, "exhausted_transfer")
        )
    return _file(state, ctx, Outcome.partial, "callback", "callback")


def _escalate_operator(state: DialogueState, ctx: PolicyContext, note: str) -> Step:
    return _file(
        state.noted(note),
        ctx,
        Outcome.escalated,
        "operator",
        "transfer_operator",
        _speak(ctx, "transfer_operator"),
    )


def _escalate_emergency(state: DialogueState, text: str, ctx: PolicyContext) -> Step:
    """Emergency words end the form at once: priority high, category emergency, straight to the emergency line."""
    heard = " ".join(words(text))
    if state.need is None:
        need = NeedReading(heard, Category.emergency, Priority.high)
    else:
        need = replace(state.need, category=Category.emergency, priority=Priority.high)
    state = replace(state, need=need).noted(f"emergency words: {heard}")
    return _file(
        state, ctx, Outcome.escalated, "emergency", "transfer_emergency", _speak(ctx, "transfer_emergency")
    )


def _hangup(state: DialogueState, ctx: PolicyContext) -> Step:
    if state.phase == "asking":
        state = state.noted(f"caller hung up during {state.question or 'greeting'}")
        pending = state.pending_address
        if pending is not None and state.address is None:  # keep the address heard even without its ward
            state = replace(state, address=_without_ward(pending))
        state = replace(state, outcome=Outcome.partial, phase="ended", question=None)
        return state, [FileTicket(state.draft()), EndCall("hangup")]
    return replace(state, phase="ended"), [EndCall("hangup")]


def _on_filed(state: DialogueState, number: str, ctx: PolicyContext) -> Step:
    if state.phase != "filing":
        return state, []
    state = replace(state, ticket_number=number)
    spoken = _spoken_number(number, ctx)
    after = state.after_filing
    if after == "transfer_emergency":
        return replace(state, phase="transferring"), [Transfer("emergency", number)]
    if after == "transfer_operator":
        return replace(state, phase="transferring"), [
            _speak(ctx, "ticket_before_transfer", number=spoken),
            Transfer("operator", number),
        ]
    key = "ticket_number" if after == "goodbye" else "callback"
    ended = replace(state, phase="ended")
    return ended, [_speak(ctx, key, number=spoken), _speak(ctx, "goodbye"), EndCall(after or "done")]


def _on_transfer(state: DialogueState, ok: bool, ctx: PolicyContext) -> Step:
    if state.phase != "transferring":
        return state, []
    ended = replace(state, phase="ended")
    if ok:
        return ended, [EndCall("transferred")]
    if state.escalation == "emergency":
        return ended.noted("emergency transfer failed"), [
            _speak(ctx, "emergency_transfer_failed"),
            EndCall("transfer_failed"),
        ]
    spoken = _spoken_number(state.ticket_number or "", ctx)
    ended = ended.noted("no operator free: callback")
    return ended, [_speak(ctx, "callback", number=spoken), _speak(ctx, "goodbye"), EndCall("callback")]
