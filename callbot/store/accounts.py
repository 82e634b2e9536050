"""People (users with roles, argon2-hashed passwords), machines (API tokens) and browser sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, delete, select

from callbot.store.models import ApiToken, Role, User, UserPublic, WebSession, utcnow

SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    """A user or token cannot be created as asked (duplicate name, weak password, unknown user)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request: a logged-in person or a machine token."""

    name: str
    role: Role
    kind: str  # "user" | "token"
    csrf_token: str | None = None


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class Accounts:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._hasher = PasswordHasher()

    # --- users ----------------------------------------------------------------------------------------
    def create_user(self, *, username: str, password: str, role: Role) -> UserPublic:
        username = username.strip()
        if not username or len(username) > 64:
            raise AccountError("the user name must have 1 to 64 characters")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
        with Session(self._engine) as session:
            if session.exec(select(User).where(User.username == username)).first():
                raise AccountError(f"user {username!r} exists already")
            user = User(username=username, role=role, password_hash=self._hasher.hash(password))
            session.add(user)
            session.commit()
            session.refresh(user)
            return UserPublic.model_validate(user, from_attributes=True)

    def set_password(self, *, username: str, password: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
        with Session(self._engine) as session:
            user = session.exec(select(User).where(User.username == username)).first()
            if user is None:
                raise AccountError(f"no user {username!r}")
            user.password_hash = self._hasher.hash(password)
            session.add(user)
            session.commit()

    def authenticate(self, *, username: str, password: str) -> UserPublic | None:
        with Session(self._engine) as session:
            user = session.exec(select(User).where(User.username == username)).first()
            if user is None or not user.active:
                self._hasher.hash(password)  # same cost whether or not the user exists: no user enumeration
                return None
            try:
                self._hasher.verify(user.password_hash, password)
            except (VerificationError, InvalidHashError):
                return None
            if self._hasher.check_needs_rehash(user.password_hash):
                user.password_hash = self._hasher.hash(password)
                session.add(user)
                session.commit()
                session.refresh(user)
            return UserPublic.model_validate(user, from_attributes=True)

    def list_users(self) -> list[UserPublic]:
        with Session(self._engine) as session:
            users = session.exec(select(User).order_by(User.username)).all()
            return [UserPublic.model_validate(u, from_attributes=True) for u in users]

    # --- machine tokens -------------------------------------------------------------------------------
    def create_token(self, *, name: str, role: Role = Role.engineer) -> str:
        """A new bearer token, returned once in clear; only its hash is kept."""
        raw = "cbt_" + secrets.token_urlsafe(32)
        with Session(self._engine) as session:
            session.add(ApiToken(name=name, token_hash=_sha256(raw), role=role))
            session.commit()
        return raw

    def principal_for_token(self, raw: str) -> Principal | None:
        with Session(self._engine) as session:
            token = session.exec(select(ApiToken).where(ApiToken.token_hash == _sha256(raw))).first()
            if token is None:
                return None
            return Principal(name=f"token:{token.name}", role=Role(token.role), kind="token")

    # --- browser sessions -----------------------------------------------------------------------------
    def create_session(self, user: UserPublic) -> str:
        raw = secrets.token_urlsafe(32)
        with Session(self._engine) as session:
            session.add(
                WebSession(
                    id_hash=_sha256(raw), user_id=user.id, csrf_token=secrets.token_urlsafe(24),
                    expires_at=utcnow() + SESSION_LIFETIME,
                )
            )
            session.commit()
        return raw

    def principal_for_session(self, raw: str) -> Principal | None:
        with Session(self._engine) as session:
            row = session.get(WebSession, _sha256(raw))
            if row is None:
                return None
            if row.expires_at <= utcnow():
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
