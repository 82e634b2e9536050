"""How a call ends: the ticket filed (complete, partial, escalated), the number read back, transfers answered."""

from __future__ import annotations

from dataclasses import replace

from callbot.dialogue.asking import speak, spoken_number
from callbot.dialogue.context import PolicyContext, Step
from callbot.dialogue.need import NeedReading
from callbot.dialogue.state import AddressValue, AfterFiling, DialogueState
from callbot.dialogue.text import words
from callbot.types import Category, Decision, EndCall, Escalation, FileTicket, Outcome, Priority, Transfer


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
    """The form cannot be finished: a partial ticket, handed to an operator or kept for a callback."""
    state = state.noted(reason)
    if ctx.config.exhausted_action == "transfer":
        said = speak(ctx, "exhausted_transfer")
        return file_ticket(state, ctx, Outcome.partial, Escalation.operator, "transfer_operator", said)
    return file_ticket(state, ctx, Outcome.partial, Escalation.callback, "callback")


def escalate_operator(state: DialogueState, ctx: PolicyContext, note: str) -> Step:
    return file_ticket(
        state.noted(note),
        ctx,
        Outcome.escalated,
        Escalation.operator,
        "transfer_operator",
        speak(ctx, "transfer_operator"),
    )


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
    ended = ended.noted("no operator free: callback")
    return ended, [speak(ctx, "callback", number=spoken), speak(ctx, "goodbye"), EndCall("callback")]
