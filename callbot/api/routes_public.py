"""Routes without login: health, Prometheus metrics, the caller-facing ticket status lookup, the favicon."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from callbot.api.deps import StoreDep
from callbot.api.schemas import Health, TicketStatusPublic
from callbot.api.security import client_address
from callbot.store import parse_ticket_number, tickets
from callbot.ticket_numbers import InvalidTicketNumber

router = APIRouter()
FAVICON = FsPath(__file__).resolve().parent / "static" / "favicon.ico"


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    """Browsers ask for it on every first visit; a 404 in the log each time says something is broken."""
    return FileResponse(FAVICON, media_type="image/vnd.microsoft.icon", headers={"Cache-Control": "max-age=86400"})


@router.get("/healthz", response_model=Health, tags=["health"],
            responses={503: {"model": Health, "description": "the database is unreachable"}})
def healthz(store: StoreDep) -> Response:
    database = "ok" if store.database.ping() else "unreachable"
    body = Health(status="ok" if database == "ok" else "degraded", database=database,
                  journal_pending=len(store.call_log.journal.pending_calls()))
    return JSONResponse(body.model_dump(), status_code=200 if database == "ok" else 503)


@router.get("/metrics", response_class=PlainTextResponse, tags=["health"])
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/status/{number}", response_model=TicketStatusPublic, tags=["public"],
            responses={404: {"description": "no such ticket"}, 429: {"description": "too many lookups"}})
def caller_status(number: Annotated[str, Path(max_length=16)], request: Request,
                  store: StoreDep) -> TicketStatusPublic:
    """For callers following their request: only the status and the responsible unit, nothing personal.
    Rate-limited per client; unknown and mistyped numbers get the same answer."""
    client = client_address(request, request.app.state.trusted_proxies)
    if not request.app.state.status_limiter.allow(client):
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many lookups, try again later",
                            headers={"Retry-After": "60"})
    try:  # the session is opened here, not by a dependency: a database error is answered as an unknown number
        with store.session() as session:
            found = tickets.caller_status(session, number=parse_ticket_number(number))
    except (InvalidTicketNumber, SQLAlchemyError):
        found = None
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such ticket")
    return TicketStatusPublic(number=found.ticket.number, status=found.ticket.status, unit_name=found.unit_name)
