"""The access matrix: every route of the app (read from the app itself, so a new route fails this test until
it is classified) x every role (as a token and as a browser session) x nobody logged in. Roles that may not
read citizen data (engineer, monitor, pbx, anonymous) never get a name, address, phone number, need,
transcript or a byte of a recording in any answer; every other role gets exactly what the policy says."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.routing import iter_route_contexts
from httpx2 import Response

from callbot.store import Role, TicketUpdate
from callbot.store.models import UserPublic
from callbot.ticket_numbers import new_ticket_number
from tests.support.api import ApiWorld, make_world, tone_wav
from tests.support.campaigns import create
from tests.support.stores import audit_entries, change_ticket, draft, read_ticket, set_operator

# The policy, written out here independently of callbot.api.deps. PUBLIC: anyone, logged in or not.
PUBLIC = frozenset({"anonymous", *Role})
READERS = frozenset({Role.supervisor, Role.operator, Role.admin})
APPROVERS = frozenset({Role.supervisor, Role.admin})
STATS = frozenset({Role.supervisor, Role.operator, Role.admin, Role.engineer, Role.monitor})
EXPORTERS = frozenset({Role.engineer, Role.supervisor, Role.admin})
OPERATOR_READERS = frozenset({Role.supervisor, Role.operator, Role.admin, Role.engineer, Role.pbx})
PUSHERS = frozenset({Role.pbx, Role.supervisor, Role.admin})
ANY_USER = frozenset(Role)
MANAGERS = frozenset({Role.supervisor, Role.admin})  # campaigns and the do-not-call list
POLICY: dict[tuple[str, str], frozenset] = {
    ("GET", "/api/openapi.json"): PUBLIC, ("GET", "/api/docs"): PUBLIC, ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/healthz"): PUBLIC, ("GET", "/metrics"): PUBLIC, ("GET", "/status/{number}"): PUBLIC,
    ("GET", "/favicon.ico"): PUBLIC,
    ("GET", "/api/tickets"): READERS, ("GET", "/api/tickets/{number}"): READERS,
    ("PATCH", "/api/tickets/{number}"): READERS, ("GET", "/api/tickets/{number}/clips/{index}"): READERS,
    ("GET", "/api/calls"): READERS, ("GET", "/api/calls/{call_id}"): READERS,
    ("GET", "/api/calls/{call_id}/recording"): READERS, ("GET", "/api/audit"): APPROVERS,
    ("GET", "/api/operators"): OPERATOR_READERS, ("PUT", "/api/operators/{uri}"): PUSHERS,
    ("PATCH", "/api/operators/{uri}"): PUSHERS, ("GET", "/api/stats"): STATS,
    ("GET", "/api/tuning/tickets"): EXPORTERS, ("GET", "/api/tuning/tickets/{number}/fixture"): EXPORTERS,
    ("GET", "/login"): PUBLIC, ("POST", "/login"): PUBLIC, ("POST", "/logout"): ANY_USER, ("GET", "/"): ANY_USER,
    ("GET", "/tickets"): READERS, ("GET", "/tickets/{number}"): READERS, ("POST", "/tickets/{number}"): READERS,
    ("GET", "/dashboard"): STATS,
    ("GET", "/api/campaigns"): MANAGERS, ("GET", "/api/campaigns/{name}/report"): MANAGERS,
    ("POST", "/api/campaigns/{name}/state"): MANAGERS, ("GET", "/api/do-not-call"): MANAGERS,
    ("PUT", "/api/do-not-call/{phone}"): MANAGERS, ("DELETE", "/api/do-not-call/{phone}"): MANAGERS,
    ("GET", "/campaigns"): MANAGERS, ("GET", "/campaigns/{name}"): MANAGERS, ("POST", "/campaigns/{name}"): MANAGERS,
}
# What a citizen told the bot, and what is filed about them (tests.support.stores.file_call), plus the audio.
CITIZEN_TEXT = ["Nguyễn Văn An", "nguyễn văn an", "số 12 ngõ 34 phố Huế", "0912345678", "cần hỗ trợ lương thực"]
APPROVED_TEXT = ["Lê Thị Duyệt", "0987654321", "ngõ 5 phố Lò Đúc", "xin trợ cấp"]  # released by the approval


@dataclass
class Caller:
    """Who sends a request: nobody, a role's token, or a role's browser session."""

    label: str
    role: Role | None
    kind: str  # "anonymous" | "token" | "session"
    token: str | None = None
    user: UserPublic | None = None


@dataclass
class Matrix:
    world: ApiWorld
    approved: str  # a ticket approved for tuning (its fixture is what engineers may export)
    clip_ticket: str  # a ticket with an answer clip kept for transcription
    clip: bytes
    callers: list[Caller]


@pytest.fixture
def matrix(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Matrix]:
    for built in make_world(request, tmp_path, "sqlite", operator_domains=["pbx.local"]):
        store = built.store
        clip = tone_wav(tmp_path / "clip.wav", seconds=1.0, rate=16000)
        clip_ticket = store.call_log.file_ticket(draft=draft("clip-call", needs_transcription=True), clips=[clip])
        approved = approved_call(store, tone_wav(tmp_path / "tuning.wav", seconds=6.0))
        set_operator(store, uri="sip:101@pbx.local", status="offline")
        create(store, "notice", "0912345678,Nguyễn Văn An\n")  # a contact's number is citizen data
        callers = [Caller("anonymous", None, "anonymous")]
        for role in Role:
            callers.append(Caller(f"{role.value} token", role, "token",
                                  store.accounts.create_token(name=f"matrix-{role.value}", role=role)))
            user = store.accounts.create_user(username=f"matrix-{role.value}", password="matrix-password", role=role)
            callers.append(Caller(f"{role.value} session", role, "session", user=user))
        yield Matrix(built, approved, clip_ticket, clip.read_bytes(), callers)


def approved_call(store, recording: Path) -> str:  # type: ignore[no-untyped-def]
    """Another citizen's call, approved for tuning: what its export holds is released, nothing of the others."""
    started = datetime.now(UTC)
    log = store.call_log
    log.start_call(call_id="tuning-call", caller_id="0987654321", locale="vi", started_at=started)
    log.add_turn(call_id="tuning-call", speaker="caller", text="lê thị duyệt", confidence=0.9, start=1.0, end=2.5,
                 kind="speech", words=[{"word": "duyệt", "start": 2.0, "end": 2.5, "confidence": 0.9}])
    number = log.file_ticket(draft=draft("tuning-call", name="Lê Thị Duyệt", caller_id="0987654321",
                                         address_text="ngõ 5 phố Lò Đúc", need_text="xin trợ cấp"))
    log.finish_call(call_id="tuning-call", outcome="complete", ended_at=started, recording_path=recording)
    change_ticket(store, number, TicketUpdate(approved_for_tuning=True), actor="lan")
    return number


def app_routes(world: ApiWorld) -> set[tuple[str, str]]:
    routes = set()
    for route in iter_route_contexts(world.client.app.routes):
        for method in route.methods or ():
            if method != "HEAD":  # answered like GET by Starlette's own routes, 405 by the API's
                routes.add((method, route.path))
    return routes


def send(matrix: Matrix, caller: Caller, method: str, template: str) -> Response:
    world, store = matrix.world, matrix.world.store
    number = {"/api/tuning/tickets/{number}/fixture": matrix.approved,
              "/api/tickets/{number}/clips/{index}": matrix.clip_ticket}.get(template, world.number)
    path = template.format(number=number, call_id=world.call_id, index=0, uri="sip:101@pbx.local", name="notice",
                           phone="0912000999")
    headers = {"Host": "evil.example"}
    cookies: dict[str, str] = {}
    csrf = ""
    if caller.kind == "token":
        headers["Authorization"] = f"Bearer {caller.token}"
    elif caller.kind == "session":
        raw = store.accounts.create_session(caller.user)  # type: ignore[arg-type]  (a fresh one: logout ends it)
        cookies["callbot_session"] = raw
        csrf = store.accounts.principal_for_session(raw).csrf_token  # type: ignore[union-attr]
        headers["X-CSRF-Token"] = csrf
    world.client.cookies.clear()
    for name, value in cookies.items():
        world.client.cookies.set(name, value)
    ticket = read_ticket(store, world.number).ticket
    bodies = {
        ("PATCH", "/api/tickets/{number}"): {"json": {"priority": "normal"}},
        ("PUT", "/api/operators/{uri}"): {"json": {"status": "busy"}},
        ("PATCH", "/api/operators/{uri}"): {"json": {"status": "offline"}},
        ("POST", "/login"): {"data": {"username": "nobody", "password": "not-the-password", "form_token": "x"}},
        ("POST", "/logout"): {"data": {"csrf_token": csrf}},
        ("POST", "/api/campaigns/{name}/state"): {"json": {"action": "pause"}},  # paused again: not an error
        ("POST", "/campaigns/{name}"): {"data": {"csrf_token": csrf, "action": "pause"}},
        ("POST", "/tickets/{number}"): {"data": {
            "csrf_token": csrf, "name": ticket.name, "address_text": ticket.address_text,
            "ward_code": ticket.ward_code, "province_code": ticket.province_code, "category": ticket.category,
            "priority": ticket.priority, "need_text": ticket.need_text, "status": ticket.status.value}},
    }
    return world.client.request(method, path, headers=headers, follow_redirects=False,
                                 **bodies.get((method, template), {}))


def readable_text(response: Response) -> str:
    """Everything a client could read from the answer: headers, the body, and inside a zip its files."""
    parts = [str(response.headers), response.content.decode("utf-8", errors="replace")]
    if response.headers.get("content-type") == "application/zip":
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            parts += [archive.read(name).decode("utf-8", errors="replace") for name in archive.namelist()]
    return "\n".join(parts)


def test_every_route_is_in_the_policy(matrix: Matrix) -> None:
    routes = app_routes(matrix.world)
    assert routes == set(POLICY), f"unclassified: {routes - set(POLICY)}; gone: {set(POLICY) - routes}"


def test_access_matrix(matrix: Matrix) -> None:
    world = matrix.world
    recording = world.recording.read_bytes()
    audio_samples = [recording[2000:2400], matrix.clip[2000:2400]]
    checked = 0
    for method, template in sorted(POLICY):
        allowed = POLICY[(method, template)]
        ui = not template.startswith("/api/") and (method, template) not in (
            ("GET", "/healthz"), ("GET", "/metrics"), ("GET", "/status/{number}"), ("GET", "/docs/oauth2-redirect"),
            ("GET", "/favicon.ico"))
        for caller in matrix.callers:
            response = send(matrix, caller, method, template)
            where = f"{caller.label}: {method} {template} -> {response.status_code}"
            assert response.status_code < 500, where
            text = readable_text(response)
            assert "evil.example" not in text, where  # the Host header is never reflected
            may_read_citizens = caller.role in READERS
            if not may_read_citizens:
                released = template == "/api/tuning/tickets/{number}/fixture" and caller.role in EXPORTERS
                for marker in CITIZEN_TEXT + ([] if released else APPROVED_TEXT):
                    assert marker.lower() not in text.lower(), f"{where} leaks {marker!r}"
                assert not any(sample in response.content for sample in audio_samples), f"{where} leaks audio"
            key = "anonymous" if caller.role is None else caller.role
            effective = key if not (ui and caller.kind == "token") else "anonymous"  # pages take sessions only
            if allowed is PUBLIC:  # answered on its merits (POST /login refuses the matrix's forged form: 403)
                assert response.status_code != 401 and "/login?next" not in response.headers.get("location", ""), where
            elif effective in allowed:
                assert response.status_code < 400, where
            elif effective == "anonymous":
                expected = 303 if ui else 401
                assert response.status_code == expected, where
                if ui:
                    assert response.headers["location"].startswith("/login?next=/"), where
            else:
                assert response.status_code == 403, where
            checked += 1
    assert checked == len(POLICY) * len(matrix.callers) == 38 * 13
    print(f"access matrix: {len(POLICY)} routes x {len(matrix.callers)} callers = {checked} requests")


def test_fixture_export_only_of_approved_tickets(matrix: Matrix) -> None:
    world = matrix.world
    engineer = next(c for c in matrix.callers if c.role == Role.engineer and c.kind == "token")
    auth = {"Authorization": f"Bearer {engineer.token}"}
    listed = world.client.get("/api/tuning/tickets", headers=auth).json()
    assert [t["number"] for t in listed["items"]] == [matrix.approved] and listed["items"][0]["approved_by"] == "lan"
    assert "name" not in listed["items"][0]
    zipped = world.client.get(f"/api/tuning/tickets/{matrix.approved}/fixture", headers=auth)
    assert zipped.status_code == 200 and zipped.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        names = sorted(archive.namelist())
        script = archive.read(f"ticket-{matrix.approved}.yaml").decode()
    assert names == ["answers/turn-001.wav", f"ticket-{matrix.approved}.yaml"] and "Lê Thị Duyệt" in script
    assert all(marker.lower() not in script.lower() for marker in CITIZEN_TEXT)  # nobody else's data
    unapproved = world.client.get(f"/api/tuning/tickets/{world.number}/fixture", headers=auth)
    unknown = world.client.get(f"/api/tuning/tickets/{new_ticket_number()}/fixture", headers=auth)
    assert unapproved.status_code == unknown.status_code == 404 and unapproved.json() == unknown.json()
    [export] = audit_entries(world.store, action="fixture.export")
    assert (export.actor, export.target_id) == ("token:matrix-engineer", matrix.approved)
    # only supervisors and admins approve; an operator may edit the ticket but not release it
    operator = next(c for c in matrix.callers if c.role == Role.operator and c.kind == "token")
    refused = world.client.patch(f"/api/tickets/{world.number}", json={"approved_for_tuning": True},
                                 headers={"Authorization": f"Bearer {operator.token}"})
    assert refused.status_code == 403
    withdrawn = world.client.patch(f"/api/tickets/{matrix.approved}", json={"approved_for_tuning": False},
                                   headers=world.auth())
    assert withdrawn.status_code == 200 and not withdrawn.json()["approved_for_tuning"]
    assert world.client.get(f"/api/tuning/tickets/{matrix.approved}/fixture", headers=auth).status_code == 404
    changes = [(e.field, e.old_value, e.new_value) for e in audit_entries(world.store, target_id=matrix.approved)
               if e.action == "ticket.update"]
    assert changes == [("approved_for_tuning", "true", "false"), ("approved_for_tuning", "false", "true")]
