"""Campaigns and the do-not-call list over HTTP (the TestClient on a real SQLite store), then the campaign page
in a real browser (chromium against uvicorn): progress, the inline SVG charts, the contacts, pause and resume."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from callbot.api import create_app
from callbot.store import Role, Store, open_store
from callbot.store import campaigns as store_campaigns
from callbot.types import ContactStatus
from tests.support.api import PASSWORD, ApiWorld, served
from tests.support.campaigns import create
from tests.support.stores import audit_entries, store_settings

MONDAY_9 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội: inside the default calling window


def settle_first(store: Store, outcome: ContactStatus, sip_code: int) -> None:
    """One contact called: claimed and settled as a dialler does."""
    with store.session() as session:
        [campaign_id] = store_campaigns.running_campaign_ids(session, name="notice")
        plan = store_campaigns.claim_attempts(session, campaign_id=campaign_id, worker_id="w", incarnation="i",
                                              free_slots=1, now=MONDAY_9)
        store_campaigns.settle_attempt(session, attempt_id=plan[0].attempt_id, outcome=outcome, sip_code=sip_code,
                                       dtmf="1" if outcome == ContactStatus.confirmed else None, duration_s=12.5,
                                       now=MONDAY_9 + timedelta(seconds=30))


def test_report_state_changes_and_do_not_call(world: ApiWorld) -> None:
    create(world.store, "notice", "0912000001,An\n0912000002,Bình\n")
    listed = world.client.get("/api/campaigns", headers=world.auth()).json()
    assert [(c["name"], c["state"], c["total"], c["final"]) for c in listed] == [("notice", "running", 2, 0)]
    report = world.client.get("/api/campaigns/notice/report", headers=world.auth()).json()
    assert set(report) == {"campaign", "state", "counts", "contacts"}
    assert [c["number"] for c in report["contacts"]] == ["+84912000001", "+84912000002"]
    assert set(report["contacts"][0]) == {"number", "status", "attempts", "sip_code", "dtmf", "duration_s"}
    csv = world.client.get("/api/campaigns/notice/report?format=csv", headers=world.auth())
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "number,status,attempts,sip_code,dtmf,duration_s"
    paused = world.client.post("/api/campaigns/notice/state", json={"action": "pause"}, headers=world.auth())
    assert paused.status_code == 200 and paused.json()["state"] == "paused"
    assert world.client.post("/api/campaigns/notice/state", json={"action": "start"},
                             headers=world.auth()).status_code == 409  # a paused campaign is resumed
    assert world.client.get("/api/campaigns/nope/report", headers=world.auth()).status_code == 404
    assert [e.actor for e in audit_entries(world.store, action="campaign.pause")] == ["token:ci"]

    added = world.client.put("/api/do-not-call/0912345678", headers=world.auth())
    assert added.status_code == 200 and added.json()["number"] == "+84912345678"
    assert world.client.put("/api/do-not-call/12ab", headers=world.auth()).status_code == 422
    page = world.client.get("/api/do-not-call", headers=world.auth()).json()
    assert page["total"] == 1 and page["items"][0]["number"] == "+84912345678"
    assert world.client.delete("/api/do-not-call/+84912345678", headers=world.auth()).json() == {"removed": True}
    assert world.client.delete("/api/do-not-call/+84912345678", headers=world.auth()).json() == {"removed": False}


@pytest.fixture
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Store]]:
    settings = store_settings(request, tmp_path, "sqlite")
    store = open_store(settings)
    store.accounts.create_user(username="lan", password=PASSWORD, role=Role.supervisor)
    store.accounts.create_user(username="kỹ sư", password=PASSWORD, role=Role.engineer)
    create(store, "notice", "0912000001\n0912000002\n0912000003\n")
    settle_first(store, ContactStatus.confirmed, 200)
    try:
        with served(create_app(settings, store)) as url:
            yield url, store
    finally:
        store.close()


@pytest.mark.browser
@pytest.mark.slow
def test_campaign_page_shows_progress_and_pauses(site: tuple[str, Store], browser: Browser, tmp_path: Path) -> None:
    url, store = site
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(url + "/campaigns?lang=en")
    page.fill("input[name=username]", "lan")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{url}/campaigns*")
    expect(page.locator("#campaigns tbody tr")).to_have_count(1)
    page.click("text=notice")
    page.wait_for_url(f"{url}/campaigns/notice")
    expect(page.locator("#campaign-final")).to_have_text("1/3")
    expect(page.locator("svg.chart")).to_have_count(2)
    expect(page.locator("#contacts tbody tr")).to_have_count(3)
    expect(page.locator("#contacts tbody tr").first).to_contain_text("+84912000001")
    expect(page.locator("#contacts tbody tr").first).to_contain_text("Confirmed")
    page.screenshot(path=str(tmp_path / "campaign.png"), full_page=True)
    page.click("#campaign-pause")
    page.wait_for_url(f"{url}/campaigns/notice")
    expect(page.locator("#campaign-state")).to_have_text("Paused")
    page.click("#campaign-resume")
    expect(page.locator("#campaign-state")).to_have_text("Running")
    changes = [(e.action, e.actor) for e in audit_entries(store, target_id="notice")]
    assert ("campaign.pause", "lan") in changes and ("campaign.resume", "lan") in changes

    engineer = browser.new_page()
    engineer.goto(url + "/campaigns/notice")
    engineer.fill("input[name=username]", "kỹ sư")
    engineer.fill("input[name=password]", PASSWORD)
    engineer.click("#login-form button[type=submit]")
    expect(engineer.locator("body")).not_to_contain_text("+84912000001")  # numbers are citizen data
