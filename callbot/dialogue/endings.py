"""How a call ends: the ticket filed (complete, partial, escalated), the number read back, transfers answered.

A person is promised only when one is free: an escalation to an operator first asks the runtime
(``FindOperator`` -> ``OperatorAvailability``); with nobody free the ticket is filed with escalation ``callback``
and the caller hears that an operator will call back. A transfer that still finds nobody (the operator was taken
meanwhile) files the call again as a callback, so the ticket always shows the call-back owed."""

from __future__ import annotations

from dataclasses import replace

from callbot.dialogue.asking import speak, spoken_number
from callbot.dialogue.context import PolicyContext, Step
from callbot.dialogue.need import NeedReading
from callbot.dialogue.state import AddressValue, AfterFiling, DialogueState
from callbot.dialogue.text import words
from callbot.types import Category, Decision, EndCall, Escalation, FileTicket, FindOperator, Outcome, Priority, Transfer


def file_ticket(
    state: DialogueState,
    ctx: PolicyContext,
    outcome: Outcome,
    escalation: Escalation | None,
    after: AfterFiling,
    *said: Decision,
) -> Step:
    state = replace(
        state, outcome=outcome, escalation=escalation, after_filing=after, phase="filing", question=None
    )
    return state, [*said, FileTicket(state.draft())]


def exhausted(state: DialogueState, ctx: PolicyContext, reason: str) -> Step:
    """The form cannot be finished: a partial ticket, handed to an operator if one is free, else kept for a
    callback."""
    state = state.noted(reason)
    if ctx.config.exhausted_action == "transfer":
        return find_operator(state, Outcome.partial)
    return file_ticket(state, ctx, Outcome.partial, Escalation.callback, "callback")


def escalate_operator(state: DialogueState, ctx: PolicyContext, note: str) -> Step:
    """The caller asked for a person (keypad 0, "cho tôi gặp tổng đài viên")."""
    return find_operator(state.noted(note), Outcome.escalated)


def find_operator(state: DialogueState, outcome: Outcome) -> Step:
    return replace(state, outcome=outcome, phase="finding_operator", question=None), [FindOperator()]


def on_operator(state: DialogueState, free: bool, ctx: PolicyContext) -> Step:
    """Transfer to the free operator (announced), or file a callback ticket and say an operator will call back."""
    if state.phase != "finding_operator":
        return state, []
    outcome = state.outcome or Outcome.escalated
    if free:
        announcement = speak(ctx, "transfer_operator" if outcome == Outcome.escalated else "exhausted_transfer")
        return file_ticket(state, ctx, outcome, Escalation.operator, "transfer_operator", announcement)
    return file_ticket(state.noted("no operator free: callback"), ctx, outcome, Escalation.callback, "callback")


def escalate_emergency(state: DialogueState, text: str, ctx: PolicyContext) -> Step:
    """Emergency words end the form at once: priority high, category emergency, straight to the emergency line."""
    heard = " ".join(words(text))
    if state.need is None:
        need = NeedReading(heard, Category.emergency, Priority.high)
    else:
        need = replace(state.need, category=Category.emergency, priority=Priority.high)
    state = replace(state, need=need).noted(f"emergency words: {heard}")
    said = speak(ctx, "transfer_emergency")
    return file_ticket(state, ctx, Outcome.escalated, Escalation.emergency, "transfer_emergency", said)


def hang_up(state: DialogueState, ctx: PolicyContext) -> Step:
    if state.phase == "finding_operator":  # asked for a person, gone before one was found: a call-back is owed
        state = replace(state.noted("caller hung up waiting for an operator"), escalation=Escalation.callback,
                        phase="ended")
        return state, [FileTicket(state.draft()), EndCall("hangup")]
    if state.phase in ("asking", "lookup"):  # every call leaves a ticket, a status lookup's too
        state = state.noted(f"caller hung up during {state.question or 'greeting'}")
        pending = state.pending_address
        if pending is not None and state.address is None:  # keep the address heard even without its ward
            state = replace(state, address=AddressValue.without_ward(pending))
        state = replace(state, outcome=Outcome.partial, phase="ended", question=None)
        return state, [FileTicket(state.draft()), EndCall("hangup")]
    return replace(state, phase="ended"), [EndCall("hangup")]


def on_filed(state: DialogueState, number: str, ctx: PolicyContext) -> Step:
    if state.phase != "filing":
        return state, []
    state = replace(state, ticket_number=number)
    spoken = spoken_number(number, ctx)
    after = state.after_filing
    if after == "transfer_emergency":
        return replace(state, phase="transferring"), [Transfer("emergency", number)]
    if after == "transfer_operator":
        return replace(state, phase="transferring"), [
            speak(ctx, "ticket_before_transfer", number=spoken),
            Transfer("operator", number),
        ]
    key = "ticket_number" if after == "goodbye" else "callback"
    ended = replace(state, phase="ended")
    return ended, [speak(ctx, key, number=spoken), speak(ctx, "goodbye"), EndCall(after or "done")]


def on_transfer(state: DialogueState, ok: bool, ctx: PolicyContext) -> Step:
    if state.phase != "transferring":
        return state, []
    ended = replace(state, phase="ended")
    if ok:
        return ended, [EndCall("transferred")]
    if state.escalation == Escalation.emergency:
        return ended.noted("emergency transfer failed"), [
            speak(ctx, "emergency_transfer_failed"),
            EndCall("transfer_failed"),
        ]
    spoken = spoken_number(state.ticket_number or "", ctx)
    ended = replace(ended.noted("no operator free: callback"), escalation=Escalation.callback)
    return ended, [
        FileTicket(ended.draft()),  # filed again: the same number, now owing a call-back
        speak(ctx, "callback", number=spoken),
        speak(ctx, "goodbye"),
        EndCall("callback"),
    ]
