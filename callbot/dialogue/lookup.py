"""Ticket status by phone: keypad 9 (or "tra cứu", "check my ticket") at the greeting, then the 8 digits.

Pure like the rest of the policy: a number whose Damm check digit is right becomes a ``LookupTicket`` decision;
the runtime reads the store (rate limit and audit included) and answers ``TicketLookedUp``; the bot then reads
the status, the responsible unit and the day of the last update, nothing else, and offers the form ("if you have
a new request, your name please"). A mistyped number is asked again (``reprompt_lookup_<n>``) up to
``MAX_TRIES`` times; a caller who hangs up still leaves a (partial) ticket like every call.
"""

from __future__ import annotations

from dataclasses import replace

from callbot.dialogue.asking import ask, prompt_key, speak, spoken_number
from callbot.dialogue.context import PolicyContext, Step
from callbot.dialogue.endings import escalate_operator
from callbot.dialogue.intents import dtmf_action, wants_operator
from callbot.dialogue.state import DialogueState
from callbot.dialogue.text import words
from callbot.ticket_numbers import NUMBER_DIGITS, is_valid_ticket_number
from callbot.types import CallerEvent, Decision, DtmfInput, FinalTranscript, LookupTicket, NoInput, Question
from callbot.types import RecordedAnswer, Slot, TicketLookedUp

MAX_TRIES = 3  # numbers keyed wrong (or not found, or silence) before the bot goes back to the form


def wants_lookup(state: DialogueState, event: CallerEvent, ctx: PolicyContext) -> bool:
    """Keypad 9 or a lookup phrase, only at the greeting (nothing of the form given yet)."""
    at_greeting = (state.phase == "asking" and state.question == Question.name and not state.anonymous
                   and not any(state.filled(slot) for slot in Slot) and state.checking_slot is None)
    if not at_greeting:
        return False
    if isinstance(event, DtmfInput):
        return dtmf_action(event.digits, ctx.lexicon) == "lookup"
    if isinstance(event, FinalTranscript):
        return ctx.lexicon.lookup.contains(words(event.text))
    return False


def begin(state: DialogueState, ctx: PolicyContext) -> Step:
    return _ask_number(replace(state.noted("caller asked for a ticket's status"), phase="lookup", lookup_tries=0),
                       ctx, "ask_lookup")


def step(state: DialogueState, event: CallerEvent, ctx: PolicyContext) -> Step:
    """An event while the bot waits for the ticket number or for the store's answer."""
    if isinstance(event, TicketLookedUp):
        return _answered(state, event, ctx)
    if state.question != Question.lookup:
        return state, []  # the store is being asked: what the caller says meanwhile is not an answer
    if isinstance(event, DtmfInput) and dtmf_action(event.digits, ctx.lexicon) == "operator":
        return escalate_operator(_back_to_form(state), ctx, "caller pressed 0 during a lookup")
    if isinstance(event, FinalTranscript) and wants_operator(words(event.text), ctx.lexicon):
        return escalate_operator(_back_to_form(state), ctx, "caller asked for a person during a lookup")
    digits = keyed_digits(event, ctx)
    if digits is not None and is_valid_ticket_number(digits):
        return replace(state, question=None), [LookupTicket(digits)]
    if isinstance(event, (DtmfInput, FinalTranscript, NoInput, RecordedAnswer)):  # a clip: no digits heard
        return _retry(state.noted("ticket number not valid" if digits else "no ticket number"), ctx, [])
    return state, []


def keyed_digits(event: CallerEvent, ctx: PolicyContext) -> str | None:
    """The digits of a keypad answer, or of digit words said one by one ("một hai ba ..."); None if none."""
    if isinstance(event, DtmfInput):
        digits = "".join(c for c in event.digits if c.isdigit())
        return digits or None
    if isinstance(event, FinalTranscript):
        spoken = ctx.lexicon.digit_words
        digits = "".join(t if t.isdigit() else str(spoken.index(t)) for t in words(event.text)
                         if t.isdigit() or t in spoken)
        return digits or None
    return None


def _answered(state: DialogueState, answer: TicketLookedUp, ctx: PolicyContext) -> Step:
    if state.phase != "lookup":
        return state, []
    number = spoken_number(answer.number, ctx)
    if answer.result == "found":
        status = ctx.prompts.text(f"ticket_status_{answer.status}") if answer.status else ""
        unit = answer.unit or ctx.prompts.text("lookup_no_unit")
        date = f"{answer.updated.day}/{answer.updated.month}/{answer.updated.year}" if answer.updated else ""
        said = speak(ctx, "lookup_status", number=number, status=status, unit=unit, date=date)
        state, asked = _offer_form(state.noted(f"status of {answer.number} read"), ctx)
        return state, [said, *asked]
    if answer.result == "not_found":
        return _retry(state.noted(f"ticket {answer.number} not found"), ctx,
                      [speak(ctx, "lookup_not_found", number=number)])
    key = "lookup_limited" if answer.result == "limited" else "lookup_unavailable"
    state, asked = _offer_form(state.noted(f"lookup {answer.result}"), ctx)
    return state, [speak(ctx, key), *asked]


def _retry(state: DialogueState, ctx: PolicyContext, said: list[Decision]) -> Step:
    tries = state.lookup_tries + 1
    if tries >= MAX_TRIES:
        state, asked = _offer_form(replace(state, lookup_tries=tries), ctx)
        return state, [*said, speak(ctx, "lookup_failed"), *asked]
    state, asked = _ask_number(replace(state, lookup_tries=tries), ctx, prompt_key(ctx, Question.lookup, tries))
    return state, [*said, *asked]


def _ask_number(state: DialogueState, ctx: PolicyContext, key: str) -> Step:
    """The question, keyed with 8 digits (the live call collects them into one answer)."""
    state, _ = ask(state, ctx, Question.lookup, key)
    assert state.last_prompt is not None
    keypad = replace(state.last_prompt, dtmf_digits=NUMBER_DIGITS)
    return replace(state, last_prompt=keypad), [keypad]


def _back_to_form(state: DialogueState) -> DialogueState:
    return replace(state, phase="asking", question=Question.name)


def _offer_form(state: DialogueState, ctx: PolicyContext) -> Step:
    """Back to the form's first question, in words that let the caller simply hang up."""
    return ask(_back_to_form(state), ctx, Question.name, "after_lookup")
