"""Store fixtures shared by the store, API and CLI tests: a Store on SQLite or on PostgreSQL, a whole call as
the call session writes it, and the store's functions each in a session of its own (the rows they return stay
readable after it)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from callbot.api.schemas import CallPublic, call_public
from callbot.config import Settings
from callbot.store import Store, TicketUpdate, audit, calls, open_store, operators, tickets
from callbot.store.calls import CallRecord
from callbot.store.models import AuditEntry, Operator, Ticket
from callbot.store.tickets import TicketRecord
from callbot.types import Category, OperatorStatus, Outcome, Priority, TicketDraft

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def store_settings(request: pytest.FixtureRequest, tmp_path: Path, backend: str, **overrides: object) -> Settings:
    if backend == "postgres":
        server = request.getfixturevalue("postgres_server")
        overrides.setdefault("database_url", server.create_database())
    else:
        (tmp_path / "db").mkdir(parents=True, exist_ok=True)
        overrides.setdefault("database_url", f"sqlite:///{tmp_path / 'db' / 'callbot.db'}")
    return Settings(data_dir=tmp_path / "data", **overrides)  # type: ignore[arg-type]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> Iterator[Store]:
    opened = open_store(store_settings(request, tmp_path, backend))
    try:
        yield opened
    finally:
        opened.close()


def draft(call_id: str, **fields: object) -> TicketDraft:
    values: dict[str, object] = {
        "call_id": call_id, "locale": "vi", "outcome": Outcome.complete, "caller_id": "0912345678",
        "name": "Nguyễn Văn An", "address_text": "số 12 ngõ 34 phố Huế", "ward_code": "00070",
        "province_code": "01", "need_text": "cần hỗ trợ lương thực", "category": Category.essential_supplies,
        "priority": Priority.normal,
    }
    values.update(fields)
    return TicketDraft(**values)  # type: ignore[arg-type]


def file_call(store: Store, call_id: str, started_at: datetime | None = None, **fields: object) -> str:
    """A whole call as the call session makes it: start, a bot and a caller turn, the ticket, the end."""
    started = started_at or datetime.now(UTC)
    log = store.call_log
    log.start_call(call_id=call_id, caller_id="0912345678", locale="vi", started_at=started)
    log.add_turn(call_id=call_id, speaker="bot", text="Xin chào, xin cho biết họ tên", confidence=None,
                 start=0.0, end=2.0, kind="bot", latency_ms=350.0)
    log.add_turn(call_id=call_id, speaker="caller", text="nguyễn văn an", confidence=0.62, start=2.5,
                 end=3.9, kind="speech",
                 words=[{"word": "nguyễn", "start": 2.5, "end": 2.9, "confidence": 0.4},
                        {"word": "văn", "start": 2.9, "end": 3.3, "confidence": 0.9},
                        {"word": "an", "start": 3.3, "end": 3.9, "confidence": 0.95}])
    number = log.file_ticket(draft=draft(call_id, **fields))
    log.finish_call(call_id=call_id, outcome="complete", ended_at=started)
    return number


def read_ticket(store: Store, number: str) -> TicketRecord:
    """The ticket with its call and turns."""
    with store.session() as session:
        return tickets.get_ticket(session, number=number)


def change_ticket(store: Store, number: str, update: TicketUpdate, *, actor: str) -> Ticket:
    with store.session() as session:
        return tickets.update_ticket(session, number=number, update=update, actor=actor).ticket


def audit_entries(store: Store, *, target_id: str | None = None, action: str | None = None,
                  limit: int = 200) -> list[AuditEntry]:
    with store.session() as session:
        return audit.list_entries(session, target_id=target_id, action=action, limit=limit)


def set_operator(store: Store, *, uri: str, status: OperatorStatus | str, name: str | None = None) -> Operator:
    with store.session() as session:
        return operators.set_operator_status(session, uri=uri, status=status, name=name)


def listed_calls(store: Store, **filters: object) -> list[CallPublic]:
    """The calls as the API lists them (newest first, each with its ticket number and whether it has a
    recording)."""
    with store.session() as session:
        page = calls.list_calls(session, **filters)  # type: ignore[arg-type]
        return [call_public(view.call, view.ticket_number) for view in page.items]


def read_call(store: Store, call_pk: int) -> CallRecord:
    with store.session() as session:
        return calls.get_call(session, call_pk=call_pk)


def recording_of(store: Store, call_pk: int) -> Path | None:
    with store.session() as session:
        return calls.recording_path(session, call_pk=call_pk)
