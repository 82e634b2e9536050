"""The one decision interpreter: it carries out what the dialogue policy decides, on a live call or in text.

The policy returns decisions; an ``Effects`` implementation does the world's part (speech, the ticket store,
the SIP transfer and hang-up) and the interpreter hands the answers back to the conversation (``TicketFiled``,
``TransferResult``), following the protocol written down in ``callbot.dialogue.policy``:

- ``Speak``/``Ask`` -> ``effects.say`` (not once the caller hung up or the call is being wound up);
- ``FileTicket`` -> ``effects.file_ticket(draft)`` -> ``TicketFiled(number)``; None (not filed, not even
  journaled) drops what was waiting and ends the call with ``EndCall("ticket could not be filed")``;
- ``Transfer`` -> ``TransferResult(effects.transfer(decision))``;
- ``LookupTicket`` -> ``effects.lookup_ticket(decision)``: a ``TicketLookedUp`` (status by phone);
- ``EndCall`` -> ``effects.end_call``, and nothing after it runs.

Ordering: the decisions answering an event go before the decisions that were already waiting. The gate
``effects.ready`` may hold a ``Transfer`` or ``EndCall`` back (a live call lets the caller hear the end of
what was said first); ``run()`` then returns and the driver calls it again later. No clock, no threads, no
I/O here: tests drive it decision by decision.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from callbot.dialogue.conversation import Conversation
from callbot.types import Ask, Decision, EndCall, FileTicket, LookupTicket, Speak, Speaker, TicketDraft, Transfer
from callbot.types import CallerEvent, DtmfInput, FinalTranscript, Hangup, NoInput, TicketFiled, TicketLookedUp
from callbot.types import TransferResult

UNFILED_REASON = "ticket could not be filed"
RUNTIME_ANSWERS = (TicketFiled, TransferResult)  # the runtime's own answers reach even an ended conversation


class Dialogue(Protocol):
    """What the interpreter needs of a conversation (``callbot.dialogue.Conversation``)."""

    def start(self) -> list[Decision]: ...

    def handle(self, event: CallerEvent) -> list[Decision]: ...

    @property
    def ended(self) -> bool: ...


class Effects(Protocol):
    """The world's side of the decisions: a live call's speech, store and SIP, or their text stand-ins."""

    def say(self, decision: Speak | Ask) -> None: ...

    def file_ticket(self, draft: TicketDraft) -> str | None:
        """The ticket's number; None when it could not be filed at all (the call then ends)."""
        ...

    def transfer(self, decision: Transfer) -> bool:
        """True when the transfer found someone."""
        ...

    def end_call(self, decision: EndCall) -> None: ...

    def lookup_ticket(self, decision: LookupTicket) -> TicketLookedUp:
        """What the caller may hear of the ticket (rate-limited and audited by the live call's store)."""
        ...

    def ready(self, decision: Transfer | EndCall) -> bool:
        """The gate: False holds this decision (and every one after it) until the next ``run()``."""
        ...


class DecisionInterpreter:
    """Carries out one call's decisions through ``effects``; the single copy used by live calls and text."""

    def __init__(self, dialogue: Dialogue, effects: Effects) -> None:
        self.dialogue = dialogue
        self.effects = effects
        self.pending: collections.deque[Decision] = collections.deque()
        self.hung_up = False  # the caller is gone: nothing more is said
        self.ending: str | None = None  # being wound up (time limit, shutdown): filing still happens, speech not
        self.done = False  # an EndCall was carried out: nothing after it runs

    def start(self) -> None:
        """The greeting and the first question, carried out."""
        self.pending.extend(self.dialogue.start())
        self.run()

    def handle(self, event: CallerEvent) -> None:
        """Give the conversation an event; its decisions go before those already waiting. Nothing runs yet."""
        if self.dialogue.ended and not isinstance(event, RUNTIME_ANSWERS):
            return
        if self.ending is not None and not isinstance(event, (Hangup, *RUNTIME_ANSWERS)):
            return
        self.pending.extendleft(reversed(self.dialogue.handle(event)))

    def caller(self, event: CallerEvent) -> None:
        """Handle an event and carry out what follows (text drivers; a live call runs once per loop step)."""
        self.handle(event)
        self.run()

    def run(self) -> None:
        """Carry out the waiting decisions in order, until none is left, the call ended, or the gate holds."""
        while self.pending and not self.done:
            decision = self.pending[0]
            if isinstance(decision, (Transfer, EndCall)) and not self.effects.ready(decision):
                return
            self.pending.popleft()
            match decision:
                case Speak() | Ask():
                    if not self.hung_up and self.ending is None:
                        self.effects.say(decision)
                case FileTicket(draft):
                    number = self.effects.file_ticket(draft)
                    if number is None:
                        self.pending.clear()
                        self.pending.append(EndCall(UNFILED_REASON))
                    else:
                        self.handle(TicketFiled(number))
                case Transfer():
                    self.handle(TransferResult(self.effects.transfer(decision)))
                case LookupTicket():
                    self.handle(self.effects.lookup_ticket(decision))
                case EndCall():
                    self.effects.end_call(decision)
                    self.done = True

    def caller_hung_up(self) -> bool:
        """The caller is gone: drop what was waiting, let the conversation file what it has, end the call.
        False when this was already known."""
        if self.hung_up:
            return False
        self.hung_up = True
        self._conclude(EndCall("caller hung up"))
        return True

    def wind_up(self, reason: str) -> bool:
        """Time limit or shutdown: stop talking, let the conversation file its partial ticket, end the call.
        False when the call is already being wound up or the caller hung up."""
        if self.ending is not None or self.hung_up:
            return False
        self.ending = reason
        self._conclude(EndCall(reason))
        return True

    def _conclude(self, end: EndCall) -> None:
        self.pending.clear()
        if not self.dialogue.ended:
            self.handle(Hangup())
        self.pending.append(end)


# --- text: ``callbot eval`` and ``callbot chat`` ------------------------------------------------------------
@dataclass(frozen=True)
class TranscriptLine:
    speaker: Speaker | Literal["system"]
    text: str
    key: str | None = None

    def as_dict(self) -> dict[str, str]:
        line = {"speaker": str(self.speaker), "text": self.text}
        if self.key:
            line["key"] = self.key
        return line


def describe_event(event: CallerEvent) -> str:
    """How a caller event reads in a transcript."""
    if isinstance(event, FinalTranscript):
        return event.text if event.confidence >= 1.0 else f"{event.text} (confidence {event.confidence:.2f})"
    if isinstance(event, DtmfInput):
        return f"[keypad {event.digits}]"
    if isinstance(event, NoInput):
        return f"[silence {event.seconds:g} s]"
    if isinstance(event, Hangup):
        return "[hangs up]"
    return f"[{type(event).__name__}]"


@dataclass
class SimulatedEffects:
    """Effects in text: the ticket gets ``ticket_number`` (unless ``filing_fails``), a transfer finds someone
    when ``operators_free`` (the emergency line always answers), a status lookup finds what ``tickets`` holds
    (by number; ``lookups_left`` counts down to ``limited``), and everything goes into ``transcript``."""

    ticket_number: str = "0000-0001"
    operators_free: bool = True
    filing_fails: bool = False  # the store is down, journal included
    tickets: dict[str, TicketLookedUp] = field(default_factory=dict)  # what a status lookup finds
    lookups_left: int | None = None  # None: no rate limit
    on_line: Callable[[TranscriptLine], None] | None = None
    transcript: list[TranscriptLine] = field(default_factory=list)
    filed: TicketDraft | None = None
    transfers: list[str] = field(default_factory=list)

    def heard(self, event: CallerEvent) -> None:
        self._line(TranscriptLine(Speaker.caller, describe_event(event)))

    def say(self, decision: Speak | Ask) -> None:
        self._line(TranscriptLine(Speaker.bot, decision.text, decision.key))

    def file_ticket(self, draft: TicketDraft) -> str | None:
        if self.filing_fails:
            self._line(TranscriptLine("system", f"ticket not filed ({draft.outcome.value}): the store failed"))
            return None
        self.filed = draft
        self._line(TranscriptLine("system", f"ticket filed: {self.ticket_number} ({draft.outcome.value})"))
        return self.ticket_number

    def transfer(self, decision: Transfer) -> bool:
        ok = self.operators_free or decision.target == "emergency"
        self.transfers.append(decision.target)
        self._line(
            TranscriptLine("system", f"transfer to {decision.target}: {'answered' if ok else 'nobody free'}")
        )
        return ok

    def end_call(self, decision: EndCall) -> None:
        self._line(TranscriptLine("system", f"call ended ({decision.reason})"))

    def lookup_ticket(self, decision: LookupTicket) -> TicketLookedUp:
        if self.lookups_left is not None and self.lookups_left <= 0:
            answer = TicketLookedUp("limited", decision.number)
        else:
            answer = self.tickets.get(decision.number, TicketLookedUp("not_found", decision.number))
            if self.lookups_left is not None:
                self.lookups_left -= 1
        self._line(TranscriptLine("system", f"ticket {decision.number} looked up: {answer.result}"))
        return answer

    def ready(self, decision: Transfer | EndCall) -> bool:
        return True  # no playback to wait for

    def _line(self, line: TranscriptLine) -> None:
        self.transcript.append(line)
        if self.on_line:
            self.on_line(line)


class SimulatedCall:
    """A call in text: the real conversation, the one interpreter, simulated effects."""

    def __init__(self, conversation: Conversation, effects: SimulatedEffects) -> None:
        self.conversation = conversation
        self.effects = effects
        self.decisions = DecisionInterpreter(conversation, effects)

    @property
    def ended(self) -> bool:
        return self.conversation.ended or self.decisions.done

    def start(self) -> None:
        self.decisions.start()

    def caller(self, event: CallerEvent) -> None:
        self.effects.heard(event)
        self.decisions.caller(event)
