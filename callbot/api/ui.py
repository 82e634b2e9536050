"""The supervisors' pages (server-rendered Jinja2; Vietnamese by default, ?lang=en switches and sticks)."""

from __future__ import annotations

import hmac
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlmodel import Session

from callbot.api.charts import bar_chart, column_chart
from callbot.api.deps import (
    CAMPAIGN_MANAGERS,
    CITIZEN_DATA_READERS,
    SESSION_COOKIE,
    STATS_READERS,
    TICKET_EDITORS,
    TUNING_APPROVERS,
    AccountsDep,
    SessionDep,
    UiCitizenDataReader,
    UiStatsReader,
    UiUser,
    principal_from_request,
)
from callbot.api.i18n import LANG_COOKIE
from callbot.api.schemas import (
    TurnPublic,
    audit_entry_public,
    stats_public,
    ticket_detail_public,
    ticket_public,
)
from callbot.api.security import client_address
from callbot.api.ticket_page import clip_rows, history_rows, ward_choices, ward_code_for
from callbot.node.status import node_runs_record_only
from callbot.store import (
    InvalidChange,
    Principal,
    TicketFilter,
    TicketNotFound,
    TicketStatus,
    audit,
    parse_ticket_number,
    stats,
    tickets,
)
from callbot.store.models import ALLOWED_TRANSITIONS, TicketUpdate
from callbot.ticket_numbers import InvalidTicketNumber
from callbot.store.routing import Router, province_choices
from callbot.store.units import units_of_province
from callbot.types import CUT_MARK, Category, Escalation, Priority, Speaker

router = APIRouter(include_in_schema=False)
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
DISPLAY_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
PAGE_SIZE = 25
EDITABLE_TEXT = ("name", "address_text", "need_text", "assigned_to")


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.filters["localtime"] = lambda moment: (
        moment.astimezone(DISPLAY_ZONE).strftime("%Y-%m-%d %H:%M") if moment else "")
    templates.env.filters["clock"] = lambda seconds: f"{int(seconds // 60):02d}:{seconds % 60:04.1f}"
    return templates


def language_of(request: Request) -> str:
    catalogue = request.app.state.catalogue
    return catalogue.pick(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


def render(request: Request, template: str, context: dict[str, Any], principal: Principal | None = None,
           status_code: int = 200) -> HTMLResponse:
    language = language_of(request)
    response = request.app.state.templates.TemplateResponse(
        request, template,
        {"t": request.app.state.catalogue.translator(language), "lang": language, "user": principal,
         "languages": request.app.state.catalogue.languages,
         "sees_tickets": principal is not None and principal.role in CITIZEN_DATA_READERS,
         "sees_dashboard": principal is not None and principal.role in STATS_READERS,
         "sees_campaigns": principal is not None and principal.role in CAMPAIGN_MANAGERS, **context},
        status_code=status_code,
    )
    if request.query_params.get("lang") == language:
        response.set_cookie(LANG_COOKIE, language, max_age=365 * 86400, httponly=True, samesite="lax",
                            secure=_secure_cookies(request))
    return response


def _safe_next(target: str | None) -> str:
    """Only same-site paths: no open redirect through ?next= (no //host, no backslash, no control characters)."""
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and target.isprintable()):
        return target
    return "/"


def check_form_csrf(principal: Principal, form: Any) -> None:
    sent = str(form.get("csrf_token", ""))
    if not (principal.csrf_token and hmac.compare_digest(sent, principal.csrf_token)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token")


# --- login / logout ---------------------------------------------------------------------------------
LOGIN_NONCE_COOKIE = "callbot_login"  # the login form's double-submit CSRF nonce (callbot.api.security)
FAILED_LOGIN_NAME_MAX = 64


def _secure_cookies(request: Request) -> bool:
    return bool(request.app.state.settings.cookie_secure) or request.url.scheme == "https"


def _login_form(request: Request, *, next_target: str, error: str | None, status_code: int) -> HTMLResponse:
    """The login page with a fresh form token, bound to the nonce cookie it (re)sets."""
    nonce, form_token = request.app.state.login_tokens.issue(request.cookies.get(LOGIN_NONCE_COOKIE))
    no_users = not request.app.state.store.accounts.list_users()  # a fresh install: say how to add one
    response = render(request, "login.html", {"form_token": form_token, "next": next_target, "error": error,
                                              "no_users": no_users}, status_code=status_code)
    response.set_cookie(LOGIN_NONCE_COOKIE, nonce, max_age=3600, path="/login", httponly=True, samesite="strict",
                        secure=_secure_cookies(request))
    return response


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_form(request, next_target=_safe_next(next), error=None, status_code=200)


@router.post("/login")
async def login(request: Request, session: SessionDep, accounts: AccountsDep) -> Response:
    form = await request.form()
    target = _safe_next(str(form.get("next", "")))
    translate = request.app.state.catalogue.translator(language_of(request))
    client = client_address(request, request.app.state.trusted_proxies)

    def refuse(message_key: str, code: int) -> HTMLResponse:
        return _login_form(request, next_target=target, error=translate(message_key), status_code=code)

    if not request.app.state.login_tokens.valid(str(form.get("form_token", "")),
                                                request.cookies.get(LOGIN_NONCE_COOKIE)):
        return refuse("form_expired", status.HTTP_403_FORBIDDEN)
    if not request.app.state.login_limiter.allow(client):
        return refuse("login_failed", status.HTTP_429_TOO_MANY_REQUESTS)
    username = str(form.get("username", ""))
    attempt = accounts.attempt_login(username=username, password=str(form.get("password", "")))
    if attempt.user is None:
        # Audited with the name typed (never the password) and why; one message for every reason, so a
        # guesser learns neither which names exist nor which are locked.
        typed = "".join(ch if ch.isprintable() else "?" for ch in username)[:FAILED_LOGIN_NAME_MAX]
        reason = attempt.refusal or "refused"
        if attempt.locked_until is not None and reason != "disabled":
            reason += f", locked until {attempt.locked_until:%Y-%m-%d %H:%M:%S} UTC"
        audit.record_entry(session, actor=typed or "(empty)", action="login.failed", target_type="user",
                           target_id=str(attempt.user_id) if attempt.user_id else "unknown", field="client",
                           old_value=client[:64], new_value=reason)
        return refuse("login_failed", status.HTTP_401_UNAUTHORIZED)
    user = attempt.user
    raw = accounts.create_session(user)
    audit.record_entry(session, actor=user.username, action="login", target_type="user", target_id=str(user.id),
                       field="client", new_value=client[:64])
    response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(SESSION_COOKIE, raw, httponly=True, samesite="strict", path="/",
                        secure=_secure_cookies(request), max_age=12 * 3600)
    response.delete_cookie(LOGIN_NONCE_COOKIE, path="/login", httponly=True, samesite="strict",
                           secure=_secure_cookies(request))
    return response


@router.post("/logout")
async def logout(request: Request, session: SessionDep, accounts: AccountsDep, principal: UiUser) -> Response:
    check_form_csrf(principal, await request.form())
    accounts.end_session(request.cookies.get(SESSION_COOKIE, ""))
    audit.record_entry(session, actor=principal.name, action="logout", target_type="user",
                       target_id=principal.name)
    response = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure_cookies(request))
    return response


@router.get("/")
def home(principal: UiUser) -> RedirectResponse:
    target = "/tickets" if principal.role in CITIZEN_DATA_READERS else "/dashboard"
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


def forbidden_page(request: Request) -> HTMLResponse:
    """What a logged-in user sees on a page their role may not open (no citizen data in it)."""
    principal = principal_from_request(request, request.app.state.store.accounts)
    return render(request, "forbidden.html", {}, principal, status_code=status.HTTP_403_FORBIDDEN)


# --- ticket queue -----------------------------------------------------------------------------------
def _day_bound(day: str | None, end: bool) -> datetime | None:
    if not day:
        return None
    try:
        date = datetime.strptime(day, "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(date, time.max if end else time.min, tzinfo=DISPLAY_ZONE)


def _choice(value: str | None, enum: type) -> Any:
    try:
        return enum(value) if value else None
    except ValueError:
        return None


@router.get("/tickets")
def ticket_queue(
    request: Request,
    session: SessionDep,
    principal: UiCitizenDataReader,
    status_: Annotated[str | None, Query(alias="status")] = None,
    category: str | None = None,
    priority: str | None = None,
    ward: Annotated[str | None, Query(max_length=8)] = None,
    province: Annotated[str | None, Query(max_length=8)] = None,
    since: str | None = None,
    until: str | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    escalation: str | None = None,
    needs_transcription: str | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    filters = TicketFilter(
        status=_choice(status_, TicketStatus), category=getattr(_choice(category, Category), "value", None),
        priority=getattr(_choice(priority, Priority), "value", None),
        escalation=getattr(_choice(escalation, Escalation), "value", None),
        needs_transcription=True if needs_transcription == "1" else None,
        ward_code=ward.strip().zfill(5) if ward and ward.strip().isdigit() else None,
        province_code=province if province and province.isdigit() else None,
        since=_day_bound(since, end=False), until=_day_bound(until, end=True),
        text=(q or "").replace("\x00", "").strip() or None, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE,
    )
    result = tickets.list_tickets(session, filters=filters)
    chosen = {"status": status_ or "", "category": category or "", "priority": priority or "",
              "ward": ward or "", "province": province or "", "since": since or "", "until": until or "",
              "q": q or "", "escalation": filters.escalation or "",
              "needs_transcription": "1" if filters.needs_transcription else ""}
    kept = {k: v for k, v in chosen.items() if v}
    return render(request, "tickets.html", {
        "tickets": [ticket_public(view) for view in result.items], "total": result.total, "page": page,
        "pages": max(1, -(-result.total // PAGE_SIZE)), "filters": chosen,
        "page_link": lambda n: "/tickets?" + urlencode({**kept, "page": n}),
        "statuses": list(TicketStatus), "categories": list(Category), "priorities": list(Priority),
        "provinces": province_choices(), "escalations": list(Escalation),
        "record_only": node_runs_record_only(request.app.state.settings),
    }, principal)


# --- call page (ticket, transcript, recording) -------------------------------------------------------
def _transcript_rows(turns: list[TurnPublic], accept: float) -> list[dict[str, Any]]:
    """Each turn with its words flagged when the recognizer was unsure (below the accept threshold), and whether
    the caller cut the prompt short (marked in the reader's language by the page)."""
    rows = []
    for turn in turns:
        cut = turn.speaker == Speaker.bot and turn.text.endswith(CUT_MARK)
        if cut:
            turn = turn.model_copy(update={"text": turn.text.removesuffix(CUT_MARK)})
        if turn.words:
            words = [{"text": w.get("word", ""), "low": float(w.get("confidence", 1.0)) < accept} for w in turn.words]
        else:
            low = turn.speaker != Speaker.bot and turn.confidence is not None and turn.confidence < accept
            words = [{"text": turn.text, "low": low}]
        rows.append({"turn": turn, "words": words, "cut": cut})
    return rows


def _call_page(request: Request, session: Session, principal: Principal, number: str,
               error: str | None = None, status_code: int = 200) -> HTMLResponse:
    try:
        detail = ticket_detail_public(tickets.get_ticket(session, number=parse_ticket_number(number)))
    except (InvalidTicketNumber, TicketNotFound):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such ticket") from None
    current = TicketStatus(detail.ticket.status)
    history = audit.list_entries(session, target_id=detail.ticket.number, action="ticket.update", limit=50)
    translate = request.app.state.catalogue.translator(language_of(request))
    units = units_of_province(session, province_code=detail.ticket.province_code)
    return render(request, "ticket.html", {
        "ticket": detail.ticket, "call": detail.call, "transcript": _transcript_rows(
            detail.turns, request.app.state.settings.confidence_accept),
        "recording_url": detail.call.recording_url if detail.call else None,
        "clips": clip_rows(detail.clips, translate),
        "wards": ward_choices(units), "units": [unit for unit in units if unit.kind != "ward"] + [
            unit for unit in units if unit.kind == "ward" and unit.ward_code == detail.ticket.ward_code],
        "status_choices": [current, *sorted(ALLOWED_TRANSITIONS[current], key=list(TicketStatus).index)],
        "categories": list(Category), "priorities": list(Priority), "provinces": province_choices(),
        "history": history_rows(session, [audit_entry_public(entry) for entry in history], translate),
        "record_only": node_runs_record_only(request.app.state.settings),
        "can_edit": principal.role in TICKET_EDITORS, "can_approve": principal.role in TUNING_APPROVERS,
        "saved": request.query_params.get("saved") == "1",
        "error": error,
    }, principal, status_code=status_code)


@router.get("/tickets/{number}")
def call_page(number: str, request: Request, session: SessionDep, principal: UiCitizenDataReader) -> HTMLResponse:
    return _call_page(request, session, principal, number)


@router.post("/tickets/{number}")
async def correct_ticket(number: str, request: Request, session: SessionDep,
                         principal: UiCitizenDataReader) -> Response:
    form = await request.form()
    check_form_csrf(principal, form)
    if principal.role not in TICKET_EDITORS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "your role may not change tickets")
    translate = request.app.state.catalogue.translator(language_of(request))
    # Browsers send a textarea's line breaks as CR LF; a slot value keeps plain LF.
    values: dict[str, Any] = {key: (str(form.get(key, "")).replace("\r\n", "\n").strip() or None)
                              for key in EDITABLE_TEXT}
    for key in ("status", "category", "priority", "province_code"):
        if form.get(key):
            values[key] = str(form[key])
    if str(form.get("unit_code", "")) != str(form.get("unit_was", "")):  # a unit the supervisor chose
        values["unit_code"] = str(form.get("unit_code", "")) or None
    values["needs_transcription"] = form.get("needs_transcription") == "on"
    if principal.role in TUNING_APPROVERS:  # the checkbox is on their form only
        values["approved_for_tuning"] = form.get("approved_for_tuning") == "on"
    try:
        values["ward_code"] = ward_code_for(session, province_code=values.get("province_code"),
                                            picked=str(form.get("ward", "")))
        update = TicketUpdate.model_validate(values)
        digits = parse_ticket_number(number)
        tickets.update_ticket(session, number=digits, update=update, actor=principal.name,
                              router=Router(request.app.state.settings.category_units))
    except (InvalidTicketNumber, TicketNotFound):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such ticket") from None
    except ValidationError as exc:
        reason = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return _call_page(request, session, principal, number, translate("change_refused", reason=reason), 422)
    except InvalidChange as exc:
        return _call_page(request, session, principal, number, translate("change_refused", reason=str(exc)), 409)
    return RedirectResponse(f"/tickets/{digits}?saved=1", status_code=status.HTTP_303_SEE_OTHER)


# --- dashboard --------------------------------------------------------------------------------------
@router.get("/dashboard")
def dashboard(request: Request, session: SessionDep, principal: UiStatsReader,
              hours: Annotated[int, Query(ge=1, le=24 * 31)] = 24) -> HTMLResponse:
    translate = request.app.state.catalogue.translator(language_of(request))
    until = datetime.now(DISPLAY_ZONE)
    figures = stats_public(stats.call_stats(session, since=until - timedelta(hours=hours), until=until))
    hourly = [(h.hour.astimezone(DISPLAY_ZONE).strftime("%Hh"), h.calls) for h in figures.calls_per_hour]
    latency = figures.turn_latency
    return render(request, "dashboard.html", {
        "stats": figures, "hours": hours, "record_only": node_runs_record_only(request.app.state.settings),
        "calls_chart": column_chart(hourly, title=translate("calls_per_hour"), width=1200,
                                    label_every=max(1, len(hourly) // 12)),
        "outcomes_chart": bar_chart([(translate(f"outcome_{k}"), v) for k, v in figures.outcomes.items()],
                                    title=translate("outcomes")),
        "categories_chart": bar_chart([(translate(f"category_{k}"), v) for k, v in figures.categories.items()],
                                      title=translate("categories")),
        "latency_chart": column_chart(
            [(name, value or 0) for name, value in (("p50", latency.p50_ms), ("p90", latency.p90_ms),
                                                    ("p99", latency.p99_ms))],
            title=translate("turn_latency"), width=360),
    }, principal)
