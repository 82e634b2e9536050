"""Tables. Each resource has a family: <Name>Base (shared fields), <Name>(table=True) and, where a supervisor
or the PBX writes, <Name>Update; its <Name>Public, what leaves through the API, is in ``callbot.api.schemas``
(the table classes never leave through the API). All times are aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any

from pydantic import ValidationInfo, field_validator
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel

from callbot.types import CampaignState, Category, ContactStatus, OperatorStatus, Priority, Speaker, TurnKind


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """An aware UTC time; a naive one is taken as UTC already (what the telephony side passes)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _enum_column(enum: type[Enum], length: int = 16) -> SAEnum:
    # Plain VARCHAR on every backend: no PostgreSQL enum types for migrations to create and alter.
    return SAEnum(enum, native_enum=False, length=length, validate_strings=True)


class TicketStatus(str, Enum):
    new = "new"
    assigned = "assigned"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"


# Which status may follow which: forward through the life cycle, one step back to reopen or unassign.
ALLOWED_TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.new: frozenset({TicketStatus.assigned, TicketStatus.in_progress, TicketStatus.closed}),
    TicketStatus.assigned: frozenset({TicketStatus.in_progress, TicketStatus.new, TicketStatus.closed}),
    TicketStatus.in_progress: frozenset({TicketStatus.resolved, TicketStatus.assigned}),
    TicketStatus.resolved: frozenset({TicketStatus.closed, TicketStatus.in_progress}),
    TicketStatus.closed: frozenset(),
}


class Role(str, Enum):
    """Who may do what (README, "Roles"): only supervisor, operator and admin read citizen data."""

    supervisor = "supervisor"
    operator = "operator"
    engineer = "engineer"  # statistics, operators, and fixture exports of tickets a supervisor approved
    admin = "admin"
    pbx = "pbx"  # a machine: pushes operators' status (PUT /api/operators/{uri}), nothing else
    monitor = "monitor"  # a machine or wallboard: statistics only; the least privileged (tokens' default)


# --- calls --------------------------------------------------------------------------------------------
class CallBase(SQLModel):
    call_id: str = Field(max_length=128, unique=True, index=True)
    caller_id: str | None = Field(default=None, max_length=128)
    locale: str = Field(default="vi", max_length=8)
    started_at: datetime = Field(index=True)
    ended_at: datetime | None = None
    outcome: str | None = Field(default=None, max_length=32, index=True)


class Call(CallBase, table=True):
    __tablename__ = "calls"
    id: int | None = Field(default=None, primary_key=True)
    recording_path: str | None = Field(default=None, max_length=1024)
    # Write-ahead: who runs the call, and what it captured so far (a crashed call's partial ticket is made of it).
    worker_id: str | None = Field(default=None, max_length=128, index=True)
    incarnation: str | None = Field(default=None, max_length=32)
    draft: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    clips: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


# --- turns --------------------------------------------------------------------------------------------
class TurnBase(SQLModel):
    seq: int = 0
    speaker: Speaker = Field(sa_type=_enum_column(Speaker))
    text: str = ""
    confidence: float | None = None
    start: float = 0.0  # seconds from the call's start
    end: float = 0.0
    kind: TurnKind = Field(default=TurnKind.speech, sa_type=_enum_column(TurnKind))
    latency_ms: float | None = None  # bot turns: caller's end of speech -> first audio of the answer
    words: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class Turn(TurnBase, table=True):
    __tablename__ = "turns"
    id: int | None = Field(default=None, primary_key=True)
    call_id: str = Field(foreign_key="calls.call_id", index=True, max_length=128)


# --- responsible units --------------------------------------------------------------------------------
class UnitBase(SQLModel):
    name: str = Field(max_length=255)
    kind: str = Field(max_length=32)  # ward | hotline | emergency | labour | custom
    province_code: str | None = Field(default=None, max_length=8, index=True)
    ward_code: str | None = Field(default=None, max_length=8, index=True)
    sip_uri: str | None = Field(default=None, max_length=255)


class Unit(UnitBase, table=True):
    __tablename__ = "units"
    code: str = Field(primary_key=True, max_length=64)


# --- tickets ------------------------------------------------------------------------------------------
class TicketBase(SQLModel):
    name: str | None = Field(default=None, max_length=255)
    anonymous: bool = False  # the caller declined to give a name (set by the dialogue, never edited)
    address_text: str | None = None
    ward_code: str | None = Field(default=None, max_length=8, index=True)
    ward_name: str | None = Field(default=None, max_length=255)
    province_code: str | None = Field(default=None, max_length=8, index=True)
    province_name: str | None = Field(default=None, max_length=255)
    category: str = Field(default="other", max_length=32, index=True)
    priority: str = Field(default="normal", max_length=16, index=True)
    need_text: str | None = None


class Ticket(TicketBase, table=True):
    __tablename__ = "tickets"
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=8, unique=True, index=True)
    call_id: str = Field(max_length=128, unique=True, index=True)
    caller_id: str | None = Field(default=None, max_length=128)
    locale: str = Field(default="vi", max_length=8)
    outcome: str = Field(max_length=32, index=True)
    reason: str | None = Field(default=None, max_length=32)  # why a call ended abnormally: crashed | unfiled
    escalation: str | None = Field(default=None, max_length=32)
    status: TicketStatus = Field(default=TicketStatus.new, index=True, sa_type=_enum_column(TicketStatus))
    unit_code: str | None = Field(default=None, foreign_key="units.code", max_length=64, index=True)
    assigned_to: str | None = Field(default=None, max_length=128)
    needs_transcription: bool = False
    clips: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    notes: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    # A supervisor's approval to hand this call to engineers as a tuning fixture (audio, transcript, slots).
    tuning_approved_by: str | None = Field(default=None, max_length=128)
    tuning_approved_at: datetime | None = Field(default=None, index=True)


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # the null default means "left out", not a value a client may send


_NOT_NULL: dict[str, Any] = {"json_schema_extra": _drop_default}
# No control characters but tab and newline: never part of a real slot value, and PostgreSQL refuses NUL.
_TEXT: dict[str, Any] = {"pattern": r"^[^\x00-\x08\x0b-\x1f\x7f]*$"}


class TicketUpdate(SQLModel):
    """A supervisor's change: status, assignment, responsible unit, a corrected slot value, or the approval
    for tuning. A field left out is kept; the fields the ticket cannot be without (status, category, priority,
    needs_transcription, approved_for_tuning) refuse null, unit_code refuses an empty string and text refuses
    control characters: 422 naming the field, never a database error."""

    # Typed without None so the OpenAPI document says what is accepted; an explicit null fails validation.
    status: TicketStatus = Field(default=None, schema_extra=_NOT_NULL)  # type: ignore[assignment]
    assigned_to: str | None = Field(default=None, max_length=128, schema_extra=_TEXT)
    unit_code: str | None = Field(default=None, min_length=1, max_length=64,
                                  schema_extra={"pattern": r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"})
    name: str | None = Field(default=None, max_length=255, schema_extra=_TEXT)
    address_text: str | None = Field(default=None, max_length=2000, schema_extra=_TEXT)
    ward_code: str | None = Field(default=None, max_length=8, schema_extra={"pattern": r"^[0-9]{1,5}$"})
    province_code: str | None = Field(default=None, max_length=8, schema_extra={"pattern": r"^[0-9]{1,2}$"})
    category: Category = Field(default=None, schema_extra=_NOT_NULL)  # type: ignore[assignment]
    priority: Priority = Field(default=None, schema_extra=_NOT_NULL)  # type: ignore[assignment]
    need_text: str | None = Field(default=None, max_length=4000, schema_extra=_TEXT)
    needs_transcription: bool = Field(default=None, schema_extra=_NOT_NULL)  # type: ignore[assignment]
    approved_for_tuning: bool = Field(default=None, schema_extra=_NOT_NULL)  # type: ignore[assignment]

    @field_validator("status", "category", "priority", "needs_transcription", "approved_for_tuning", mode="before")
    @classmethod
    def _required_value(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise ValueError(f"{info.field_name} may not be null (leave it out to keep the current value)")
        return value

    @field_validator("assigned_to", "name", "address_text", "need_text")
    @classmethod
    def _stripped(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from JSON's \ud800: no database can store it
            raise ValueError("not valid Unicode text") from None
        return value.strip()


# --- operators ----------------------------------------------------------------------------------------
class OperatorBase(SQLModel):
    uri: str = Field(max_length=255, unique=True, index=True)
    name: str | None = Field(default=None, max_length=255)
    status: OperatorStatus = Field(default=OperatorStatus.offline, sa_type=_enum_column(OperatorStatus))


class Operator(OperatorBase, table=True):
    __tablename__ = "operators"
    id: int | None = Field(default=None, primary_key=True)
    updated_at: datetime = Field(default_factory=utcnow)


class OperatorStatusUpdate(SQLModel):
    status: OperatorStatus
    name: str | None = Field(default=None, max_length=255)


# --- people and machines ------------------------------------------------------------------------------
class UserBase(SQLModel):
    username: str = Field(max_length=64, unique=True, index=True)
    role: Role = Field(default=Role.supervisor, sa_type=_enum_column(Role))
    active: bool = True


class User(UserBase, table=True):
    __tablename__ = "users"
    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow)
    failed_logins: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # in a row; locks past a threshold
    locked_until: datetime | None = None


class UserPublic(UserBase):
    id: int


class ApiToken(SQLModel, table=True):
    """A machine's bearer token; only its SHA-256 is kept (tokens are 256-bit random, so no KDF needed)."""

    __tablename__ = "api_tokens"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    role: Role = Field(default=Role.monitor, sa_type=_enum_column(Role))
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None  # `callbot tokens revoke`: the token authenticates nothing any more


class ApiTokenPublic(SQLModel):
    id: int
    name: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class WebSession(SQLModel, table=True):
    """A browser login. The cookie carries the raw id; the table keeps its SHA-256 and the CSRF token."""

    __tablename__ = "web_sessions"
    id_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


# --- workers ------------------------------------------------------------------------------------------
class Worker(SQLModel, table=True):
    """A call-answering process: its current incarnation and when it last said it is alive."""

    __tablename__ = "workers"
    worker_id: str = Field(primary_key=True, max_length=128)
    incarnation: str = Field(max_length=32)
    hostname: str = Field(max_length=255)
    pid: int
    started_at: datetime
    heartbeat_at: datetime


# --- audit log ----------------------------------------------------------------------------------------
class AuditEntryBase(SQLModel):
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=64, index=True)
    target_type: str = Field(max_length=32)
    target_id: str = Field(max_length=128, index=True)
    field: str | None = Field(default=None, max_length=64)
    old_value: str | None = None
    new_value: str | None = None


class AuditEntry(AuditEntryBase, table=True):
    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)


# --- outbound campaigns (callbot.campaign; functions in callbot.store.campaigns) --------------------------
class Campaign(SQLModel, table=True):
    """A message called out to a contact list within a calling window, at a pace, with retries per outcome."""

    __tablename__ = "campaigns"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True, index=True)
    state: CampaignState = Field(default=CampaignState.created, index=True, sa_type=_enum_column(CampaignState))
    locale: str = Field(default="vi", max_length=8)
    message_text: str | None = None  # spoken with the locale's voice (through the prompt cache)...
    audio_path: str | None = Field(default=None, max_length=1024)  # ...or this recording, kept in the data dir
    window_start: str = Field(max_length=5)  # local HH:MM of campaigns' time zone
    window_end: str = Field(max_length=5)
    days: str = Field(max_length=64)  # mon-fri
    timezone: str = Field(max_length=64)
    retry: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # {busy|no_answer|failed: rule}
    concurrency: int
    cps: float
    next_dial_at: datetime | None = None  # the next call may not start before (the cps limit, node-wide)
    claims: int = 0  # bumped by every claim: serializes claimers of one campaign on every backend
    problems: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class CampaignContact(SQLModel, table=True):
    """One number of a campaign (citizen data): where it stands, and the last attempt's result."""

    __tablename__ = "campaign_contacts"
    __table_args__ = (UniqueConstraint("campaign_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id", index=True)
    number: str = Field(max_length=16)  # E.164
    name: str | None = Field(default=None, max_length=255)
    locale: str | None = Field(default=None, max_length=8)
    line: int  # in the imported CSV
    status: ContactStatus = Field(default=ContactStatus.pending, index=True,
                                  sa_type=_enum_column(ContactStatus, length=24))
    attempts: int = 0  # attempts ended (dialled)
    sip_code: int | None = None  # the last attempt's final SIP status (200 when answered)
    dtmf: str | None = Field(default=None, max_length=32)  # keys the callee pressed, in order
    duration_s: float | None = None  # the last answered attempt's talk time
    next_attempt_at: datetime | None = Field(default=None, index=True)  # None: now (or never, once final)
    active_attempt_id: int | None = Field(default=None, index=True)  # being called by this attempt
    first_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None


class CampaignAttempt(SQLModel, table=True):
    """One call to a contact, committed before it is dialled and owned by the process that dials it."""

    __tablename__ = "campaign_attempts"
    __table_args__ = (UniqueConstraint("contact_id", "attempt_no"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id", index=True)
    contact_id: int = Field(foreign_key="campaign_contacts.id", index=True)
    attempt_no: int
    worker_id: str = Field(max_length=128, index=True)
    incarnation: str = Field(max_length=32)
    claimed_at: datetime
    call_id: str | None = Field(default=None, max_length=128)  # the SIP Call-ID once the INVITE is out
    answered_at: datetime | None = None
    confirmed: bool = False  # written ahead the moment the callee confirms
    dtmf: str | None = Field(default=None, max_length=32)
    ended_at: datetime | None = Field(default=None, index=True)
    outcome: ContactStatus | None = Field(default=None, sa_type=_enum_column(ContactStatus, length=24))
    sip_code: int | None = None
    duration_s: float | None = None
    note: str | None = Field(default=None, max_length=128)  # why an attempt ended abnormally


class DoNotCall(SQLModel, table=True):
    """A number never to be called by any campaign (citizen data)."""

    __tablename__ = "do_not_call"
    number: str = Field(primary_key=True, max_length=16)  # E.164
    added_by: str = Field(max_length=128)
    added_at: datetime = Field(default_factory=utcnow)
