"""The dialogue policy: pure functions from (state, caller event) to (new state, decisions).

No clock, no I/O, no audio: everything it needs (prompts, word lists, the administrative units, limits from
the settings) comes in a read-only ``PolicyContext``, so every conversation can be replayed from text.
The form follows Rasa's convention: the next question is the first required slot still empty, and prompts
are found by name (``ask_<slot>``, ``reprompt_<question>_<n>``, ``check_<slot>``, ``reask_<slot>``,
``still_<slot>`` when the caller answered something else first).

Mixed initiative: every turn is read for every slot (``understanding.read_turn``), whatever was asked; the
form then asks only for what is still missing. A value held is replaced only by an explicit restatement, or
at the read-back by any value given while correcting (``filling.take_aside``). Declining the name is an answer.

Protocol with the runtime that carries the decisions out:
- complete: ``FileTicket`` -> runtime answers ``TicketFiled(number)`` -> ticket number, goodbye, ``EndCall``;
- escalation: ``FileTicket`` (outcome escalated, or partial when reprompts ran out) -> ``TicketFiled`` ->
  ``Transfer(target, number)`` -> ``TransferResult(ok)``: ok -> ``EndCall``; not ok -> callback message
  (emergency: "dial 115") -> ``EndCall``;
- hangup: ``FileTicket`` (partial) and ``EndCall`` at once; the later ``TicketFiled`` is ignored.
"""

from __future__ import annotations

from dataclasses import replace

from callbot.dialogue import lookup
from callbot.dialogue.address import AddressParse, parse_address
from callbot.dialogue.asking import ask, ask_readback, prompt_key, speak, value_text
from callbot.dialogue.context import Answer, DialogueConfig, PolicyContext, Step
from callbot.dialogue.endings import (
    escalate_emergency,
    escalate_operator,
    exhausted,
    file_ticket,
    hang_up,
    on_filed,
    on_transfer,
)
from callbot.dialogue.filling import ANY_CUE, EXPLICIT, Taken, corrected, take_aside
from callbot.dialogue.intents import (
    Correction,
    dtmf_action,
    find_correction,
    named_slot,
    wants_operator,
    wants_repeat,
    yes_or_no,
)
from callbot.dialogue.names import clean_name
from callbot.dialogue.need import classify_need
from callbot.dialogue.state import AddressValue, DialogueState, SlotValue
from callbot.dialogue.text import words
from callbot.dialogue.understanding import TurnReading, read_turn
from callbot.types import (
    CallerEvent,
    DtmfInput,
    FinalTranscript,
    Hangup,
    NoInput,
    Outcome,
    Question,
    RecordedAnswer,
    Slot,
    TicketFiled,
    TicketLookedUp,
    TransferResult,
)

__all__ = ["Answer", "DialogueConfig", "PolicyContext", "Step", "start", "step"]


# --- entry points ---------------------------------------------------------------------------------------
def start(state: DialogueState, ctx: PolicyContext) -> Step:
    state, asked = _advance(state, ctx)
    return state, [speak(ctx, "greeting")] + asked


def step(state: DialogueState, event: CallerEvent, ctx: PolicyContext) -> Step:
    if state.ended:
        return state, []
    if isinstance(event, Hangup):
        return hang_up(state, ctx)
    if isinstance(event, TicketFiled):
        return on_filed(state, event.number, ctx)
    if isinstance(event, TransferResult):
        return on_transfer(state, event.ok, ctx)
    if state.phase == "lookup" or isinstance(event, TicketLookedUp):
        return lookup.step(state, event, ctx)
    if lookup.wants_lookup(state, event, ctx):
        return lookup.begin(state, ctx)
    if state.phase != "asking":
        return state, []  # the caller talks while the ticket is filed or the call transferred
    if isinstance(event, NoInput):
        return _reprompt(state, ctx, note=None)
    if isinstance(event, RecordedAnswer):
        return _answer(state, Answer(clip=event.clip), ctx)
    if isinstance(event, DtmfInput):
        action = dtmf_action(event.digits, ctx.lexicon)
        if action == "operator":
            return escalate_operator(state, ctx, "caller pressed 0")
        if action == "repeat":
            return _repeat(state)
        return _answer(state, Answer(digits=event.digits), ctx)
    if isinstance(event, FinalTranscript):
        tokens = words(event.text)
        if not tokens:
            return _reprompt(state, ctx, note=None)
        if ctx.lexicon.emergency.contains(tokens):  # before anything else, but keep the name and place said
            return escalate_emergency(_keep_said(state, event.text, ctx), event.text, ctx)
        if wants_operator(tokens, ctx.lexicon):
            return escalate_operator(_keep_said(state, event.text, ctx), ctx, "caller asked for a person")
        if wants_repeat(tokens, ctx.lexicon):
            return _repeat(state)
        if event.confidence < ctx.config.confidence_confirm:
            return _reprompt(state, ctx, note=f"low confidence ({event.confidence:.2f}): {event.text}")
        return _answer(state, Answer(text=event.text, confidence=event.confidence), ctx)
    raise TypeError(f"not a caller event: {event!r}")


def _read(answer: Answer, ctx: PolicyContext, question: Question | None) -> TurnReading:
    reading = read_turn(answer.text, question, ctx.lexicon, ctx.gazetteer, ctx.config.default_province)
    if question is not None and answer.confidence < ctx.config.confidence_accept:
        return reading.only(question)  # an unsure recognizer: keep to the question asked
    return reading


def _keep_said(state: DialogueState, text: str, ctx: PolicyContext) -> DialogueState:
    """Before an escalation: the name and a placed address said in the same breath go on the ticket."""
    reading = _read(Answer(text=text), ctx, state.question)
    return take_aside(
        state, reading, ctx.lexicon, asked=None, replace_cues=(), slots=(Slot.name, Slot.address)
    ).state


# --- the form -------------------------------------------------------------------------------------------
def _advance(state: DialogueState, ctx: PolicyContext, asked: Slot | None = None) -> Step:
    """The next empty slot (``still_<slot>`` when the caller just answered something else), else the read-back."""
    state = replace(state, checking_slot=None, checking_value=None, pending_address=None)
    slot = state.next_slot
    if slot is not None:
        return ask(state, ctx, slot.question, f"still_{slot}" if slot == asked else f"ask_{slot}")
    if state.recorded:  # record-only: nothing to read back, the clips are transcribed later
        return file_ticket(state, ctx, Outcome.complete, None, "goodbye")
    if state.readbacks >= ctx.config.max_readbacks:
        return exhausted(state, ctx, f"read back {state.readbacks} times without a confirmation")
    return ask_readback(replace(state, readbacks=state.readbacks + 1), ctx)


def _answer(state: DialogueState, answer: Answer, ctx: PolicyContext) -> Step:
    if state.question is None:
        return state, []
    handlers = {
        Question.ward: _answer_ward,
        Question.check: _answer_check,
        Question.readback: _answer_readback,
        Question.which_slot: _answer_which_slot,
    }
    return handlers.get(state.question, _answer_slot)(state, answer, ctx)


def _offer(state: DialogueState, slot: Slot, value: SlotValue, answer: Answer, ctx: PolicyContext) -> Step:
    """Accept a value, or ask "did you say X?" when the recognizer was unsure."""
    if answer.confidence >= ctx.config.confidence_accept:
        return _advance(state.with_value(slot, value), ctx)
    state = replace(state, checking_slot=slot, checking_value=value)
    return ask(state, ctx, Question.check, f"check_{slot}", value=value_text(value))


def _record(state: DialogueState, slot: Slot, clip: str, ctx: PolicyContext) -> Step:
    state = replace(state, recorded=state.recorded + (slot,)).noted(f"{slot} recorded: {clip}")
    return _advance(state, ctx)


def _answer_slot(state: DialogueState, answer: Answer, ctx: PolicyContext) -> Step:
    """The name, address or need question: the turn fills the asked slot and whatever else it gives."""
    question = state.question
    assert question is not None and question.slot is not None and question != Question.ward
    slot = question.slot
    if answer.clip:
        return _record(state, slot, answer.clip, ctx)
    if not answer.text:
        return _reprompt(state, ctx, note=None)
    reading = _read(answer, ctx, question)
    taken = take_aside(state, reading, ctx.lexicon, asked=slot)
    state = taken.state
    own = reading.get(slot)
    if slot == Slot.address and own is not None:
        return _use_address(state, own.value, answer, ctx)
    if own is not None and answer.confidence < ctx.config.confidence_accept:
        return _offer(state, slot, own.value, answer, ctx)
    if own is not None:
        state = state.with_value(slot, own.value)
    if taken.pending is not None:  # an address said aside that still needs its ward
        return _use_address(replace(state, question=Question.address), taken.pending, answer, ctx)
    if own is not None or taken.new:
        return _advance(state, ctx, asked=None if own is not None else slot)
    if taken.changed:
        return _still(state, question, ctx)
    notes = {Slot.name: f"not a name: {answer.text}", Slot.address: f"no address in: {answer.text}"}
    return _reprompt(state, ctx, note=notes.get(slot))


def _still(state: DialogueState, question: Question, ctx: PolicyContext) -> Step:
    """The caller only restated something held: ask again, counted like a reprompt (so it cannot loop)."""
    if state.reprompt_count(question) >= ctx.config.max_reprompts:
        return _reprompt(state, ctx, note=None)
    return ask(state.with_reprompt(question), ctx, question, f"still_{question}")


def _use_address(state: DialogueState, parse: AddressParse, answer: Answer, ctx: PolicyContext) -> Step:
    if parse.status == "empty":
        return _reprompt(state, ctx, note=f"no address in: {answer.text}")
    state = replace(state, notes=state.notes + tuple(n for n in parse.notes if n not in state.notes))
    if parse.status == "resolved" or ctx.lexicon.address_as_text:
        return _offer(state, Slot.address, AddressValue.from_parse(parse), answer, ctx)
    state = replace(state, pending_address=parse)
    if parse.status == "ambiguous":
        return _ask_ambiguous(state, parse, ctx)
    if parse.status == "district":
        return ask(state, ctx, Question.ward, "ask_ward_district", district=parse.district)
    return ask(state, ctx, Question.ward, "ask_ward")


def _ask_ambiguous(state: DialogueState, parse: AddressParse, ctx: PolicyContext) -> Step:
    shorts = {w.short for w in parse.ambiguous}
    if len(shorts) == 1:  # one name in several provinces: which province?
        return ask(state, ctx, Question.ward, "ask_ward_which_province", ward=next(iter(shorts)))
    choices = [f"{w.name}, {w.province.name}" for w in parse.ambiguous[:3]]
    return ask(state, ctx, Question.ward, "ask_ward_ambiguous", choices="; ".join(choices))


def _answer_ward(state: DialogueState, answer: Answer, ctx: PolicyContext) -> Step:
    pending = state.pending_address
    assert pending is not None
    if answer.clip:
        return _accept_without_ward(state, ctx, f"ward recorded: {answer.clip}")
    if not answer.text:
        return _reprompt(state, ctx, note=None)
    reading = _read(answer, ctx, Question.ward)
    taken = take_aside(state, reading, ctx.lexicon, asked=Slot.address)
    state = taken.state
    if reading.address is None and taken.progress:  # "em cần gạo" instead of the ward: noted, ask again
        if taken.new:
            return ask(state, ctx, Question.ward, "still_ward")
        return _still(state, Question.ward, ctx)
    heard = " ".join(reading.address.words) if reading.address else answer.text
    scope = pending.province if pending.province_named else ctx.config.default_province
    alone = parse_address(heard, ctx.lexicon, ctx.gazetteer, scope)  # "phường láng", "bạch mai"
    if alone.status == "resolved":
        street = pending.street or alone.street
        return _offer(state, Slot.address, replace(AddressValue.from_parse(alone), street=street), answer, ctx)
    # the answer may only complete what was said before ("phường tân an" + "đắk lắk")
    parse = parse_address(f"{pending.heard} {heard}", ctx.lexicon, ctx.gazetteer, ctx.config.default_province)
    if parse.status == "resolved":
        street = parse.street or pending.street
        return _offer(state, Slot.address, replace(AddressValue.from_parse(parse), street=street), answer, ctx)
    if parse.status == "ambiguous" and parse.ambiguous != pending.ambiguous:
        state = replace(state.with_reprompt(Question.ward), pending_address=parse)
        if state.reprompt_count(Question.ward) > ctx.config.max_reprompts:
            return _accept_without_ward(state, ctx, f"ward unresolved: {answer.text}")
        return _ask_ambiguous(state, parse, ctx)
    return _reprompt(state, ctx, note=f"no ward in: {answer.text}")


def _accept_without_ward(state: DialogueState, ctx: PolicyContext, note: str) -> Step:
    """A ward nobody could resolve does not stop the ticket: operators route it by the address text."""
    assert state.pending_address is not None
    return _advance(
        state.noted(note).with_value(Slot.address, AddressValue.without_ward(state.pending_address)), ctx
    )


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
    if verdict == "yes":  # "đúng rồi, tôi cần hỗ trợ gạo": the other slots said with the yes count too
        state = state.with_value(slot, value)
        if answer.text:
            state = take_aside(state, _read(answer, ctx, None), ctx.lexicon, asked=slot).state
        return _advance(state, ctx)
    correction = find_correction(answer.text, ctx.lexicon) if answer.text else None
    if verdict == "no" and not (correction and correction.value_words):
        state = replace(state, question=slot.question, checking_slot=None, checking_value=None)
        return _reprompt(state, ctx, note=f"caller rejected {slot}: {value_text(value)}")
    if answer.text:  # a new answer instead of yes/no: take it as the answer to the question itself
        state = replace(state, question=slot.question, checking_slot=None, checking_value=None)
        return _answer(state, replace(answer, confidence=1.0), ctx)
    return _reprompt(state, ctx, note=None)


def _corrections(
    state: DialogueState, answer: Answer, ctx: PolicyContext, verdict: str | None
) -> Step | None:
    """At the read-back: values the caller gives replace what was read (only explicit ones after a "yes")."""
    if not answer.text:
        return None
    reading = _read(answer, ctx, None)
    cues = EXPLICIT if verdict == "yes" else ANY_CUE
    taken: Taken = take_aside(state, reading, ctx.lexicon, asked=None, replace_cues=cues)
    if taken.pending is not None:
        return _use_address(
            replace(taken.state, question=Question.address), taken.pending, replace(answer, confidence=1.0), ctx
        )
    return _advance(taken.state, ctx) if taken.progress else None


def _answer_readback(state: DialogueState, answer: Answer, ctx: PolicyContext) -> Step:
    verdict = _yes_no(answer, ctx)
    fixed = _corrections(state, answer, ctx, verdict)
    if fixed is not None:
        return fixed
    correction = find_correction(answer.text, ctx.lexicon) if answer.text else None
    if correction and (
        correction.value_words
        or correction.slot_only
        or verdict == "no"
        or ctx.lexicon.wrong.contains(answer.tokens)
    ):
        return _correct(state, correction, answer, ctx)
    if verdict == "yes":
        return file_ticket(state, ctx, Outcome.complete, None, "goodbye")
    if verdict == "no":
        return ask(state, ctx, Question.which_slot, "ask_which_slot")
    return _reprompt(state, ctx, note=f"unclear read-back answer: {answer.text}" if answer.text else None)


def _answer_which_slot(state: DialogueState, answer: Answer, ctx: PolicyContext) -> Step:
    fixed = _corrections(state, answer, ctx, None)
    if fixed is not None:
        return fixed
    correction = find_correction(answer.text, ctx.lexicon) if answer.text else None
    if correction and correction.value_words:
        return _correct(state, correction, answer, ctx)
    slot = named_slot(answer.text, answer.digits, ctx.lexicon)
    if slot is not None:
        return _correct(state, Correction(slot, ()), answer, ctx)
    if _yes_no(answer, ctx) == "yes":  # "it is all correct after all"
        return file_ticket(state, ctx, Outcome.complete, None, "goodbye")
    return _reprompt(state, ctx, note=None)


def _correct(state: DialogueState, correction: Correction, answer: Answer, ctx: PolicyContext) -> Step:
    """Update a slot from a correction ("không, tên tôi là ..."), or ask it again when no value came with it."""
    slot, value_words = correction.slot, correction.value_words
    cleared = corrected(state, slot)
    if value_words:
        text = " ".join(value_words)
        if slot == Slot.name:
            name = clean_name(value_words, ctx.lexicon)
            if name is not None:
                return _advance(cleared.with_value(Slot.name, name), ctx)
        elif slot == Slot.address:
            parse = parse_address(text, ctx.lexicon, ctx.gazetteer, ctx.config.default_province)
            if parse.status != "empty":
                return _use_address(
                    replace(cleared, question=Question.address), parse, replace(answer, confidence=1.0), ctx
                )
        else:
            need = classify_need(" ".join(correction.said), ctx.lexicon)
            if need is not None:
                return _advance(cleared.with_value(Slot.need, need), ctx)
    return ask(cleared, ctx, slot.question, f"reask_{slot}")


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
        if question == Question.ward:
            return _accept_without_ward(state, ctx, "ward not given")
        return exhausted(
            state, ctx, f"no usable answer to {question} after {ctx.config.max_reprompts} reprompts"
        )
    if question == Question.check:
        value = state.checking_value
        return ask(
            state, ctx, question, prompt_key(ctx, question, attempt), value=value_text(value) if value else ""
        )
    if question == Question.readback:
        return ask_readback(state, ctx, prompt_key(ctx, question, attempt))
    return ask(state, ctx, question, prompt_key(ctx, question, attempt))
