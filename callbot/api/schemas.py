"""What leaves through the API, defined once: each resource's <Name>Public, the pages and details around
them, and the mapping from what the store returns (table rows and plain dataclasses) to them. The API owns
URLs: a call with a recording carries the link it is served at."""

from __future__ import annotations

import re
import wave
from datetime import datetime
from pathlib import PurePath
from typing import Annotated

from pydantic import BeforeValidator
from sqlmodel import SQLModel

from callbot.store.calls import CallRecord
from callbot.store.models import (
    AuditEntry,
    AuditEntryBase,
    Call,
    CallBase,
    Operator,
    OperatorBase,
    Ticket,
    TicketBase,
    TicketStatus,
    TurnBase,
)
from callbot.ticket_numbers import format_ticket_number
from callbot.store.stats import CallStats
from callbot.store.tickets import TicketRecord, TicketView

# --- query parameters ---------------------------------------------------------------------------------
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _date_time_text(value: object) -> object:
    """A query's date-time is ISO 8601 with a time, as the schema says; pydantic alone would also take a bare date
    or a number of seconds since 1970 ("0.05"), which no client means."""
    if isinstance(value, str) and not _DATE_TIME.match(value.strip()):
        raise ValueError("must be an ISO 8601 date and time, e.g. 2026-07-01T08:00:00+07:00")
    return value


QueryDateTime = Annotated[datetime, BeforeValidator(_date_time_text)]


# --- resources ----------------------------------------------------------------------------------------
class CallPublic(CallBase):
    id: int
    has_recording: bool = False
    recording_url: str | None = None
    ticket_number: str | None = None


class TurnPublic(TurnBase):
    id: int


class TicketPublic(TicketBase):
    number: str
    display_number: str
    call_id: str
    caller_id: str | None
    locale: str
    outcome: str
    reason: str | None = None
    escalation: str | None
    status: TicketStatus
    unit_code: str | None
    unit_name: str | None = None
    assigned_to: str | None
    needs_transcription: bool
    clip_count: int = 0
    created_at: datetime
    updated_at: datetime
    approved_for_tuning: bool = False
    tuning_approved_by: str | None = None
    tuning_approved_at: datetime | None = None


class TuningTicketPublic(SQLModel):
    """A ticket approved as a tuning fixture, as engineers see it: which, and who approved it; nothing personal."""

    number: str
    display_number: str
    locale: str
    outcome: str
    approved_by: str
    approved_at: datetime


class TicketStatusPublic(SQLModel):
    """What a caller may see about a ticket: its status and who handles it, nothing personal."""

    number: str
    status: TicketStatus
    unit_name: str | None


class OperatorPublic(OperatorBase):
    id: int
    updated_at: datetime


class AuditEntryPublic(AuditEntryBase):
    id: int


class Stats(CallStats):
    pass  # the dashboard figures as /api/stats returns them (their fields: callbot.store.stats)


# --- pages and details ---------------------------------------------------------------------------------
class TicketPage(SQLModel):
    items: list[TicketPublic]
    total: int
    offset: int
    limit: int


class CallPage(SQLModel):
    items: list[CallPublic]
    total: int
    offset: int
    limit: int


class TuningTicketPage(SQLModel):
    items: list[TuningTicketPublic]
    total: int
    offset: int
    limit: int


class ClipPublic(SQLModel):
    """A record-only answer kept for transcription: which question it answers and how long it is."""

    url: str
    slot: str  # the question's slot (name, address, need, ...); the file is <slot>.wav, <slot>-2.wav when re-asked
    attempt: int = 1
    seconds: float | None = None  # None: the file is gone (retention) or unreadable


class TicketDetailPublic(SQLModel):
    ticket: TicketPublic
    call: CallPublic | None
    turns: list[TurnPublic]
    clip_urls: list[str] = []  # the caller's answers kept for transcription
    clips: list[ClipPublic] = []  # the same, with their slot and duration


class CallDetailPublic(SQLModel):
    call: CallPublic
    turns: list[TurnPublic]
    ticket: TicketPublic | None


class Health(SQLModel):
    status: str
    database: str
    journal_pending: int


class OperatorList(SQLModel):
    items: list[OperatorPublic]


# --- from the store's rows ------------------------------------------------------------------------------
def ticket_public(view: TicketView) -> TicketPublic:
    ticket = view.ticket
    return TicketPublic(
        **ticket.model_dump(exclude={"id", "clips", "notes"}),
        display_number=format_ticket_number(ticket.number),
        unit_name=view.unit_name,
        clip_count=len(ticket.clips or []),
        approved_for_tuning=ticket.tuning_approved_at is not None,
    )


def call_public(call: Call, ticket_number: str | None = None) -> CallPublic:
    return CallPublic(
        **call.model_dump(exclude={"recording_path"}),
        has_recording=bool(call.recording_path),
        recording_url=f"/api/calls/{call.id}/recording" if call.recording_path else None,
        ticket_number=ticket_number,
    )


def turns_public(record: TicketRecord | CallRecord) -> list[TurnPublic]:
    return [TurnPublic.model_validate(turn, from_attributes=True) for turn in record.turns]


def ticket_detail_public(record: TicketRecord) -> TicketDetailPublic:
    ticket = ticket_public(TicketView(record.ticket, record.unit_name))
    return TicketDetailPublic(
        ticket=ticket, call=call_public(record.call, ticket.number) if record.call else None,
        turns=turns_public(record), clip_urls=clip_urls(ticket.number, len(record.clips)),
        clips=[clip_public(url, path) for url, path in zip(clip_urls(ticket.number, len(record.clips)),
                                                           record.clips, strict=True)],
    )


def call_detail_public(record: CallRecord) -> CallDetailPublic:
    return CallDetailPublic(
        call=call_public(record.call, record.ticket.ticket.number if record.ticket else None),
        turns=turns_public(record), ticket=ticket_public(record.ticket) if record.ticket else None,
    )


def tuning_ticket_public(ticket: Ticket) -> TuningTicketPublic:
    return TuningTicketPublic(number=ticket.number, display_number=format_ticket_number(ticket.number),
                              locale=ticket.locale, outcome=ticket.outcome,
                              approved_by=ticket.tuning_approved_by or "",
                              approved_at=ticket.tuning_approved_at)


def operator_public(operator: Operator) -> OperatorPublic:
    return OperatorPublic.model_validate(operator, from_attributes=True)


def audit_entry_public(entry: AuditEntry) -> AuditEntryPublic:
    return AuditEntryPublic.model_validate(entry, from_attributes=True)


def stats_public(stats: CallStats) -> Stats:
    return Stats.model_validate(stats.model_dump())


def clip_urls(number: str, count: int) -> list[str]:
    return [f"/api/tickets/{number}/clips/{index}" for index in range(count)]


def clip_public(url: str, path: str) -> ClipPublic:
    stem = PurePath(path).stem
    base, dash, suffix = stem.rpartition("-")
    slot, attempt = (base, int(suffix)) if dash and suffix.isdigit() else (stem, 1)
    try:
        with wave.open(path, "rb") as clip:
            seconds: float | None = round(clip.getnframes() / clip.getframerate(), 1)
    except (OSError, EOFError, wave.Error):
        seconds = None
    return ClipPublic(url=url, slot=slot, attempt=attempt, seconds=seconds)
