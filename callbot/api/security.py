"""Secrets, the login form's CSRF tokens, the client's address behind trusted proxies, and the per-client
rate limiter (login, public status lookup)."""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from fastapi import Request

from itsdangerous import BadSignature, URLSafeTimedSerializer

from callbot.config import Settings
from callbot.private_files import PRIVATE_FILE_MODE, private_dir

LOGIN_FORM_MAX_AGE_S = 3600
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def load_secret_key(settings: Settings) -> str:
    """settings.secret_key, or one generated at first use and kept (mode 0600) in <data_dir>/secret.key."""
    if settings.secret_key:
        return settings.secret_key
    path: Path = settings.data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    private_dir(path.parent)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:  # another process of the node made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


class LoginFormTokens:
    """CSRF protection for the login form, which comes before any session exists (a double-submit cookie):
    the login page sets a random nonce in a SameSite=Strict cookie and puts a signed, timed copy of it in the
    form. A login counts only when both arrive and match, which a form on another site cannot arrange: it
    cannot read or set our cookie, and the browser does not send a Strict cookie with a cross-site POST."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="callbot-login")

    def issue(self, nonce: str | None = None) -> tuple[str, str]:
        """(cookie nonce, form token); the nonce of a cookie the browser already holds is reused."""
        nonce = nonce if nonce and len(nonce) <= 64 and nonce.isalnum() else secrets.token_hex(16)
        return nonce, self._serializer.dumps(nonce)

    def valid(self, token: str, nonce: str | None) -> bool:
        if not nonce:
            return False
        try:
            signed = self._serializer.loads(token, max_age=LOGIN_FORM_MAX_AGE_S)
        except BadSignature:
            return False
        return isinstance(signed, str) and hmac.compare_digest(signed, nonce)


def client_address(request: Request, trusted_proxies: Sequence[IPNetwork]) -> str:
    """The client's address for per-client limits. X-Forwarded-For counts only when the direct peer is a
    trusted proxy; it is read from the right (each trusted proxy appends the address it saw), and the first
    address that is not a trusted proxy is the client. Anything else sends its own address."""
    peer = request.client.host if request.client else "unknown"
    if not trusted_proxies or not _in_networks(peer, trusted_proxies):
        return peer
    hops = [hop.strip() for header in request.headers.getlist("x-forwarded-for") for hop in header.split(",")]
    client = peer
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # garbage from further left than any trusted proxy: stop at the last good hop
        client = hop
        if not _in_networks(hop, trusted_proxies):
            break
    return client


def trusted_networks(entries: Sequence[str]) -> list[IPNetwork]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def _in_networks(address: str, networks: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


class RateLimiter:
    """A token bucket per client key (``rate`` requests per ``per_seconds``), bounded in memory."""

    def __init__(self, rate: int, per_seconds: float, max_clients: int = 10_000) -> None:
        self._rate = rate
        self._refill_per_s = rate / per_seconds
        self._max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self._rate), now))
            tokens = min(float(self._rate), tokens + (now - last) * self._refill_per_s)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            while len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)
            return allowed
