"""Campaigns and the do-not-call list over HTTP: /api/campaigns... and /api/do-not-call... (JSON), and the
/campaigns pages (progress, charts, the contacts' statuses, pause/resume/cancel). Only supervisors and admins:
a report lists the contacts' phone numbers (citizen data). Creating a campaign stays on the command line
(`callbot campaign create`: the contact CSV and its line-numbered problems belong in a terminal)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from callbot.api.charts import bar_chart, column_chart
from callbot.api.deps import CampaignManager, SessionDep, UiCampaignManager
from callbot.api.routes_api import AUTH_RESPONSES, BODY_RESPONSES, Limit, Offset, single_valued_query
from callbot.api.ui import DISPLAY_ZONE, check_form_csrf, language_of, render
from callbot.campaign.numbers import InvalidPhoneNumber, normalize_number
from callbot.campaign.report import contact_row, report_csv, report_json
from callbot.store import campaigns as store_campaigns
from callbot.store import do_not_call
from callbot.store.campaigns import TRANSITIONS, CampaignReport
from callbot.store.errors import CampaignNotFound, InvalidChange
from callbot.types import CampaignState, ContactStatus

api = APIRouter(prefix="/api", tags=["campaigns"], responses=AUTH_RESPONSES,
                dependencies=[Depends(single_valued_query)])
pages = APIRouter(include_in_schema=False)

NamePath = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
# A Vietnamese number in any of its forms, digits only (what callbot.campaign.numbers accepts): 0912345678,
# +84912345678, 84912345678, 0084912345678, landlines 02xxxxxxxxx.
PhonePath = Annotated[str, Path(max_length=16, pattern=r"^(\+84|0084|84|0)([35789][0-9]{8}|2[0-9]{9})$")]
Action = Literal["start", "pause", "resume", "cancel"]


class CampaignSummary(BaseModel):
    name: str
    state: CampaignState
    locale: str
    total: int
    final: int
    counts: dict[str, int]


class StateChange(BaseModel):
    action: Action


class DoNotCallEntry(BaseModel):
    number: str
    added_by: str | None = None


class DoNotCallPage(BaseModel):
    items: list[DoNotCallEntry]
    total: int
    offset: int = Field(ge=0)
    limit: int = Field(ge=1)


def _report(session: Session, name: str) -> CampaignReport:
    try:
        return store_campaigns.campaign_report(session, name=name)
    except CampaignNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such campaign") from None


def change(session: Session, name: str, action: Action, actor: str) -> CampaignState:
    """The state after ``action``; asking for the state a campaign is already in is not an error."""
    campaign = _report(session, name).campaign
    if CampaignState(campaign.state) == TRANSITIONS[action][1]:
        return CampaignState(campaign.state)
    try:
        return CampaignState(store_campaigns.change_state(session, name=name, action=action, actor=actor).state)
    except InvalidChange as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


def summaries(session: Session) -> list[CampaignSummary]:
    found = []
    for campaign, counts in store_campaigns.list_campaigns(session):
        final = sum(n for s, n in counts.items() if ContactStatus(s) in store_campaigns.FINAL_STATUSES)
        found.append(CampaignSummary(name=campaign.name, state=campaign.state, locale=campaign.locale,
                                     total=sum(counts.values()), final=final, counts=counts))
    return found


# --- JSON ---------------------------------------------------------------------------------------------
@api.get("/campaigns", response_model=list[CampaignSummary])
def list_campaigns(session: SessionDep, _manager: CampaignManager) -> list[CampaignSummary]:
    """Every campaign with its progress (counts only, no numbers)."""
    return summaries(session)


@api.get("/campaigns/{name}/report", responses={200: {"content": {"text/csv": {}}},
                                                 404: {"description": "no such campaign"}})
def campaign_report(name: NamePath, session: SessionDep, _manager: CampaignManager,
                    format: Literal["json", "csv"] = "json") -> Response:
    """The report of `callbot campaign report`: JSON {campaign, state, counts, contacts[]} or CSV."""
    report = _report(session, name)
    if format == "csv":
        return PlainTextResponse(report_csv(report), media_type="text/csv")
    return Response(content=json.dumps(report_json(report), ensure_ascii=False), media_type="application/json")


@api.post("/campaigns/{name}/state", response_model=CampaignSummary,
          responses={**BODY_RESPONSES, 404: {"description": "no such campaign"},
                     409: {"description": "not from its current state"}})
def change_campaign(name: NamePath, body: StateChange, session: SessionDep,
                    manager: CampaignManager) -> CampaignSummary:
    """start | pause | resume | cancel (audit-logged); the node's workers follow within a second."""
    change(session, name, body.action, manager.name)
    return next(s for s in summaries(session) if s.name == name)


@api.get("/do-not-call", response_model=DoNotCallPage)
def list_do_not_call(session: SessionDep, _manager: CampaignManager, offset: Offset = 0,
                     limit: Limit = 200) -> DoNotCallPage:
    rows, total = do_not_call.list_numbers(session, offset=offset, limit=limit)
    return DoNotCallPage(items=[DoNotCallEntry(number=r.number, added_by=r.added_by) for r in rows], total=total,
                         offset=offset, limit=limit)


def _phone(text: str) -> str:
    try:
        return normalize_number(text)
    except InvalidPhoneNumber as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


@api.put("/do-not-call/{phone}", response_model=DoNotCallEntry,
         responses={422: {"description": "not a phone number"}})
def add_do_not_call(phone: PhonePath, session: SessionDep, manager: CampaignManager) -> DoNotCallEntry:
    """Never call this number (any form: 0912..., +84912...); no campaign dials it from now on."""
    normalized = _phone(phone)
    do_not_call.add_numbers(session, numbers=[normalized], actor=manager.name)
    return DoNotCallEntry(number=normalized, added_by=manager.name)


@api.delete("/do-not-call/{phone}", responses={422: {"description": "not a phone number"}})
def remove_do_not_call(phone: PhonePath, session: SessionDep, manager: CampaignManager) -> dict[str, bool]:
    return {"removed": do_not_call.remove_number(session, number=_phone(phone), actor=manager.name)}


# --- pages --------------------------------------------------------------------------------------------
@pages.get("/campaigns")
def campaigns_page(request: Request, session: SessionDep, principal: UiCampaignManager) -> HTMLResponse:
    return render(request, "campaigns.html", {"campaigns": summaries(session)}, principal)


@pages.get("/campaigns/{name}")
def campaign_page(name: NamePath, request: Request, session: SessionDep,
                  principal: UiCampaignManager) -> HTMLResponse:
    translate = request.app.state.catalogue.translator(language_of(request))
    report = _report(session, name)
    ended = store_campaigns.attempt_log(session, campaign_id=report.campaign.id or 0)
    per_minute: dict[str, int] = {}
    if ended:
        first = ended[0][0].replace(second=0, microsecond=0)
        minutes = min(180, int((ended[-1][0] - first).total_seconds() // 60) + 1)
        per_minute = {(first + timedelta(minutes=m)).astimezone(DISPLAY_ZONE).strftime("%H:%M"): 0
                      for m in range(minutes)}
        for at, _ in ended:
            key = at.replace(second=0, microsecond=0).astimezone(DISPLAY_ZONE).strftime("%H:%M")
            if key in per_minute:
                per_minute[key] += 1
    counts = [(translate(f"contact_{s}"), n) for s, n in report.counts.items() if n]
    return render(request, "campaign.html", {
        "report": report, "state": CampaignState(report.campaign.state).value,
        "rows": [contact_row(contact) for contact in report.contacts],
        "percent": round(100 * report.final / report.total) if report.total else 100,
        "status_chart": bar_chart(counts, title=translate("campaign_statuses")),
        "attempts_chart": column_chart(list(per_minute.items()), title=translate("campaign_attempts_per_minute"),
                                       width=900, label_every=max(1, len(per_minute) // 12)),
        "actions": [a for a, (before, _) in TRANSITIONS.items() if report.campaign.state in before],
    }, principal)


@pages.post("/campaigns/{name}")
async def campaign_action(name: NamePath, request: Request, session: SessionDep,
                          principal: UiCampaignManager) -> Response:
    form = await request.form()
    check_form_csrf(principal, form)
    action = str(form.get("action", ""))
    if action not in TRANSITIONS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "action: start, pause, resume or cancel")
    change(session, name, action, principal.name)  # type: ignore[arg-type]
    return RedirectResponse(f"/campaigns/{name}", status_code=status.HTTP_303_SEE_OTHER)
