"""The HTTP API on a real store (FastAPI TestClient): auth, filters, corrections with audit, recordings with
Range, operators pushed by the PBX, stats, the caller-facing status lookup, health and metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from callbot.store import Role, operators
from callbot.types import Category, Outcome, TicketDraft
from tests.support.api import ApiWorld, login, make_world, tone_wav
from tests.support.stores import BACKENDS, audit_entries, draft, file_call, read_ticket, set_operator

API_GETS = ["/api/tickets", "/api/tickets/{number}", "/api/calls", "/api/calls/{call}", "/api/calls/{call}/recording",
            "/api/operators", "/api/stats", "/api/audit", "/api/tickets/{number}/clips/0"]


def test_nothing_about_a_citizen_without_credentials(world: ApiWorld) -> None:
    for template in API_GETS:
        path = template.format(number=world.number, call=world.call_id)
        assert world.client.get(path).status_code == 401, path
        assert world.client.get(path, headers=world.auth("cbt_wrong")).status_code == 401, path
    assert world.client.patch(f"/api/tickets/{world.number}", json={"name": "x"}).status_code == 401
    assert world.client.put("/api/operators/sip:1@pbx", json={"status": "busy"}).status_code == 401


def test_ticket_list_filters_and_pages(world: ApiWorld) -> None:
    file_call(world.store, "api-2", category=Category.emergency, ward_code="26506", province_code="79")
    get = lambda **params: world.client.get("/api/tickets", params=params, headers=world.auth()).json()
    everything = get()
    assert everything["total"] == 2 and everything["limit"] == 50
    assert [t["category"] for t in get(category="emergency")["items"]] == ["emergency"]
    assert get(province="79")["total"] == 1 and get(ward="26506")["total"] == 1 and get(ward="70")["total"] == 1
    assert get(status="new")["total"] == 2 and get(status="closed")["total"] == 0
    assert get(q="Nguyễn")["total"] == 2 and get(q=world.number[:4] + "-" + world.number[4:])["total"] == 1
    assert get(since="2999-01-01T00:00:00Z")["total"] == 0
    page = get(limit=1, offset=1)
    assert page["total"] == 2 and len(page["items"]) == 1
    bad = world.client.get("/api/tickets", params={"status": "lost"}, headers=world.auth())
    assert bad.status_code == 422


def test_ticket_detail_has_call_transcript_and_recording_link(world: ApiWorld) -> None:
    shown = f"{world.number[:4]}-{world.number[4:]}"
    body = world.client.get(f"/api/tickets/{shown}", headers=world.auth()).json()
    assert body["ticket"]["number"] == world.number and body["ticket"]["unit_name"] == "UBND Phường Hoàn Kiếm"
    assert body["call"]["recording_url"] == f"/api/calls/{world.call_id}/recording"
    assert "recording_path" not in body["call"]
    assert [t["speaker"] for t in body["turns"]] == ["bot", "caller"]
    for missing in ("12345678", "1234-5670", "abc"):
        assert world.client.get(f"/api/tickets/{missing}", headers=world.auth()).status_code == 404


def test_patch_assigns_moves_status_and_corrects_slots_with_audit(world: ApiWorld) -> None:
    url = f"/api/tickets/{world.number}"
    ok = world.client.patch(url, json={"assigned_to": "minh", "name": "Nguyễn Văn Ân"}, headers=world.auth())
    assert ok.status_code == 200 and ok.json()["status"] == "assigned" and ok.json()["name"] == "Nguyễn Văn Ân"
    refused = world.client.patch(url, json={"status": "closed"}, headers=world.auth())
    assert refused.status_code == 200  # assigned -> closed is allowed
    again = world.client.patch(url, json={"status": "new"}, headers=world.auth())
    assert again.status_code == 409 and "closed" in again.json()["detail"]
    assert world.client.patch(url, json={"ward_code": "abc"}, headers=world.auth()).status_code == 422
    assert world.client.patch(url, json={"name": "a\x00b"}, headers=world.auth()).status_code == 422
    entries = {(e.field, e.old_value, e.new_value, e.actor)
               for e in audit_entries(world.store, target_id=world.number)}
    assert ("name", "Nguyễn Văn An", "Nguyễn Văn Ân", "token:ci") in entries
    assert ("status", "assigned", "closed", "token:ci") in entries


def test_roles_and_csrf_for_browser_sessions(world: ApiWorld) -> None:
    url = f"/api/tickets/{world.number}"
    csrf = login(world.client, "lan")
    assert world.client.get(url).status_code == 200  # the session cookie works for reads
    assert world.client.patch(url, json={"name": "x y"}).status_code == 403  # no CSRF header
    assert world.client.patch(url, json={"name": "x y"}, headers={"X-CSRF-Token": "nope"}).status_code == 403
    assert world.client.patch(url, json={"name": "x y"}, headers={"X-CSRF-Token": csrf}).status_code == 200
    engineer = world.store.accounts.create_token(name="eng", role=Role.engineer)
    assert world.client.patch(url, json={"name": "z"}, headers=world.auth(engineer)).status_code == 403
    assert world.client.get(f"/api/calls/{world.call_id}/recording", headers=world.auth(engineer)).status_code == 403
    assert world.client.get("/api/audit", headers=world.auth(engineer)).status_code == 403


def test_operators_pushed_by_the_pbx(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    for built in make_world(request, tmp_path, "sqlite", operator_domains=["pbx.local"],
                            operator_uris=["sip:900@acd.example"]):
        pbx = built.store.accounts.create_token(name="pbx", role=Role.pbx)
        put = built.client.put("/api/operators/sip:101@pbx.local", json={"status": "available", "name": "Hoa"},
                               headers=built.auth(pbx))
        assert put.status_code == 200 and put.json()["status"] == "available"
        free = built.store.call_log.free_operator()
        assert free is not None and free.uri == "sip:900@acd.example"  # seeded first
        built.client.put("/api/operators/sip:900@acd.example", json={"status": "busy"}, headers=built.auth(pbx))
        assert built.store.call_log.free_operator().uri == "sip:101@pbx.local"  # type: ignore[union-attr]
        patch = built.client.patch("/api/operators/sip:101@pbx.local", json={"status": "busy"},
                                   headers=built.auth(pbx))
        assert patch.status_code == 200 and built.store.call_log.free_operator() is None
        listed = built.client.get("/api/operators", headers=built.auth()).json()["items"]
        assert [(o["uri"], o["status"], o["name"]) for o in listed] == [
            ("sip:101@pbx.local", "busy", "Hoa"), ("sip:900@acd.example", "busy", None)]
        assert built.client.put("/api/operators/sip:101@pbx.local", json={"status": "asleep"},
                                headers=built.auth(pbx)).status_code == 422
        assert built.client.put("/api/operators/not-a-uri", json={"status": "busy"},
                                headers=built.auth(pbx)).status_code == 422
        # the PBX token does nothing else; an engineer's token does not push operators
        assert built.client.get("/api/tickets", headers=built.auth(pbx)).status_code == 403
        assert built.client.get("/api/stats", headers=built.auth(pbx)).status_code == 403
        engineer = built.store.accounts.create_token(name="eng", role=Role.engineer)
        assert built.client.put("/api/operators/sip:101@pbx.local", json={"status": "available"},
                                headers=built.auth(engineer)).status_code == 403


@pytest.mark.parametrize(("uri", "accepted"), [
    ("sip:102@pbx.local", True),  # within CALLBOT_OPERATOR_DOMAINS
    ("sips:103@east.pbx.local:5061;transport=tls", True),  # a subdomain, port and parameters
    ("sip:104@PBX.LOCAL.", True),  # host names are case-insensitive; a trailing dot is the same host
    ("sip:900@acd.example", True),  # configured in CALLBOT_OPERATOR_URIS
    ("sip:premium-0900123@evil.example", False),
    ("sip:105@pbx.local.evil.example", False),  # a suffix trick
    ("sip:106@evilpbx.local", False),  # not a subdomain, just the same ending
    ("sip:107@pbx.local@evil.example", False),  # the host is what follows the last @
    ("tel:+84900123456", False),  # no SIP host: only as a known operator
])
def test_operator_uris_only_within_the_configured_domains(request: pytest.FixtureRequest, tmp_path: Path,
                                                         uri: str, accepted: bool) -> None:
    for built in make_world(request, tmp_path, "sqlite", operator_domains=["pbx.local"],
                            operator_uris=["sip:900@acd.example"]):
        answer = built.client.put(f"/api/operators/{uri}", json={"status": "available"}, headers=built.auth())
        if accepted:
            assert answer.status_code == 200, answer.text
        else:
            assert answer.status_code == 422, answer.text
            [error] = answer.json()["detail"]
            assert error["loc"] == ["path", "uri"] and "CALLBOT_OPERATOR_DOMAINS" in error["msg"]
            with built.store.session() as session:
                assert all(o.uri != uri for o in operators.list_operators(session))


def test_known_operators_stay_accepted_outside_the_domains(world: ApiWorld) -> None:
    """No domain configured: only operators already known (registered rows, CALLBOT_OPERATOR_URIS) change."""
    refused = world.client.put("/api/operators/sip:101@pbx.local", json={"status": "available"}, headers=world.auth())
    assert refused.status_code == 422 and "none configured" in refused.json()["detail"][0]["msg"]
    set_operator(world.store, uri="sip:101@pbx.local", status="offline")  # an operator seeded earlier
    again = world.client.put("/api/operators/sip:101@pbx.local", json={"status": "available"}, headers=world.auth())
    assert again.status_code == 200 and again.json()["status"] == "available"


def test_recording_served_with_range_and_views_audited(world: ApiWorld) -> None:
    url = f"/api/calls/{world.call_id}/recording"
    whole = world.client.get(url, headers=world.auth())
    size = world.recording.stat().st_size
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/wav"
    assert whole.content == world.recording.read_bytes() and whole.headers["accept-ranges"] == "bytes"
    part = world.client.get(url, headers={**world.auth(), "Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == world.recording.read_bytes()[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{size}"
    views = world.client.get("/api/audit", params={"action": "recording.view"}, headers=world.auth()).json()
    assert [(v["actor"], v["target_id"], v["new_value"]) for v in views] == [
        ("token:ci", str(world.call_id), f"bytes 1000-1999/{size} (206 range)"),
        ("token:ci", str(world.call_id), f"bytes 0-{size - 1}/{size} (200 whole file)"),
    ]
    world.recording.unlink()
    assert world.client.get(url, headers=world.auth()).status_code == 404
    assert world.client.get("/api/calls/999999/recording", headers=world.auth()).status_code == 404


def test_clips_kept_for_transcription(world: ApiWorld, tmp_path: Path) -> None:
    clips = [tone_wav(tmp_path / f"clip{i}.wav", seconds=1.0) for i in range(2)]
    number = world.store.call_log.file_ticket(draft=draft("clips", needs_transcription=True), clips=clips)
    body = world.client.get(f"/api/tickets/{number}", headers=world.auth()).json()
    assert body["ticket"]["needs_transcription"] and body["ticket"]["clip_count"] == 2
    assert body["clip_urls"] == [f"/api/tickets/{number}/clips/0", f"/api/tickets/{number}/clips/1"]
    clip = world.client.get(body["clip_urls"][1], headers=world.auth())
    assert clip.status_code == 200 and clip.content == clips[1].read_bytes()
    assert world.client.get(f"/api/tickets/{number}/clips/2", headers=world.auth()).status_code == 404
    assert world.client.get(body["clip_urls"][0]).status_code == 401
    [view] = audit_entries(world.store, action="clip.view")
    assert view.target_id == number and view.actor == "token:ci"
    login(world.client, "lan")
    assert f'src="/api/tickets/{number}/clips/1"' in world.client.get(f"/tickets/{number}").text


def test_calls_and_stats(world: ApiWorld) -> None:
    calls = world.client.get("/api/calls", headers=world.auth()).json()
    assert calls["total"] == 1 and calls["items"][0]["ticket_number"] == world.number
    detail = world.client.get(f"/api/calls/{world.call_id}", headers=world.auth()).json()
    assert detail["ticket"]["number"] == world.number and len(detail["turns"]) == 2
    assert world.client.get("/api/calls/0", headers=world.auth()).status_code == 422
    assert world.client.get("/api/calls/424242", headers=world.auth()).status_code == 404
    stats = world.client.get("/api/stats", headers=world.auth()).json()
    assert stats["calls_total"] == 1 and stats["outcomes"] == {"complete": 1}
    assert stats["turn_latency"]["p50_ms"] == 350.0 and len(stats["calls_per_hour"]) >= 24


def test_query_times_are_iso_8601_date_times_not_bare_numbers(world: ApiWorld) -> None:
    """The document promises ISO 8601 date-times; a bare number (which pydantic reads as Unix seconds) or a bare
    date is a 422 naming the parameter (schemathesis found /api/stats?since=-8.6e-209&until=127 answered 200)."""
    for path in ("/api/stats", "/api/calls", "/api/tickets"):
        for query in ("since=-8.662544524568839e-209", "until=127", "since=nan", "since=0.05", "until=2999-01-01"):
            refused = world.client.get(f"{path}?{query}", headers=world.auth())
            assert refused.status_code == 422, (path, query)
            assert refused.json()["detail"][0]["loc"] == ["query", query.split("=")[0]]
        kept = world.client.get(f"{path}?since=2020-01-01T00:00:00Z&until=2999-01-01 08:00", headers=world.auth())
        assert kept.status_code == 200, (path, kept.text)


def test_caller_status_reveals_only_status_and_unit(world: ApiWorld) -> None:
    body = world.client.get(f"/status/{world.number[:4]}-{world.number[4:]}").json()
    assert body == {"number": world.number, "status": "new", "unit_name": "UBND Phường Hoàn Kiếm"}
    assert world.client.get("/status/12345678").status_code == 404  # bad check digit: same answer as unknown
    answers = [world.client.get("/status/11111111").status_code for _ in range(30)]
    assert 429 in answers  # rate-limited per client


def test_health_and_metrics(world: ApiWorld) -> None:
    assert world.client.get("/healthz").json() == {"status": "ok", "database": "ok", "journal_pending": 0}
    world.client.get("/api/tickets", headers=world.auth())
    text = world.client.get("/metrics").text
    assert 'callbot_tickets{status="new"} 1.0' in text
    assert 'callbot_http_requests_total{method="GET",route="/api/tickets",status="200"} 1.0' in text
    assert world.number not in text


def test_health_reports_an_unreachable_database(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    for built in make_world(request, tmp_path, "sqlite"):
        (tmp_path / "db").rename(tmp_path / "gone")
        response = built.client.get("/healthz")
        assert response.status_code == 503 and response.json()["database"] == "unreachable"
        assert built.client.get("/api/tickets", headers=built.auth()).status_code == 503
        (tmp_path / "gone").rename(tmp_path / "db")


@pytest.mark.postgres
def test_api_on_postgres(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    for built in make_world(request, tmp_path, "postgres"):
        assert built.client.get("/api/tickets", params={"q": "nguyễn"}, headers=built.auth()).json()["total"] == 1
        assert built.client.patch(f"/api/tickets/{built.number}", json={"status": "in_progress"},
                                  headers=built.auth()).status_code == 200
        assert built.client.get("/api/stats", headers=built.auth()).json()["calls_total"] == 1


REQUIRED_NULLS = [({"category": None}, "category"), ({"priority": None}, "priority"), ({"status": None}, "status"),
                  ({"needs_transcription": None}, "needs_transcription"),
                  ({"approved_for_tuning": None}, "approved_for_tuning"), ({"unit_code": ""}, "unit_code"),
                  ({"unit_code": "  "}, "unit_code"), ({"name": "a\x00b"}, "name"), ({"need_text": "x\ud800"}, "need_text"),
                  ({"status": "new", "category": None}, "category")]


@pytest.mark.parametrize("backend", BACKENDS)
def test_patch_refuses_a_null_where_a_value_is_required(request: pytest.FixtureRequest, tmp_path: Path,
                                                        backend: str) -> None:
    for built in make_world(request, tmp_path, backend):
        url = f"/api/tickets/{built.number}"
        before = read_ticket(built.store, built.number).ticket.model_dump()
        for body, field in REQUIRED_NULLS:
            answer = built.client.patch(url, content=json.dumps(body), headers={**built.auth(),  # \ud800 escaped
                                                                                "Content-Type": "application/json"})
            assert answer.status_code == 422, (body, answer.text)
            assert [error["loc"] for error in answer.json()["detail"]] == [["body", field]], answer.text
        assert read_ticket(built.store, built.number).ticket.model_dump() == before  # nothing half-applied
        # a null where the ticket may be without a value clears it
        cleared = built.client.patch(url, json={"unit_code": None, "assigned_to": None, "name": None},
                                     headers=built.auth())
        assert cleared.status_code == 200 and cleared.json()["unit_code"] is None and cleared.json()["name"] is None
        unknown_unit = built.client.patch(url, json={"unit_code": "NOPE"}, headers=built.auth())
        assert unknown_unit.status_code == 409 and "NOPE" in unknown_unit.json()["detail"]


def test_the_api_and_the_ticket_page_show_the_flag_read_only(world: ApiWorld) -> None:
    number = world.store.call_log.file_ticket(
        draft=TicketDraft(
            call_id="anon-api",
            locale="vi",
            outcome=Outcome.complete,
            anonymous=True,
            need_text="tố cáo đánh bạc",
        )
    )
    url = f"/api/tickets/{number}"
    body = world.client.get(url, headers=world.auth()).json()
    assert body["ticket"]["anonymous"] is True and body["ticket"]["name"] is None
    patched = world.client.patch(url, json={"anonymous": False, "assigned_to": "minh"}, headers=world.auth())
    assert patched.status_code == 200 and patched.json()["anonymous"] is True  # not a field a person edits
    login(world.client, "lan")
    page = world.client.get(f"/tickets/{number}")
    assert 'id="anonymous"' in page.text and "Giấu tên" in page.text
    named = world.client.get(f"/tickets/{world.number}")
    assert 'id="anonymous"' not in named.text
    assert "Giấu tên" in world.client.get("/tickets").text  # the queue shows it where the name would be
