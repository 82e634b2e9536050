"""The supervisors' UI in a real browser: Playwright driving Debian's chromium against a real uvicorn server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from api_fixtures import PASSWORD, tone_wav
from playwright.sync_api import Browser, Page, expect, sync_playwright
from postgres import free_port
from store_fixtures import audit_entries, draft, read_ticket, store_settings

from callbot.api import create_app
from callbot.store import Role, Store, open_store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
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
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, store), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield LiveSite(url=url, store=store, number=number, screenshots=tmp_path)
    finally:
        server.should_exit = True
        thread.join(15)
        store.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


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
