"""Request dependencies: the store (a database session per request, the accounts, the settings), and who is
asking (a session cookie or a bearer token) with role checks."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from sqlmodel import Session

from callbot.config import Settings
from callbot.store import Accounts, Principal, Role, Store

SESSION_COOKIE = "callbot_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Who may do what (the README's roles table). Citizen data: tickets, calls, transcripts, recordings, clips and
# the audit log (which holds corrected values) are read by the first three roles only.
CITIZEN_DATA_READERS = frozenset({Role.supervisor, Role.operator, Role.admin})
TICKET_EDITORS = CITIZEN_DATA_READERS
TUNING_APPROVERS = frozenset({Role.supervisor, Role.admin})
AUDITORS = frozenset({Role.supervisor, Role.admin})
CAMPAIGN_MANAGERS = frozenset({Role.supervisor, Role.admin})  # campaigns and the do-not-call list (phone numbers)
STATS_READERS = frozenset({Role.supervisor, Role.operator, Role.admin, Role.engineer, Role.monitor})
FIXTURE_EXPORTERS = frozenset({Role.engineer, Role.supervisor, Role.admin})
OPERATOR_READERS = frozenset({Role.supervisor, Role.operator, Role.admin, Role.engineer, Role.pbx})
OPERATOR_STATUS_PUSHERS = frozenset({Role.pbx, Role.supervisor, Role.admin})

bearer_scheme = HTTPBearer(auto_error=False, description="API token for machines (`callbot tokens add`)")
cookie_scheme = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="browser session")


def get_store(request: Request) -> Store:
    return request.app.state.store


StoreDep = Annotated[Store, Depends(get_store)]


def get_session(store: StoreDep) -> Iterator[Session]:
    """One database session per request (503 from the app's handler when the database is unreachable)."""
    with store.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_accounts(store: StoreDep) -> Accounts:
    return store.accounts


AccountsDep = Annotated[Accounts, Depends(get_accounts)]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


class LoginRequired(Exception):
    """Raised by UI pages when nobody is logged in; answered with a redirect to the login page."""


def principal_from_request(request: Request, accounts: Accounts) -> Principal | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return accounts.principal_for_token(header[7:].strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return accounts.principal_for_session(cookie)
    return None


def require_roles(allowed: frozenset[Role]) -> Callable[..., Principal]:
    """An API dependency: 401 without credentials, 403 for the wrong role, 403 for a cookie-authenticated
    change without the session's CSRF token in the X-CSRF-Token header."""

    def dependency(
        request: Request,
        accounts: AccountsDep,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
        _cookie: Annotated[str | None, Depends(cookie_scheme)],
    ) -> Principal:
        principal = principal_from_request(request, accounts)
        if principal is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "authentication required",
                                headers={"WWW-Authenticate": "Bearer"})
        if principal.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "your role may not do this")
        if principal.kind == "user" and request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not (principal.csrf_token and hmac.compare_digest(sent, principal.csrf_token)):
                raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token")
        return principal

    return dependency


def ui_principal(request: Request, accounts: AccountsDep) -> Principal:
    principal = principal_from_request(request, accounts)
    if principal is None or principal.kind != "user":
        raise LoginRequired()
    return principal


class PageForbidden(Exception):
    """A logged-in user whose role may not see a page (an engineer on the ticket queue): a 403 page."""


def ui_principal_in(allowed: frozenset[Role]) -> Callable[..., Principal]:
    def dependency(principal: Annotated[Principal, Depends(ui_principal)]) -> Principal:
        if principal.role not in allowed:
            raise PageForbidden()
        return principal

    return dependency


UiCitizenDataReader = Annotated[Principal, Depends(ui_principal_in(CITIZEN_DATA_READERS))]
UiStatsReader = Annotated[Principal, Depends(ui_principal_in(STATS_READERS))]
UiCampaignManager = Annotated[Principal, Depends(ui_principal_in(CAMPAIGN_MANAGERS))]


CitizenDataReader = Annotated[Principal, Depends(require_roles(CITIZEN_DATA_READERS))]
TicketEditor = Annotated[Principal, Depends(require_roles(TICKET_EDITORS))]
StatsReader = Annotated[Principal, Depends(require_roles(STATS_READERS))]
FixtureExporter = Annotated[Principal, Depends(require_roles(FIXTURE_EXPORTERS))]
OperatorReader = Annotated[Principal, Depends(require_roles(OPERATOR_READERS))]
OperatorStatusPusher = Annotated[Principal, Depends(require_roles(OPERATOR_STATUS_PUSHERS))]
Auditor = Annotated[Principal, Depends(require_roles(AUDITORS))]
CampaignManager = Annotated[Principal, Depends(require_roles(CAMPAIGN_MANAGERS))]
UiUser = Annotated[Principal, Depends(ui_principal)]
