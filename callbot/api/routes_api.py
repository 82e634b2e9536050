"""/api/...: tickets, calls and their recordings, operators, stats, audit (JSON; token or session auth).
Every route names the roles it admits (callbot.api.deps); citizen data is for supervisor, operator, admin."""

from __future__ import annotations

from collections import Counter
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, PlainTextResponse, Response
from sqlmodel import Session

from callbot.api.byte_ranges import ByteSpan, RangeNotSatisfiable, byte_span_response, parse_range, range_applies
from callbot.api.deps import (
    TUNING_APPROVERS,
    Auditor,
    CitizenDataReader,
    OperatorReader,
    OperatorStatusPusher,
    SessionDep,
    SettingsDep,
    StatsReader,
    TicketEditor,
)
from callbot.api.operator_uris import operator_uri_refusal
from callbot.api.schemas import (
    AuditEntryPublic,
    CallDetailPublic,
    CallPage,
    OperatorList,
    OperatorPublic,
    QueryDateTime,
    Stats,
    TicketDetailPublic,
    TicketPage,
    TicketPublic,
    audit_entry_public,
    call_detail_public,
    call_public,
    operator_public,
    stats_public,
    ticket_detail_public,
    ticket_public,
)
from callbot.store import (
    CallNotFound,
    InvalidChange,
    TicketFilter,
    TicketNotFound,
    TicketStatus,
    audit,
    calls,
    operators,
    parse_ticket_number,
    stats,
    tickets,
)
from callbot.store.models import OperatorStatusUpdate, TicketUpdate
from callbot.ticket_numbers import InvalidTicketNumber
from callbot.store.routing import Router
from callbot.types import Category, Escalation, Priority

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "no credentials, or unknown ones"},
    403: {"description": "your role may not do this (or a browser change without its CSRF token)"},
}
BODY_RESPONSES: dict[int | str, dict[str, Any]] = {400: {"description": "the body is not JSON"}}


def single_valued_query(request: Request) -> None:
    """Every query parameter of the API takes one value: ?status=new&status=closed is refused, not read as
    whichever came last."""
    counts = Counter(name for name, _ in request.query_params.multi_items())
    repeated = sorted(name for name, count in counts.items() if count > 1)
    if repeated:
        raise invalid("query", repeated[0], "given more than once; this parameter takes one value")


def invalid(location: str, name: str, message: str) -> RequestValidationError:
    """A 422 shaped like FastAPI's own (the documented HTTPValidationError), naming the field and why."""
    return RequestValidationError([{"type": "value_error", "loc": [location, name], "msg": message}])


router = APIRouter(prefix="/api", responses=AUTH_RESPONSES, dependencies=[Depends(single_valued_query)])

MAX_INT4 = 2_147_483_647
NoControl = r"^[^\x00-\x1f]*$"
TicketNumberPath = Annotated[str, Path(description="8 digits, shown NNNN-NNNN", max_length=16)]
CallIdPath = Annotated[int, Path(ge=1, le=MAX_INT4)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


Limit = Annotated[int, Query(ge=1, le=200)]


def ticket_number_or_404(number: str) -> str:
    try:
        return parse_ticket_number(number)
    except InvalidTicketNumber:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such ticket") from None


@router.get("/tickets", response_model=TicketPage, tags=["tickets"])
def list_tickets(
    session: SessionDep,
    _reader: CitizenDataReader,
    status_: Annotated[TicketStatus | None, Query(alias="status")] = None,
    category: Category | None = None,
    priority: Priority | None = None,
    ward: Annotated[str | None, Query(max_length=8, pattern=r"^[0-9]+$")] = None,
    province: Annotated[str | None, Query(max_length=8, pattern=r"^[0-9]+$")] = None,
    escalation: Annotated[Escalation | None, Query(description="callback: the calls owed a call-back")] = None,
    needs_transcription: Annotated[bool | None, Query(description="record-only answers not transcribed")] = None,
    since: QueryDateTime | None = None,
    until: QueryDateTime | None = None,
    q: Annotated[str | None, Query(max_length=200, pattern=NoControl, description="text search")] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> TicketPage:
    filters = TicketFilter(
        status=status_, category=category.value if category else None, priority=priority.value if priority else None,
        ward_code=ward.zfill(5) if ward else None, province_code=province.zfill(2) if province else None,
        escalation=escalation.value if escalation else None, needs_transcription=needs_transcription,
        since=since, until=until, text=q or None, offset=offset, limit=limit,
    )
    page = tickets.list_tickets(session, filters=filters)
    return TicketPage(items=[ticket_public(view) for view in page.items], total=page.total, offset=offset,
                      limit=limit)


@router.get("/tickets/{number}", response_model=TicketDetailPublic, tags=["tickets"],
            responses={404: {"description": "no such ticket"}})
def get_ticket(number: TicketNumberPath, session: SessionDep,
               _reader: CitizenDataReader) -> TicketDetailPublic:
    return ticket_detail_public(ticket_or_404(session, number))


def ticket_or_404(session: Session, number: str) -> tickets.TicketRecord:
    try:
        return tickets.get_ticket(session, number=ticket_number_or_404(number))
    except TicketNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such ticket") from None


@router.patch("/tickets/{number}", response_model=TicketPublic, tags=["tickets"],
              responses={**BODY_RESPONSES, 404: {"description": "no such ticket"},
                         409: {"description": "change not allowed"}})
def update_ticket(number: TicketNumberPath, update: TicketUpdate, session: SessionDep, settings: SettingsDep,
                  editor: TicketEditor) -> TicketPublic:
    """Assign, change status (only along the life cycle), correct a slot, or (supervisor, admin) approve the
    call as a tuning fixture engineers may export; each change is audit-logged. A corrected ward, province or
    category routes the ticket again (the unit change is audited too) unless the change sets ``unit_code``."""
    if "approved_for_tuning" in update.model_fields_set and editor.role not in TUNING_APPROVERS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a supervisor or an admin approves tickets for tuning")
    try:
        view = tickets.update_ticket(session, number=ticket_number_or_404(number), update=update,
                                     actor=editor.name, router=Router(settings.category_units))
    except TicketNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such ticket") from None
    except InvalidChange as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return ticket_public(view)


@router.get("/calls", response_model=CallPage, tags=["calls"])
def list_calls(session: SessionDep, _reader: CitizenDataReader, since: QueryDateTime | None = None,
               until: QueryDateTime | None = None, offset: Offset = 0, limit: Limit = 50) -> CallPage:
    page = calls.list_calls(session, offset=offset, limit=limit, since=since, until=until)
    items = [call_public(view.call, view.ticket_number) for view in page.items]
    return CallPage(items=items, total=page.total, offset=offset, limit=limit)


@router.get("/calls/{call_id}", response_model=CallDetailPublic, tags=["calls"],
            responses={404: {"description": "no such call"}})
def get_call(call_id: CallIdPath, session: SessionDep, _reader: CitizenDataReader) -> CallDetailPublic:
    try:
        return call_detail_public(calls.get_call(session, call_pk=call_id))
    except CallNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such call") from None


AUDIO_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"audio/wav": {}}, "description": "the whole file"},
    206: {"content": {"audio/wav": {}}, "description": "one byte range (Range: bytes=...)"},
    416: {"description": "the range starts beyond the end of the file"},
}


@router.get("/calls/{call_id}/recording", tags=["calls"], response_class=FileResponse,
            responses={**AUDIO_RESPONSES, 404: {"description": "no such call or no recording"}})
def get_recording(call_id: CallIdPath, request: Request, session: SessionDep,
                  listener: CitizenDataReader) -> Response:
    """The call's recording (WAV) with HTTP Range support so the browser's player can seek. Every response
    that carries audio is audit-logged with the bytes it carried."""
    try:
        path = calls.recording_path(session, call_pk=call_id)
    except CallNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such call") from None
    if path is None or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no recording for this call")
    return serve_audio(path, request, session, actor=listener.name, action="recording.view", target_type="call",
                       target_id=str(call_id), filename=f"call-{call_id}.wav")


@router.get("/tickets/{number}/clips/{index}", tags=["tickets"], response_class=FileResponse,
            responses={**AUDIO_RESPONSES, 404: {"description": "no such ticket or clip"}})
def get_clip(number: TicketNumberPath, index: Annotated[int, Path(ge=0, le=999)], request: Request,
             session: SessionDep, listener: CitizenDataReader) -> Response:
    """One of the caller's answers kept for a person to transcribe (tickets flagged needs_transcription)."""
    detail = ticket_or_404(session, number)
    if index >= len(detail.clips) or not FsPath(detail.clips[index]).is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such clip")
    return serve_audio(FsPath(detail.clips[index]), request, session, actor=listener.name, action="clip.view",
                       target_type="ticket", target_id=detail.ticket.number,
                       filename=f"ticket-{detail.ticket.number}-clip-{index}.wav")


def serve_audio(path: FsPath, request: Request, session: Session, *, actor: str, action: str, target_type: str,
                target_id: str, filename: str) -> Response:
    """A WAV with Range support. The rule: every response that carries bytes of the file gets one audit entry
    naming the bytes (a seek is a new response, so a new entry); it is written before the first byte leaves,
    and a failed write sends nothing. A 416 carries no audio and is not logged."""
    try:
        file_stat = path.stat()
    except FileNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the audio file is gone") from None
    span: ByteSpan | None = None
    if range_applies(request.headers.get("if-range"), file_stat):
        try:
            span = parse_range(request.headers.get("range"), file_stat.st_size)
        except RangeNotSatisfiable:
            return PlainTextResponse("range not satisfiable", status_code=status.HTTP_416_RANGE_NOT_SATISFIABLE,
                                     headers={"content-range": f"bytes */{file_stat.st_size}"})
    partial = span is not None
    span = span or ByteSpan(0, file_stat.st_size - 1, file_stat.st_size)
    audit.record_entry(session, actor=actor, action=action, target_type=target_type, target_id=target_id,
                       field="bytes", new_value=f"{span.content_range()} ({'206 range' if partial else '200 whole file'})")
    return byte_span_response(path, span, file_stat, partial=partial, media_type="audio/wav", filename=filename)


@router.get("/operators", response_model=OperatorList, tags=["operators"])
def list_operators(session: SessionDep, _reader: OperatorReader) -> OperatorList:
    return OperatorList(items=[operator_public(o) for o in operators.list_operators(session)])



OPERATOR_PUSH_RESPONSES: dict[int | str, dict[str, Any]] = {
    **BODY_RESPONSES, 422: {"description": "invalid, or outside CALLBOT_OPERATOR_DOMAINS and not a known operator"}}
OperatorUri = Annotated[str, Path(max_length=255, pattern=r"^(sips?|tel):[^\s\x00-\x1f]+$",
                                  description="the operator's SIP URI, e.g. sip:101@pbx.example.org")]


@router.put("/operators/{uri}", response_model=OperatorPublic, tags=["operators"],
            responses=OPERATOR_PUSH_RESPONSES)
@router.patch("/operators/{uri}", response_model=OperatorPublic, tags=["operators"], responses=OPERATOR_PUSH_RESPONSES)
def set_operator_status(uri: OperatorUri, update: OperatorStatusUpdate, session: SessionDep,
                        settings: SettingsDep, _pusher: OperatorStatusPusher) -> OperatorPublic:
    """For the PBX/ACD to push an operator's status (available, busy, offline). A new operator is accepted only
    on a host within CALLBOT_OPERATOR_DOMAINS, so front-door redirects never go to an arbitrary URI."""
    refusal = operator_uri_refusal(uri, settings, known=operators.operator_known(session, uri=uri))
    if refusal:
        raise invalid("path", "uri", refusal)
    operator = operators.set_operator_status(session, uri=uri, status=update.status, name=update.name)
    return operator_public(operator)


@router.get("/audit", response_model=list[AuditEntryPublic], tags=["audit"])
def audit_log(
    session: SessionDep,
    _auditor: Auditor,
    target_id: Annotated[str | None, Query(max_length=128, pattern=NoControl)] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=NoControl)] = None,
    limit: Limit = 100,
) -> list[AuditEntryPublic]:
    """Who did what, newest first: corrections, status changes, recording views, logins, deletions."""
    entries = audit.list_entries(session, target_id=target_id or None, action=action or None, limit=limit)
    return [audit_entry_public(entry) for entry in entries]


@router.get("/stats", response_model=Stats, tags=["stats"])
def get_stats(session: SessionDep, _reader: StatsReader, since: QueryDateTime | None = None,
              until: QueryDateTime | None = None) -> Stats:
    """Calls per hour, outcomes, categories and bot turn latency percentiles (default: the last 24 hours)."""
    return stats_public(stats.call_stats(session, since=since, until=until))
