"""Response models of the API that wrap the store's public models (pages, details with URLs)."""

from __future__ import annotations

from sqlmodel import SQLModel

from callbot.store.models import CallPublic, OperatorPublic, TicketPublic, TurnPublic


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


class TicketDetailPublic(SQLModel):
    ticket: TicketPublic
    call: CallPublic | None
    turns: list[TurnPublic]
    clip_urls: list[str] = []  # the caller's answers kept for transcription


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


def recording_url(call: CallPublic | None) -> CallPublic | None:
    """The API owns URLs: a call with a recording gets the link its recording is served at."""
    if call is None or not call.has_recording:
        return call
    return call.model_copy(update={"recording_url": f"/api/calls/{call.id}/recording"})


def clip_urls(number: str, count: int) -> list[str]:
    return [f"/api/tickets/{number}/clips/{index}" for index in range(count)]
