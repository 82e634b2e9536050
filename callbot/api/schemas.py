"""Response models of the API that wrap the store's public models (pages, details with URLs)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator
from sqlmodel import SQLModel

from callbot.store.models import CallPublic, OperatorPublic, TicketPublic, TurnPublic


_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _date_time_text(value: object) -> object:
    """A query's date-time is ISO 8601 with a time, as the schema says; pydantic alone would also take a bare date
    or a number of seconds since 1970 ("0.05"), which no client means."""
    if isinstance(value, str) and not _DATE_TIME.match(value.strip()):
        raise ValueError("must be an ISO 8601 date and time, e.g. 2026-07-01T08:00:00+07:00")
    return value


QueryDateTime = Annotated[datetime, BeforeValidator(_date_time_text)]


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
