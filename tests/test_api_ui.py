"""The supervisors' pages without a browser: login/logout, CSRF, language switch, corrections, no page open
without login. (tests/test_ui_browser.py drives the same pages in chromium.)"""

from __future__ import annotations

import re

from api_fixtures import PASSWORD, ApiWorld, login
from store_fixtures import audit_entries, read_ticket

from callbot.api.i18n import Catalogue

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
