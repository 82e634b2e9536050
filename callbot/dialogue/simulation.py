"""A text-only runtime for a ``Conversation``: it plays the part the call session plays on a real call
(files tickets, answers transfers) so ``callbot eval`` and ``callbot chat`` drive the real policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from callbot.dialogue.conversation import Conversation
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
    Speak,
    TicketDraft,
    TicketFiled,
    Transfer,
    TransferResult,
)


@dataclass(frozen=True)
class TranscriptLine:
    speaker: Literal["bot", "caller", "system"]
    text: str
    key: str | None = None

    def as_dict(self) -> dict[str, str]:
        line = {"speaker": self.speaker, "text": self.text}
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
class SimulatedRuntime:
    """Carries out decisions from text: FileTicket -> TicketFiled(ticket_number), Transfer -> TransferResult."""

    conversation: Conversation
    ticket_number: str = "0000-0001"
    operators_free: bool = True
    on_line: Callable[[TranscriptLine], None] | None = None
    transcript: list[TranscriptLine] = field(default_factory=list)
    filed: TicketDraft | None = None
    transfers: list[str] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        return self.conversation.ended

    def start(self) -> None:
        self._carry_out(self.conversation.start())

    def caller(self, event: CallerEvent) -> None:
        self._line(TranscriptLine("caller", describe_event(event)))
        self._carry_out(self.conversation.handle(event))

    def _line(self, line: TranscriptLine) -> None:
        self.transcript.append(line)
        if self.on_line:
            self.on_line(line)

    def _carry_out(self, decisions: list[Decision]) -> None:
        replies: list[CallerEvent] = []
        for decision in decisions:
            if isinstance(decision, (Speak, Ask)):
                self._line(TranscriptLine("bot", decision.text, decision.key))
            elif isinstance(decision, FileTicket):
                self.filed = decision.draft
                self._line(
                    TranscriptLine(
                        "system", f"ticket filed: {self.ticket_number} ({decision.draft.outcome.value})"
                    )
                )
                replies.append(TicketFiled(self.ticket_number))
            elif isinstance(decision, Transfer):
                ok = self.operators_free or decision.target == "emergency"
                self.transfers.append(decision.target)
                self._line(
                    TranscriptLine(
                        "system", f"transfer to {decision.target}: {'answered' if ok else 'nobody free'}"
                    )
                )
                replies.append(TransferResult(ok))
            elif isinstance(decision, EndCall):
                self._line(TranscriptLine("system", f"call ended ({decision.reason})"))
        for reply in replies:
            self._carry_out(self.conversation.handle(reply))
