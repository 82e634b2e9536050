"""Logging in, on the real app and store: the login form's double-submit CSRF cookie, per-account lockout with
backoff, failed logins audited without the password, per-client limits behind trusted proxies only, cookie
flags (CALLBOT_COOKIE_SECURE), sessions ended by a password change or a disabled account, no-store on every
response but the static assets, and redirects that never reflect the Host header."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from callbot.api import create_app
from callbot.api.security import client_address, trusted_networks
from callbot.store import Role
from callbot.store.accounts import LOCKOUT_FIRST_S, LOCKOUT_MAX_S, LOCKOUT_THRESHOLD, lockout_seconds
from tests.support.api import PASSWORD, ApiWorld, login, make_world
from tests.support.stores import audit_entries, read_ticket

FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def form_token(client: TestClient) -> str:
    return FORM_TOKEN.search(client.get("/login").text).group(1)  # type: ignore[union-attr]


def post_login(client: TestClient, username: str, password: str, token: str | None = None, **headers: str):
    return client.post("/login", data={"username": username, "password": password,
                                       "form_token": token or form_token(client), "next": "/tickets"},
                       headers=headers, follow_redirects=False)


class Clock:
    """The accounts' clock, moved by the test instead of sleeping through lockouts."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(world: ApiWorld) -> Clock:
    moved = Clock()
    world.store.accounts.clock = moved
    return moved


# --- CSRF on the login form ---------------------------------------------------------------------------------
def test_login_form_needs_the_cookie_it_set(world: ApiWorld) -> None:
    page = world.client.get("/login")
    nonce_cookie = page.headers["set-cookie"].lower()
    assert nonce_cookie.startswith("callbot_login=") and "httponly" in nonce_cookie
    assert "samesite=strict" in nonce_cookie and "path=/login" in nonce_cookie
    token = FORM_TOKEN.search(page.text).group(1)  # type: ignore[union-attr]

    # a form posted from another site: the attacker's own valid token, but not the victim's cookie
    with TestClient(world.client.app) as victim:
        assert post_login(victim, "lan", PASSWORD, token).status_code == 403
        victim.get("/login")  # the victim has a login cookie of their own: still not the one the token signs
        assert post_login(victim, "lan", PASSWORD, token).status_code == 403
    assert post_login(world.client, "lan", PASSWORD, "forged." + token).status_code == 403
    world.client.cookies.delete("callbot_login", path="/login")
    assert post_login(world.client, "lan", PASSWORD, token).status_code == 403  # token without its cookie

    signed_in = post_login(world.client, "lan", PASSWORD)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/tickets"
    assert world.client.get("/tickets").status_code == 200


# --- cookies ------------------------------------------------------------------------------------------------
def _cookies(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {header.split("=", 1)[0]: header.lower() for header in response.headers.get_list("set-cookie")}


def test_cookie_flags_and_the_secure_setting(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    for secure in (False, True):
        for built in make_world(request, tmp_path / str(secure), "sqlite", cookie_secure=secure):
            page = built.client.get("/login?lang=en")
            # Behind a TLS proxy the browser returns Secure cookies; this plain-HTTP client would not: send it.
            nonce = re.search(r"callbot_login=([^;]+)", page.headers["set-cookie"]).group(1)  # type: ignore[union-attr]
            built.client.cookies.clear()
            signed_in = post_login(built.client, "lan", PASSWORD, FORM_TOKEN.search(page.text).group(1),  # type: ignore[union-attr]
                                   Cookie=f"callbot_login={nonce}")
            cookies = {**_cookies(page), **_cookies(signed_in)}
            session = cookies["callbot_session"]
            assert "httponly" in session and "samesite=strict" in session and "path=/" in session
            for name in ("callbot_session", "callbot_login", "lang"):
                assert ("; secure" in cookies[name]) is secure, (name, cookies[name])


# --- lockout with backoff -------------------------------------------------------------------------------------
def test_backoff_schedule() -> None:
    assert [lockout_seconds(n) for n in range(LOCKOUT_THRESHOLD)] == [0.0] * LOCKOUT_THRESHOLD
    assert [lockout_seconds(LOCKOUT_THRESHOLD + n) for n in range(4)] == [
        LOCKOUT_FIRST_S, 2 * LOCKOUT_FIRST_S, 4 * LOCKOUT_FIRST_S, 8 * LOCKOUT_FIRST_S]
    assert lockout_seconds(LOCKOUT_THRESHOLD + 40) == LOCKOUT_MAX_S


def test_account_locks_after_failures_with_backoff_and_every_failure_is_audited(world: ApiWorld,
                                                                                clock: Clock) -> None:
    world.client.app.state.login_limiter.allow = lambda _client: True  # this test is about the account, not the IP
    typed = [f"wrong-guess-{n}" for n in range(LOCKOUT_THRESHOLD)]
    for guess in typed:
        refused = post_login(world.client, "lan", guess)
        assert refused.status_code == 401 and "Sai tên đăng nhập" in refused.text
    # locked: even the right password is refused, with the same message as a wrong one
    locked = post_login(world.client, "lan", PASSWORD)
    assert locked.status_code == 401 and "Sai tên đăng nhập" in locked.text
    clock.advance(LOCKOUT_FIRST_S - 1)
    assert post_login(world.client, "lan", PASSWORD).status_code == 401
    clock.advance(2)
    assert post_login(world.client, "lan", PASSWORD).status_code == 303  # the lock ran out; counters reset

    for n in range(LOCKOUT_THRESHOLD):
        post_login(world.client, "lan", f"again-{n}")
    clock.advance(LOCKOUT_FIRST_S + 1)
    assert post_login(world.client, "lan", "after-the-first-lock").status_code == 401  # the 6th failure ...
    clock.advance(LOCKOUT_FIRST_S + 1)
    assert post_login(world.client, "lan", PASSWORD).status_code == 401  # ... locked it for twice as long
    clock.advance(LOCKOUT_FIRST_S)
    assert post_login(world.client, "lan", PASSWORD).status_code == 303

    post_login(world.client, "nobody-here", "some-password")
    failures = audit_entries(world.store, action="login.failed", limit=100)
    reasons = [e.new_value.split(",")[0] for e in reversed(failures)]  # type: ignore[union-attr]
    assert reasons[:LOCKOUT_THRESHOLD + 2] == ["wrong_password"] * LOCKOUT_THRESHOLD + ["locked", "locked"]
    assert reasons[-1] == "unknown_user" and failures[0].actor == "nobody-here" and failures[0].target_id == "unknown"
    assert "locked until" in failures[-LOCKOUT_THRESHOLD].new_value  # type: ignore[operator]
    assert {e.actor for e in failures[1:]} == {"lan"} and {e.old_value for e in failures} == {"testclient"}
    everything = " ".join(str(e.model_dump()) for e in audit_entries(world.store, limit=200))
    for password in [*typed, PASSWORD, "after-the-first-lock", "some-password"]:
        assert password not in everything  # never the typed password


def test_disabled_users_and_password_changes_end_sessions(world: ApiWorld) -> None:
    login(world.client, "lan")
    other = TestClient(world.client.app)
    login(other, "lan")
    keep = world.client.cookies.get("callbot_session")
    ended = world.store.accounts.set_password(username="lan", password="a-new-password", keep_session=keep)
    assert ended == 1
    assert world.client.get("/api/tickets").status_code == 200  # the session that changed it stays
    assert other.get("/api/tickets").status_code == 401 and other.get("/tickets", follow_redirects=False).status_code == 303
    world.store.accounts.set_active(username="lan", active=False)
    assert world.client.get("/api/tickets").status_code == 401
    assert post_login(world.client, "lan", "a-new-password").status_code == 401
    other.close()


# --- the client's address --------------------------------------------------------------------------------------
def _request(peer: str, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers, "client": (peer, 1234)})


@pytest.mark.parametrize(("peer", "forwarded", "expected"), [
    ("10.0.0.5", ["203.0.113.7"], "203.0.113.7"),  # behind the trusted proxy: the address it saw
    ("10.0.0.5", ["198.51.100.1, 203.0.113.7"], "203.0.113.7"),  # the client's own claim is ignored
    ("10.0.0.5", ["203.0.113.7, 10.0.0.6"], "203.0.113.7"),  # two trusted proxies in a row
    ("10.0.0.5", ["203.0.113.7", "10.0.0.6"], "203.0.113.7"),  # the same as two header lines
    ("10.0.0.5", ["garbage, 10.0.0.6"], "10.0.0.6"),  # nothing valid beyond the proxies: the last proxy
    ("10.0.0.5", [], "10.0.0.5"),
    ("192.0.2.9", ["203.0.113.7"], "192.0.2.9"),  # an untrusted peer cannot choose its bucket
    ("2001:db8::5", ["2001:db8:1::7"], "2001:db8:1::7"),
])
def test_client_address(peer: str, forwarded: list[str], expected: str) -> None:
    trusted = trusted_networks(["10.0.0.0/24", "2001:db8::/64"])
    assert client_address(_request(peer, *forwarded), trusted) == expected
    assert client_address(_request(peer, *forwarded), []) == peer  # no proxies configured: the peer


@pytest.fixture
def proxied(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[ApiWorld, TestClient, TestClient]]:
    for built in make_world(request, tmp_path, "sqlite", trusted_proxies=["10.9.0.1"]):
        app = create_app(built.store.settings, built.store)
        with TestClient(app, client=("10.9.0.1", 40000)) as proxy, TestClient(app, client=("192.0.2.50", 40000)) as direct:
            yield built, proxy, direct


def test_users_behind_a_trusted_proxy_do_not_share_one_login_bucket(proxied) -> None:  # type: ignore[no-untyped-def]
    _world, proxy, direct = proxied
    token = form_token(proxy)
    codes = [post_login(proxy, f"guess{n}", "x" * 8, token, **{"X-Forwarded-For": "203.0.113.5"}).status_code
             for n in range(11)]
    assert codes == [401] * 10 + [429]  # one client behind the proxy: its own bucket runs out
    assert post_login(proxy, "lan", PASSWORD, token, **{"X-Forwarded-For": "203.0.113.6"}).status_code == 303
    # a peer that is not a trusted proxy cannot spread its attempts over invented addresses
    token = form_token(direct)
    codes = [post_login(direct, f"guess{n}", "x" * 8, token, **{"X-Forwarded-For": f"203.0.113.{n}"}).status_code
             for n in range(11)]
    assert codes[-1] == 429
    entry = audit_entries(_world.store, action="login")[0]
    assert entry.new_value == "203.0.113.6"  # the login is audited with the real client


# --- caching, Host header -----------------------------------------------------------------------------------
def test_no_store_everywhere_but_static_assets(world: ApiWorld) -> None:
    login(world.client, "lan")
    for path in ("/login", "/tickets", f"/tickets/{world.number}", "/dashboard", "/api/tickets",
                 f"/api/calls/{world.call_id}/recording", "/api/openapi.json", "/healthz", "/nope"):
        response = world.client.get(path)
        assert response.headers["cache-control"] == "no-store", path
    assert "no-store" not in world.client.get("/static/app.css").headers.get("cache-control", "")


@pytest.mark.parametrize("path", ["/static", "/static/", "/tickets/", "/api/tickets/", "/", "/tickets",
                                  "/login?next=//evil.example/", "/api/docs", "/dashboard/"])
def test_no_redirect_or_page_reflects_the_host_header(world: ApiWorld, path: str) -> None:
    response = world.client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
    assert response.status_code < 500
    assert "evil.example" not in str(response.headers.get("location", "")), response.headers
    assert "evil.example" not in response.text or path.startswith("/login?next=")  # the next= field is escaped
    if path.startswith("/login?next="):
        assert 'name="next" value="/"' in response.text


def test_engineers_see_the_dashboard_not_the_tickets(world: ApiWorld) -> None:
    login(world.client, "kỹ sư")  # an engineer (tests.support.api)
    home = world.client.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/dashboard"
    dashboard = world.client.get("/dashboard")
    assert dashboard.status_code == 200 and 'id="nav-tickets"' not in dashboard.text
    refused = world.client.get(f"/tickets/{world.number}")
    assert refused.status_code == 403 and 'id="forbidden"' in refused.text
    assert read_ticket(world.store, world.number).ticket.name not in refused.text  # type: ignore[operator]
    assert world.store.accounts.list_users()[0].role in set(Role)
