"""The decision interpreter (``callbot.call.effects``), decisions in, effect calls and follow-up events out:
no threads, no clock. A scripted conversation stands in for the policy in the ordering tests; the last tests
run the real conversation with ``SimulatedEffects``, as ``callbot eval`` and ``callbot chat`` do."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from callbot.call.effects import DecisionInterpreter, SimulatedCall, SimulatedEffects
from callbot.config import Settings
from callbot.dialogue import Conversation, DialogueResources
from callbot.types import (
    Ask,
    CallerEvent,
    Decision,
    DtmfInput,
    EndCall,
    FileTicket,
    FinalTranscript,
    Hangup,
    NoInput,
    Outcome,
    Speak,
    TicketDraft,
    TicketFiled,
    Transfer,
    TransferResult,
)

DRAFT = TicketDraft(call_id="c1", locale="vi", outcome=Outcome.partial)


def say(key: str) -> Speak:
    return Speak(key.replace("_", " "), key)


@dataclass
class ScriptedDialogue:
    """Answers each event with the decisions scripted for it (nothing when none are); ends with an EndCall."""

    greeting: list[Decision]
    answers: dict[CallerEvent, list[Decision]] = field(default_factory=dict)
    events: list[CallerEvent] = field(default_factory=list)
    ended: bool = False

    def start(self) -> list[Decision]:
        return self._give(self.greeting)

    def handle(self, event: CallerEvent) -> list[Decision]:
        self.events.append(event)
        return self._give(self.answers.get(event, []))

    def _give(self, decisions: list[Decision]) -> list[Decision]:
        self.ended = self.ended or any(isinstance(d, EndCall) for d in decisions)
        return decisions


@dataclass
class RecordedEffects:
    """Writes every effect carried out into ``done``; ``number`` None fails the filing; ``held`` closes the gate."""

    number: str | None = "1234-5671"
    transfer_ok: bool = True
    held: bool = False
    done: list[tuple[str, str]] = field(default_factory=list)

    def say(self, decision: Speak | Ask) -> None:
        self.done.append(("say", decision.key or ""))

    def file_ticket(self, draft: TicketDraft) -> str | None:
        self.done.append(("file", draft.outcome.value))
        return self.number

    def transfer(self, decision: Transfer) -> bool:
        self.done.append(("transfer", f"{decision.target} {decision.ticket_number}"))
        return self.transfer_ok

    def end_call(self, decision: EndCall) -> None:
        self.done.append(("end", decision.reason))

    def ready(self, decision: Transfer | EndCall) -> bool:
        return not self.held


def interpreter(dialogue: ScriptedDialogue, effects: RecordedEffects) -> DecisionInterpreter:
    return DecisionInterpreter(dialogue, effects)


def test_the_answer_to_a_decision_comes_before_what_was_waiting() -> None:
    dialogue = ScriptedDialogue(
        [say("filing"), FileTicket(DRAFT), say("after_filing")],
        {
            TicketFiled("1234-5671"): [say("number"), Transfer("operator", "1234-5671")],
            TransferResult(True): [say("connected")],
        },
    )
    effects = RecordedEffects()
    interpreter(dialogue, effects).start()
    assert effects.done == [
        ("say", "filing"),
        ("file", "partial"),
        ("say", "number"),
        ("transfer", "operator 1234-5671"),
        ("say", "connected"),
        ("say", "after_filing"),
    ]
    assert dialogue.events == [TicketFiled("1234-5671"), TransferResult(True)]


def test_a_later_event_is_answered_before_an_earlier_events_waiting_decisions() -> None:
    first, second = FinalTranscript("one"), FinalTranscript("two")
    dialogue = ScriptedDialogue([], {first: [say("one_a"), say("one_b")], second: [say("two")]})
    effects = RecordedEffects()
    decisions = interpreter(dialogue, effects)
    decisions.start()
    decisions.handle(first)  # a live call handles every event of a loop step, then runs once
    decisions.handle(second)
    assert effects.done == []
    decisions.run()
    assert effects.done == [("say", "two"), ("say", "one_a"), ("say", "one_b")]


def test_a_ticket_that_could_not_be_filed_drops_what_waited_and_ends_the_call() -> None:
    dialogue = ScriptedDialogue([FileTicket(DRAFT), say("goodbye"), EndCall("done")])
    effects = RecordedEffects(number=None)
    decisions = interpreter(dialogue, effects)
    decisions.start()
    assert effects.done == [("file", "partial"), ("end", "ticket could not be filed")]
    assert dialogue.events == [] and decisions.done and not decisions.pending


def test_the_gate_holds_a_transfer_and_everything_after_it() -> None:
    dialogue = ScriptedDialogue(
        [say("hold_on"), Transfer("emergency", None), say("after")], {TransferResult(False): [EndCall("failed")]}
    )
    effects = RecordedEffects(held=True, transfer_ok=False)
    decisions = interpreter(dialogue, effects)
    decisions.start()
    assert effects.done == [("say", "hold_on")]  # speech before the transfer goes out; the transfer waits
    decisions.run()
    assert effects.done == [("say", "hold_on")] and decisions.pending[0] == Transfer("emergency", None)
    effects.held = False  # the bot's audio has played out
    decisions.run()
    assert effects.done == [("say", "hold_on"), ("transfer", "emergency None"), ("end", "failed")]
    assert decisions.done and list(decisions.pending) == [say("after")]  # nothing runs after an EndCall
    decisions.run()
    assert effects.done[-1] == ("end", "failed")


def test_a_caller_who_hangs_up_gets_a_partial_ticket_and_no_more_speech() -> None:
    dialogue = ScriptedDialogue(
        [say("hold_on"), Transfer("operator", None)],
        {Hangup(): [say("never_heard"), FileTicket(DRAFT), EndCall("hangup")]},
    )
    effects = RecordedEffects(held=True)
    decisions = interpreter(dialogue, effects)
    decisions.start()  # the transfer waits for "hold on" to play out; the caller hangs up meanwhile
    assert decisions.caller_hung_up() and not decisions.caller_hung_up()
    assert list(decisions.pending) == [say("never_heard"), FileTicket(DRAFT), EndCall("hangup"),
                                       EndCall("caller hung up")]  # fmt: skip
    effects.held = False
    decisions.run()
    assert effects.done == [("say", "hold_on"), ("file", "partial"), ("end", "hangup")]
    # the filing's answer still reaches the (ended) conversation; the caller's words after the hang-up do not
    decisions.caller(FinalTranscript("hello?"))
    assert dialogue.events == [Hangup(), TicketFiled("1234-5671")]


def test_a_call_wound_up_files_but_says_nothing_and_hears_only_answers() -> None:
    dialogue = ScriptedDialogue(
        [say("ask_name")],
        {Hangup(): [say("never_heard"), FileTicket(DRAFT)], TicketFiled("1234-5671"): [say("number"), EndCall("x")]},
    )
    effects = RecordedEffects()
    decisions = interpreter(dialogue, effects)
    decisions.start()
    assert decisions.wind_up("maximum call duration reached")
    assert not decisions.wind_up("service shutting down")
    decisions.handle(DtmfInput("1"))  # the caller keeps talking: not passed on while winding up
    decisions.run()
    assert effects.done == [("say", "ask_name"), ("file", "partial"), ("end", "x")]
    assert dialogue.events == [Hangup(), TicketFiled("1234-5671")]


def test_winding_up_after_the_caller_hung_up_changes_nothing() -> None:
    dialogue = ScriptedDialogue([say("ask_name")], {Hangup(): [FileTicket(DRAFT), EndCall("hangup")]})
    decisions = interpreter(dialogue, RecordedEffects())
    decisions.start()
    assert decisions.caller_hung_up()
    assert not decisions.wind_up("service shutting down") and decisions.ending is None


@pytest.fixture(scope="module")
def resources() -> DialogueResources:
    return DialogueResources(Settings())


def real_call(resources: DialogueResources, effects: SimulatedEffects) -> SimulatedCall:
    return SimulatedCall(Conversation(Settings(), locale="vi", call_id="t", resources=resources), effects)


def test_the_real_policy_keypad_zero_with_nobody_free_ends_in_a_callback(resources: DialogueResources) -> None:
    call = real_call(resources, SimulatedEffects("0000-0042", operators_free=False))
    call.start()
    call.caller(DtmfInput("0"))
    assert call.ended and call.effects.transfers == ["operator"]
    system = [line.text for line in call.effects.transcript if line.speaker == "system"]
    assert system == [
        "ticket filed: 0000-0042 (escalated)",
        "transfer to operator: nobody free",
        "call ended (callback)",
    ]
    keys = [line.key for line in call.effects.transcript if line.speaker == "bot"]
    assert keys.index("ticket_before_transfer") < keys.index("callback") < keys.index("goodbye")
    assert call.conversation.ticket_number == "0000-0042"


def test_the_real_policy_when_the_store_fails_ends_the_call_without_a_number(
    resources: DialogueResources,
) -> None:
    call = real_call(resources, SimulatedEffects(filing_fails=True))
    call.start()
    call.caller(NoInput(8.0))
    call.caller(Hangup())
    assert call.ended and call.effects.filed is None and call.conversation.ticket_number is None
    assert [line.text for line in call.effects.transcript if line.speaker == "system"] == [
        "ticket not filed (partial): the store failed",
        "call ended (ticket could not be filed)",
    ]
