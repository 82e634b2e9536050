"""/api/tuning/...: what engineers may take from real calls, only tickets a supervisor approved for tuning
(PATCH /api/tickets/{number} {"approved_for_tuning": true}, or the ticket page): the list, and each ticket's
fixture (conversation script + caller clips, as `callbot fixtures export` writes it) as one zip."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path as FsPath

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.responses import Response

from callbot.api.deps import FixtureExporter, SessionDep, SettingsDep
from callbot.api.routes_api import (
    AUTH_RESPONSES,
    Limit,
    Offset,
    TicketNumberPath,
    single_valued_query,
    ticket_number_or_404,
)
from callbot.api.schemas import TuningTicketPage, tuning_ticket_public
from callbot.store import tickets

router = APIRouter(prefix="/api/tuning", tags=["tuning"], responses=AUTH_RESPONSES,
                   dependencies=[Depends(single_valued_query)])


@router.get("/tickets", response_model=TuningTicketPage)
def approved_tickets(session: SessionDep, _exporter: FixtureExporter, offset: Offset = 0,
                     limit: Limit = 50) -> TuningTicketPage:
    """Tickets approved for tuning, newest approval first (numbers and who approved them, nothing personal)."""
    page = tickets.tickets_approved_for_tuning(session, offset=offset, limit=limit)
    return TuningTicketPage(items=[tuning_ticket_public(t) for t in page.items], total=page.total, offset=offset,
                            limit=limit)


@router.get("/tickets/{number}/fixture", response_class=Response,
            responses={200: {"content": {"application/zip": {}}, "description": "script and caller clips"},
                       404: {"description": "no ticket approved for tuning with this number, or no recording"}})
def export_fixture(number: TicketNumberPath, session: SessionDep, settings: SettingsDep,
                   exporter: FixtureExporter) -> Response:
    """The approved ticket as a regression case: ticket-<number>.yaml and answers/turn-NNN.wav in one zip
    (audit-logged as fixture.export). The files hold personal data: keep them on the hotline's machines."""
    from callbot.eval.export import ExportError, export_ticket  # numpy and soundfile: only when exporting

    digits = ticket_number_or_404(number)
    ticket = tickets.find_ticket(session, number=digits)
    if ticket is None or ticket.tuning_approved_at is None:  # the same answer for unknown and unapproved numbers
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no ticket approved for tuning with this number")
    with tempfile.TemporaryDirectory(prefix="callbot-fixture-") as folder:
        try:
            result = export_ticket(session, settings, digits, FsPath(folder), actor=exporter.name)
        except ExportError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in [result.script, *result.wavs]:
                archive.write(path, path.relative_to(folder).as_posix())
    return Response(buffer.getvalue(), media_type="application/zip",
                    headers={"content-disposition": f'attachment; filename="ticket-{digits}-fixture.zip"'})
