"""Store fixtures shared by the store, API and CLI tests: a TicketStore on SQLite or on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from callbot.config import Settings
from callbot.store import TicketStore
from callbot.types import Category, Outcome, Priority, TicketDraft

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
def store(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> Iterator[TicketStore]:
    opened = TicketStore.open(store_settings(request, tmp_path, backend))
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


def file_call(store: TicketStore, call_id: str, started_at: datetime | None = None, **fields: object) -> str:
    """A whole call as the call session makes it: start, a bot and a caller turn, the ticket, the end."""
    started = started_at or datetime.now(UTC)
    store.start_call(call_id=call_id, caller_id="0912345678", locale="vi", started_at=started)
    store.add_turn(call_id=call_id, speaker="bot", text="Xin chào, xin cho biết họ tên", confidence=None,
                   start=0.0, end=2.0, kind="bot", latency_ms=350.0)
    store.add_turn(call_id=call_id, speaker="caller", text="nguyễn văn an", confidence=0.62, start=2.5,
                   end=3.9, kind="speech",
                   words=[{"word": "nguyễn", "start": 2.5, "end": 2.9, "confidence": 0.4},
                          {"word": "văn", "start": 2.9, "end": 3.3, "confidence": 0.9},
                          {"word": "an", "start": 3.3, "end": 3.9, "confidence": 0.95}])
    number = store.file_ticket(draft=draft(call_id, **fields))
    store.finish_call(call_id=call_id, outcome="complete", ended_at=started)
    return number
