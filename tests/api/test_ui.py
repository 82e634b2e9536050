"""The supervisors' pages: first through the TestClient (login/logout, CSRF, language switch, corrections, no page
open without login), then in a real browser (Playwright driving Debian's chromium against a real uvicorn
server)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from callbot.api import create_app
from callbot.api.i18n import Catalogue
from callbot.store import Role, Store, open_store
from tests.support.api import PASSWORD, ApiWorld, login, served, tone_wav
from tests.support.stores import audit_entries, draft, read_ticket, store_settings

UI_PAGES = ["/", "/tickets", "/tickets/{number}", "/dashboard", "/tickets?status=new"]


def test_every_page_needs_a_login(world: ApiWorld) -> None:
    for template in UI_PAGES:
        path = template.format(number=world.number)
        response = world.client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next="), path
    assert world.client.get("/tickets", headers=world.auth(), follow_redirects=False).status_code == 303
    assert world.client.post(f"/tickets/{world.number}", data={"name": "x"}, follow_redirects=False).status_code == 303
    assert world.client.post("/logout", follow_redirects=False).status_code == 303


def test_login_refuses_bad_passwords_and_forged_forms(world: ApiWorld) -> None:
    page = world.client.get("/login")
    token = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    wrong = world.client.post("/login", data={"username": "lan", "password": "nope", "form_token": token})
    assert wrong.status_code == 401 and "Sai tên đăng nhập" in wrong.text
    forged = world.client.post("/login", data={"username": "lan", "password": PASSWORD, "form_token": "x"})
    assert forged.status_code == 403
    redirected = world.client.post("/login", data={"username": "lan", "password": PASSWORD, "form_token": token,
                                                   "next": "//evil.example/"}, follow_redirects=False)
    assert redirected.headers["location"] == "/"  # no open redirect: home sends each role to its page


def test_queue_filters_and_call_page(world: ApiWorld) -> None:
    login(world.client, "lan")
    queue = world.client.get("/tickets", params={"status": "new", "province": "01", "q": "Nguyễn"})
    assert world.number[:4] + "-" + world.number[4:] in queue.text and 'id="total">1<' in queue.text
    empty = world.client.get("/tickets", params={"category": "emergency"})
    assert 'id="total">0<' in empty.text
    page = world.client.get(f"/tickets/{world.number}")
    assert f'src="/api/calls/{world.call_id}/recording"' in page.text
    assert '<mark class="low">nguyễn</mark>' in page.text  # the 0.4-confidence word is highlighted
    assert 'data-start="2.5"' in page.text
    assert "UBND Phường Hoàn Kiếm" in page.text


def test_form_correction_needs_csrf_and_is_audited(world: ApiWorld) -> None:
    csrf = login(world.client, "lan")
    fields = {"name": "Nguyễn Văn Ân", "address_text": "số 12 ngõ 34 phố Huế", "ward_code": "00070",
              "province_code": "01", "category": "essential_supplies", "priority": "high",
              "need_text": "cần hỗ trợ lương thực", "status": "in_progress", "assigned_to": "minh"}
    forged = world.client.post(f"/tickets/{world.number}", data={**fields, "csrf_token": "x"})
    assert forged.status_code == 403
    saved = world.client.post(f"/tickets/{world.number}", data={**fields, "csrf_token": csrf}, follow_redirects=False)
    assert saved.status_code == 303
    ticket = read_ticket(world.store, world.number).ticket
    assert (ticket.name, ticket.priority, ticket.status.value, ticket.assigned_to) == (
        "Nguyễn Văn Ân", "high", "in_progress", "minh")
    changed = {e.field: (e.old_value, e.new_value, e.actor)
               for e in audit_entries(world.store, target_id=world.number)}
    assert changed["name"] == ("Nguyễn Văn An", "Nguyễn Văn Ân", "lan")
    assert set(changed) == {"name", "priority", "status", "assigned_to"}  # unchanged fields are not logged
    refused = world.client.post(f"/tickets/{world.number}", data={**fields, "status": "closed", "csrf_token": csrf})
    assert refused.status_code == 409 and 'id="error"' in refused.text


def test_language_switch_sticks(world: ApiWorld) -> None:
    login(world.client, "lan")
    assert "Hàng đợi phiếu" in world.client.get("/tickets").text
    english = world.client.get("/tickets?lang=en")
    assert "Ticket queue" in english.text and english.headers["set-cookie"].startswith("lang=en")
    assert "Ticket queue" in world.client.get("/dashboard").text  # the cookie keeps it
    assert "Hàng đợi phiếu" in world.client.get("/tickets?lang=vi").text


def test_logout_ends_the_session(world: ApiWorld) -> None:
    csrf = login(world.client, "lan")
    cookie = world.client.cookies.get("callbot_session")
    assert world.client.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    out = world.client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    world.client.cookies.set("callbot_session", cookie or "")  # replaying the old cookie gets nothing
    assert world.client.get("/tickets", follow_redirects=False).status_code == 303


def test_dashboard_charts_are_inline_svg(world: ApiWorld) -> None:
    login(world.client, "lan")
    page = world.client.get("/dashboard").text
    assert page.count("<svg") == 4 and "<script src=\"/static/app.js\"" in page and "http://" not in page
    assert 'id="calls-total">1<' in page


def test_catalogues_have_the_same_keys() -> None:
    catalogue = Catalogue()
    assert catalogue.languages == ["en", "vi"]
    assert set(catalogue.strings["en"]) == set(catalogue.strings["vi"])


# --- in a real browser --------------------------------------------------------------------------------------
TURNS = [("bot", "Xin chào, đây là tổng đài tự động. Xin cho biết họ tên.", None, 0.0, 2.0, "bot"),
         ("caller", "nguyễn văn an", 0.55, 2.5, 3.5, "speech"),
         ("bot", "Xin cho biết địa chỉ.", None, 4.0, 5.0, "bot"),
         ("caller", "số mười hai phố huế", 0.9, 5.5, 6.8, "speech")]


@dataclass
class LiveSite:
    url: str
    store: Store
    number: str
    screenshots: Path


@pytest.fixture
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveSite]:
    settings = store_settings(request, tmp_path, "sqlite")
    store = open_store(settings)
    store.accounts.create_user(username="lan", password=PASSWORD, role=Role.supervisor)
    store.accounts.create_user(username="kỹ sư", password=PASSWORD, role=Role.engineer)
    recording = tone_wav(tmp_path / "rec.wav", seconds=8.0)
    store.call_log.start_call(call_id="b1", caller_id="0912345678", locale="vi", started_at=datetime.now(UTC))
    for speaker, text, confidence, start, end, kind in TURNS:
        words = None
        if speaker == "caller":
            words = [{"word": w, "start": start, "end": end, "confidence": confidence if i == 0 else 0.95}
                     for i, w in enumerate(text.split())]
        store.call_log.add_turn(call_id="b1", speaker=speaker, text=text, confidence=confidence, start=start, end=end,
                                kind=kind, words=words, latency_ms=420.0 if speaker == "bot" else None)
    number = store.call_log.file_ticket(draft=draft("b1"), recording_path=recording)
    store.call_log.finish_call(call_id="b1", outcome="complete", ended_at=datetime.now(UTC))
    store.call_log.file_ticket(draft=draft("b2", name="Trần Thị Bình", category="emergency", ward_code="26506",
                                           province_code="79"))
    try:
        with served(create_app(settings, store)) as url:
            yield LiveSite(url=url, store=store, number=number, screenshots=tmp_path)
    finally:
        store.close()


@pytest.mark.browser
@pytest.mark.slow
def test_no_page_without_login(site: LiveSite, browser: Browser) -> None:
    page = browser.new_page()
    for path in ("/", "/tickets", f"/tickets/{site.number}", "/dashboard", "/tickets?status=new"):
        page.goto(site.url + path)
        assert page.url.startswith(f"{site.url}/login"), path
        expect(page.locator("#login-form")).to_be_visible()
    for path in ("/api/tickets", f"/api/tickets/{site.number}", "/api/calls/1/recording", "/api/stats"):
        assert httpx.get(site.url + path).status_code == 401, path


def _log_in(page: Page, site: LiveSite) -> None:
    page.goto(site.url + "/tickets")
    page.fill("input[name=username]", "lan")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{site.url}/tickets")


@pytest.mark.browser
@pytest.mark.slow
def test_review_a_call_end_to_end(site: LiveSite, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    responses: list = []
    page.on("response", lambda answer: responses.append(answer))
    _log_in(page, site)
    expect(page.locator("#queue tbody tr")).to_have_count(2)

    page.select_option("select[name=category]", "essential_supplies")
    page.fill("input[name=q]", "Nguyễn")
    page.click("#apply-filters")
    expect(page.locator("#total")).to_have_text("1")
    page.screenshot(path=str(site.screenshots / "queue.png"), full_page=True)

    page.click(".ticket-link")
    page.wait_for_url(f"{site.url}/tickets/{site.number}")
    expect(page.locator("#ticket-number")).to_have_text(f"{site.number[:4]}-{site.number[4:]}")
    expect(page.locator("#transcript mark.low")).to_have_text("nguyễn")

    # The recording loads through the Range-capable endpoint: metadata known, 8 s long.
    page.wait_for_function("() => { const p = document.getElementById('player');"
                           " return p.readyState >= 1 && Math.abs(p.duration - 8.0) < 0.1; }", timeout=20000)
    page.locator("#transcript .turn").nth(2).click()
    page.wait_for_function("() => Math.abs(document.getElementById('player').currentTime - 4.0) < 0.5")
    # however chromium's player asks for the audio (whole, ranges, seeks), each answer with audio is audited
    audio_answers = [r for r in responses if "/recording" in r.url and r.status in (200, 206)]
    views = audit_entries(site.store, action="recording.view")
    assert audio_answers and len(views) == len(audio_answers) and {v.actor for v in views} == {"lan"}
    print(f"chromium: {len(audio_answers)} recording responses with audio, {len(views)} audit entries")

    page.fill("input[name=name]", "Nguyễn Văn Ân")
    page.select_option("select[name=status]", "in_progress")
    page.click("#save")
    page.wait_for_url(f"{site.url}/tickets/{site.number}?saved=1")
    expect(page.locator("input[name=name]")).to_have_value("Nguyễn Văn Ân")
    ticket = read_ticket(site.store, site.number).ticket  # persisted in the database
    assert ticket.name == "Nguyễn Văn Ân" and ticket.status.value == "in_progress"
    expect(page.locator("#history li")).to_have_count(2)
    page.screenshot(path=str(site.screenshots / "call.png"), full_page=True)

    page.check("#approved-for-tuning")  # the supervisor releases this call to the engineers as a test case
    page.click("#save")
    page.wait_for_url(f"{site.url}/tickets/{site.number}?saved=1")
    expect(page.locator("#approved-for-tuning")).to_be_checked()
    approved = read_ticket(site.store, site.number).ticket
    assert approved.tuning_approved_at is not None and approved.tuning_approved_by == "lan"

    page.click("#nav-dashboard")
    expect(page.locator("svg.chart")).to_have_count(4)
    page.goto(site.url + "/dashboard?lang=en")
    expect(page.locator("#nav-tickets")).to_have_text("Ticket queue")
    page.screenshot(path=str(site.screenshots / "dashboard.png"), full_page=True)

    page.click("#logout")
    page.wait_for_url(f"{site.url}/login")
    page.goto(site.url + "/tickets")
    assert page.url.startswith(f"{site.url}/login")

    # an engineer: statistics yes, citizens' data no
    page.goto(site.url + "/login")
    page.fill("input[name=username]", "kỹ sư")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{site.url}/dashboard")
    expect(page.locator("svg.chart")).to_have_count(4)
    expect(page.locator("#nav-tickets")).to_have_count(0)
    page.goto(f"{site.url}/tickets/{site.number}")
    expect(page.locator("#forbidden")).to_be_visible()
    assert "Nguyễn" not in page.content()
