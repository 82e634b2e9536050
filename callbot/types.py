"""The small set of types that cross module boundaries, and the product's vocabulary (defined here only).

Audio side -> dialogue: caller events (``FinalTranscript``, ``DtmfInput``, ``NoInput``, ``Hangup``).
Dialogue -> audio/telephony/store: decisions (``Speak``, ``Ask``, ``FileTicket``, ``Transfer``, ``EndCall``).
ASR -> everyone: ``Transcript`` with ``Word`` timings.
Dialogue -> store: ``TicketDraft``.
Vocabulary: ``Slot``, ``Question``, ``Escalation``, ``Outcome``, ``Category``, ``Priority`` (the form and its
ticket), ``TurnKind`` and ``Speaker`` (a call's turns), ``OperatorStatus`` and ``OverflowMode`` (telephony),
``ContactStatus`` and ``CampaignState`` (outbound campaigns).
Every one that is stored or serialised is a str enum: its values are what the database, the journal, the API
and the settings hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum, StrEnum
from typing import Literal, Union


# --- speech recognition results ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Word:
    word: str
    start: float
    end: float
    confidence: float


@dataclass(frozen=True, slots=True)
class Transcript:
    """A final recognition result. ``start``/``end`` are seconds from the stream's start."""

    text: str
    start: float
    end: float
    confidence: float
    words: tuple[Word, ...] = ()

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "confidence": round(self.confidence, 3),
            "words": [
                {"word": w.word, "start": round(w.start, 3), "end": round(w.end, 3), "confidence": round(w.confidence, 3)}
                for w in self.words
            ],
        }


# --- ticket vocabulary ----------------------------------------------------------------------------
class Outcome(str, Enum):
    complete = "complete"
    partial = "partial"
    escalated = "escalated"


class Category(str, Enum):
    emergency = "emergency"
    medical_advice = "medical_advice"
    violation_report = "violation_report"
    social_welfare = "social_welfare"
    essential_supplies = "essential_supplies"
    other = "other"


class Priority(str, Enum):
    high = "high"
    normal = "normal"


# --- the form ------------------------------------------------------------------------------------------
class Slot(StrEnum):
    """What a ticket needs from the caller, in the order the form asks for it (the first one still empty is
    asked next)."""

    name = "name"
    address = "address"
    need = "need"

    @property
    def question(self) -> Question:
        return Question(self.value)


class Question(StrEnum):
    """What the bot waits for an answer to: a slot, the ward of an address heard without one, "did you say X?"
    (``check``), the read-back, and which part of the read-back is wrong."""

    name = "name"
    address = "address"
    ward = "ward"
    need = "need"
    check = "check"
    readback = "readback"
    which_slot = "which_slot"
    lookup = "lookup"  # the 8 digits of a ticket whose status the caller wants read (keypad 9 at the greeting)

    @property
    def slot(self) -> Slot | None:
        """The slot an answer fills (the ward completes the address); None for the other questions."""
        return Slot.address if self is Question.ward else _SLOTS_BY_VALUE.get(self.value)


_SLOTS_BY_VALUE = {slot.value: slot for slot in Slot}


class Escalation(StrEnum):
    """Why a call left the bot's form: a person asked for (or the form could not finish), an emergency, or a
    callback because nobody was free."""

    operator = "operator"
    emergency = "emergency"
    callback = "callback"


# --- a call's turns and the telephony side (stored in the database, pushed by the PBX, set in the settings) --
class TurnKind(StrEnum):
    speech = "speech"
    dtmf = "dtmf"
    no_input = "no_input"
    barge_in = "barge_in"
    bot = "bot"


class Speaker(StrEnum):
    caller = "caller"
    bot = "bot"


class OperatorStatus(StrEnum):
    available = "available"
    busy = "busy"
    offline = "offline"


class OverflowMode(StrEnum):
    # front-door: the PBX sends every call here and the bot redirects to a free operator; overflow-target:
    # the PBX sends only the calls its operators cannot take
    front_door = "front-door"
    overflow_target = "overflow-target"


class ContactStatus(StrEnum):
    """A campaign contact's state (``callbot.campaign``): pending until it is final."""

    pending = "pending"  # will be called (first attempt, or a retry once its delay has passed)
    confirmed = "confirmed"  # pressed 1 (or said yes): heard the message
    answered_no_confirm = "answered_no_confirm"  # answered, never confirmed (silent, hung up, asked for a person)
    machine = "machine"  # an answering machine or voicemail greeted
    busy = "busy"
    no_answer = "no_answer"
    failed = "failed"
    do_not_call = "do_not_call"  # on the do-not-call list: never dialled
    outside_window = "outside_window"  # due, waiting for the calling window to open (not final)


class CampaignState(StrEnum):
    created = "created"  # not started yet
    running = "running"  # the node's dialers (or `callbot campaign run`) call it
    paused = "paused"
    cancelled = "cancelled"
    finished = "finished"  # every contact is final


@dataclass(slots=True)
class TicketDraft:
    """What the dialogue captured; the store turns it into a ticket with a number."""

    call_id: str
    locale: str
    outcome: Outcome
    caller_id: str | None = None
    name: str | None = None
    anonymous: bool = False  # the caller declined to give a name (a valid answer, not a missing one)
    address_text: str | None = None
    ward_code: str | None = None
    ward_name: str | None = None
    province_code: str | None = None
    province_name: str | None = None
    need_text: str | None = None
    category: Category = Category.other
    priority: Priority = Priority.normal
    escalation: Escalation | None = None
    needs_transcription: bool = False
    notes: list[str] = field(default_factory=list)


# --- caller events (audio/telephony -> dialogue) ----------------------------------------------------
@dataclass(frozen=True, slots=True)
class FinalTranscript:
    text: str
    confidence: float = 1.0
    transcript: Transcript | None = None


@dataclass(frozen=True, slots=True)
class DtmfInput:
    digits: str


@dataclass(frozen=True, slots=True)
class NoInput:
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Hangup:
    pass


@dataclass(frozen=True, slots=True)
class TicketFiled:
    """The store reports the ticket number back so the dialogue can read it to the caller."""

    number: str


@dataclass(frozen=True, slots=True)
class TransferResult:
    """Telephony reports whether a transfer found someone (``ok``) or nobody was free."""

    ok: bool


@dataclass(frozen=True, slots=True)
class RecordedAnswer:
    """Record-only mode (no ASR model for the locale): the caller answered the current question, kept as a clip.

    There is no text to understand: the dialogue takes the answer as given (the ticket is flagged
    ``needs_transcription``), skips confirmations and read-back, and moves on to the next question.
    """

    clip: str  # path of the answer's WAV
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class TicketLookedUp:
    """The runtime's answer to ``LookupTicket``: what a caller may hear of the ticket, or why nothing.
    ``found``: status (a ``TicketStatus`` value), the responsible unit's name (None: not assigned), the day of
    the last update (local); ``not_found``; ``limited`` (too many lookups from this caller); ``failed``."""

    result: Literal["found", "not_found", "limited", "failed"]
    number: str
    status: str | None = None
    unit: str | None = None
    updated: date | None = None


CallerEvent = Union[FinalTranscript, DtmfInput, NoInput, Hangup, TicketFiled, TransferResult, RecordedAnswer,
                    TicketLookedUp]


# --- decisions (dialogue -> audio/telephony/store) ----------------------------------------------------
@dataclass(frozen=True, slots=True)
class Speak:
    """Say something without expecting an answer. ``key`` names the prompt (for the prompt cache)."""

    text: str
    key: str | None = None
    barge_in: bool = True
    cached: bool = False  # the same text for many calls (a campaign's message): kept in the prompt cache
    recording: str | None = None  # a WAV played instead of the text (a campaign's recorded message)
    locale: str | None = None  # said in this language rather than the call's (a campaign's message)


@dataclass(frozen=True, slots=True)
class Ask:
    """Say a question and listen. Carries what the audio side needs for this question."""

    text: str
    slot: str  # "name" | "address" | "need" | "confirm" | "which_slot" | "ward" ...
    key: str | None = None
    phrases: tuple[str, ...] | None = None  # grammar / phrase list for a constrained answer; None = free speech
    end_silence_ms: int | None = None  # None = the configured default
    no_input_timeout_s: float | None = None
    barge_in: bool = True
    dtmf_digits: int = 1  # how many keypad digits make a complete answer


@dataclass(frozen=True, slots=True)
class FileTicket:
    draft: TicketDraft


@dataclass(frozen=True, slots=True)
class Transfer:
    target: Literal["operator", "emergency", "fallback"]
    ticket_number: str | None = None


@dataclass(frozen=True, slots=True)
class EndCall:
    reason: str = "done"


@dataclass(frozen=True, slots=True)
class LookupTicket:
    """Read a ticket's status for the caller (8 digits, check digit already valid); answered by ``TicketLookedUp``."""

    number: str


Decision = Union[Speak, Ask, FileTicket, Transfer, EndCall, LookupTicket]
