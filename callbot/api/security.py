"""Secrets, signed login-form tokens and the per-client rate limiter of the public status lookup."""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections import OrderedDict
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from callbot.config import Settings
from callbot.private_files import PRIVATE_FILE_MODE, private_dir

LOGIN_FORM_MAX_AGE_S = 3600


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
    """CSRF protection for the login form, which comes before any session exists: a signed, timed token."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="callbot-login")

    def issue(self) -> str:
        return self._serializer.dumps(secrets.token_hex(8))

    def valid(self, token: str) -> bool:
        try:
            self._serializer.loads(token, max_age=LOGIN_FORM_MAX_AGE_S)
        except BadSignature:
            return False
        return True


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
