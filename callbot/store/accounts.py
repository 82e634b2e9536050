"""People (users with roles, argon2-hashed passwords, lockout after failed logins), machines (API tokens,
revocable) and browser sessions (ended on logout, on a password change and when a user is disabled)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select, update

from callbot.store.models import ApiToken, ApiTokenPublic, Role, User, UserPublic, WebSession, utcnow

SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 8
LOCKOUT_THRESHOLD = 5  # failed logins in a row before the account locks
LOCKOUT_FIRST_S = 30.0  # the first lock; every further failure doubles it ...
LOCKOUT_MAX_S = 900.0  # ... up to 15 minutes, so a guesser cannot lock a supervisor out for a whole shift


class AccountError(ValueError):
    """A user or token cannot be created or changed as asked (duplicate name, weak password, unknown user)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request: a logged-in person or a machine token."""

    name: str
    role: Role
    kind: str  # "user" | "token"
    csrf_token: str | None = None


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """The result of a login: the user, or why not (never the password that was typed)."""

    user: UserPublic | None
    refusal: str | None = None  # "unknown_user" | "disabled" | "locked" | "wrong_password"
    user_id: int | None = None
    locked_until: datetime | None = None


def lockout_seconds(failures: int) -> float:
    """How long an account stays locked after ``failures`` failed logins in a row (0: not locked)."""
    if failures < LOCKOUT_THRESHOLD:
        return 0.0
    return min(LOCKOUT_FIRST_S * 2 ** (failures - LOCKOUT_THRESHOLD), LOCKOUT_MAX_S)


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


class Accounts:
    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._hasher = PasswordHasher()
        self.clock = clock  # lockouts and sessions are timed by it (tests move it instead of sleeping)

    # --- users ----------------------------------------------------------------------------------------
    def create_user(self, *, username: str, password: str, role: Role) -> UserPublic:
        username = username.strip()
        if not username or len(username) > 64:
            raise AccountError("the user name must have 1 to 64 characters")
        _check_password(password)
        with Session(self._engine) as session:
            if session.exec(select(User).where(User.username == username)).first():
                raise AccountError(f"user {username!r} exists already")
            user = User(username=username, role=role, password_hash=self._hasher.hash(password))
            session.add(user)
            session.commit()
            session.refresh(user)
            return UserPublic.model_validate(user, from_attributes=True)

    def _user(self, session: Session, username: str) -> User:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            raise AccountError(f"no user {username!r}")
        return user

    def set_password(self, *, username: str, password: str, keep_session: str | None = None) -> int:
        """Change a password; every other session of that user ends (returns how many) and a lock is lifted."""
        _check_password(password)
        with Session(self._engine) as session:
            user = self._user(session, username)
            user.password_hash = self._hasher.hash(password)
            user.failed_logins, user.locked_until = 0, None
            session.add(user)
            ended = self._end_sessions(session, user.id, keep=keep_session)  # type: ignore[arg-type]
            session.commit()
            return ended

    def set_active(self, *, username: str, active: bool) -> int:
        """Enable or disable a user; disabling ends every session of theirs at once (returns how many)."""
        with Session(self._engine) as session:
            user = self._user(session, username)
            user.active = active
            if active:
                user.failed_logins, user.locked_until = 0, None
            session.add(user)
            ended = 0 if active else self._end_sessions(session, user.id)  # type: ignore[arg-type]
            session.commit()
            return ended

    def attempt_login(self, *, username: str, password: str) -> LoginAttempt:
        """Check a login. Failures in a row lock the account with backoff (``lockout_seconds``); a locked,
        disabled or unknown account costs the same hashing time as a wrong password (no user enumeration)."""
        with Session(self._engine) as session:
            user = session.exec(select(User).where(User.username == username)).first()
            now = self.clock()
            if user is None or not user.active or (user.locked_until and user.locked_until > now):
                self._hasher.hash(password)
                if user is None:
                    return LoginAttempt(None, "unknown_user")
                refusal = "disabled" if not user.active else "locked"
                return LoginAttempt(None, refusal, user.id, user.locked_until)
            try:
                self._hasher.verify(user.password_hash, password)
            except (VerificationError, InvalidHashError):
                # One UPDATE counts the failure, so workers behind a load balancer never lose a count.
                session.exec(update(User).where(col(User.id) == user.id)  # type: ignore[call-overload]
                             .values(failed_logins=User.failed_logins + 1))
                session.commit()
                session.refresh(user)
                delay = lockout_seconds(user.failed_logins)
                if delay:
                    user.locked_until = now + timedelta(seconds=delay)
                    session.add(user)
                    session.commit()
                return LoginAttempt(None, "wrong_password", user.id, user.locked_until)
            if user.failed_logins or user.locked_until:
                user.failed_logins, user.locked_until = 0, None
            if self._hasher.check_needs_rehash(user.password_hash):
                user.password_hash = self._hasher.hash(password)
            session.add(user)
            session.commit()
            session.refresh(user)
            return LoginAttempt(UserPublic.model_validate(user, from_attributes=True), user_id=user.id)

    def authenticate(self, *, username: str, password: str) -> UserPublic | None:
        return self.attempt_login(username=username, password=password).user

    def list_users(self) -> list[UserPublic]:
        with Session(self._engine) as session:
            users = session.exec(select(User).order_by(User.username)).all()
            return [UserPublic.model_validate(u, from_attributes=True) for u in users]

    # --- machine tokens -------------------------------------------------------------------------------
    def create_token(self, *, name: str, role: Role = Role.monitor) -> str:
        """A new bearer token, returned once in clear; only its hash is kept."""
        name = name.strip()
        if not name or len(name) > 64:
            raise AccountError("the token name must have 1 to 64 characters")
        raw = "cbt_" + secrets.token_urlsafe(32)
        with Session(self._engine) as session:
            session.add(ApiToken(name=name, token_hash=_sha256(raw), role=role))
            session.commit()
        return raw

    def principal_for_token(self, raw: str) -> Principal | None:
        with Session(self._engine) as session:
            token = session.exec(select(ApiToken).where(ApiToken.token_hash == _sha256(raw))).first()
            if token is None or token.revoked_at is not None:
                return None
            return Principal(name=f"token:{token.name}", role=Role(token.role), kind="token")

    def revoke_tokens(self, name_or_id: str) -> list[ApiTokenPublic]:
        """Revoke the token with that id, or every live token with that name; returns what was revoked."""
        with Session(self._engine) as session:
            query = select(ApiToken).where(col(ApiToken.revoked_at).is_(None))
            if name_or_id.isdigit():
                query = query.where(ApiToken.id == int(name_or_id))
            else:
                query = query.where(ApiToken.name == name_or_id)
            tokens = session.exec(query).all()
            now = self.clock()
            for token in tokens:
                token.revoked_at = now
                session.add(token)
            session.commit()
            return [ApiTokenPublic.model_validate(t, from_attributes=True) for t in tokens]

    def list_tokens(self) -> list[ApiTokenPublic]:
        with Session(self._engine) as session:
            tokens = session.exec(select(ApiToken).order_by(ApiToken.name, ApiToken.id)).all()
            return [ApiTokenPublic.model_validate(t, from_attributes=True) for t in tokens]

    # --- browser sessions -----------------------------------------------------------------------------
    def create_session(self, user: UserPublic) -> str:
        raw = secrets.token_urlsafe(32)
        with Session(self._engine) as session:
            session.add(
                WebSession(
                    id_hash=_sha256(raw), user_id=user.id, csrf_token=secrets.token_urlsafe(24),
                    expires_at=self.clock() + SESSION_LIFETIME,
                )
            )
            session.commit()
        return raw

    def principal_for_session(self, raw: str) -> Principal | None:
        with Session(self._engine) as session:
            row = session.get(WebSession, _sha256(raw))
            if row is None:
                return None
            if row.expires_at <= self.clock():
                session.delete(row)
                session.commit()
                return None
            user = session.get(User, row.user_id)
            if user is None or not user.active:
                return None
            return Principal(name=user.username, role=Role(user.role), kind="user", csrf_token=row.csrf_token)

    def end_session(self, raw: str) -> None:
        with Session(self._engine) as session:
            session.exec(delete(WebSession).where(WebSession.id_hash == _sha256(raw)))  # type: ignore[call-overload]
            session.commit()

    @staticmethod
    def _end_sessions(session: Session, user_id: int, keep: str | None = None) -> int:
        query = delete(WebSession).where(col(WebSession.user_id) == user_id)
        if keep:
            query = query.where(col(WebSession.id_hash) != _sha256(keep))
        return session.exec(query).rowcount  # type: ignore[call-overload]
