"""TicketStore on real SQLite and real PostgreSQL: filing, idempotency, routing, queries, life cycle, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select
from store_fixtures import draft, file_call, store_settings

from callbot.store import (
    InvalidChange,
    OperatorStatus,
    TicketFilter,
    TicketNotFound,
    TicketStatus,
    TicketStore,
    TicketUpdate,
)
from callbot.store.database import current_revision, head_revision
from callbot.store.models import Ticket, Unit
from callbot.store.numbers import is_valid_ticket_number
from callbot.types import Category, Outcome, Priority


def test_filing_returns_a_valid_number_that_is_stored(store: TicketStore) -> None:
    number = file_call(store, "call-1")
    assert is_valid_ticket_number(number)
    detail = store.get_ticket(number)
    assert detail.ticket.display_number == f"{number[:4]}-{number[4:]}"
    assert detail.ticket.name == "Nguyễn Văn An"
    assert detail.ticket.ward_name == "Phường Hoàn Kiếm"
    assert detail.ticket.province_name == "Thành phố Hà Nội"
    assert detail.ticket.status == TicketStatus.new
    assert detail.ticket.unit_code == "W00070"
    assert detail.ticket.unit_name == "UBND Phường Hoàn Kiếm"
    assert detail.call is not None and detail.call.outcome == "complete"
    assert [t.speaker for t in detail.turns] == ["bot", "caller"]
    assert detail.turns[0].latency_ms == 350.0
    assert detail.turns[1].words[0] == {"word": "nguyễn", "start": 2.5, "end": 2.9, "confidence": 0.4}


def test_filing_is_idempotent_per_call(store: TicketStore) -> None:
    first = store.file_ticket(draft=draft("call-dup"))
    again = store.file_ticket(draft=draft("call-dup", name="someone else"))
    assert first == again
    with store.session() as session:
        rows = session.exec(select(Ticket).where(Ticket.call_id == "call-dup")).all()
    assert len(rows) == 1 and rows[0].name == "Nguyễn Văn An"


def test_ticket_without_a_started_call_still_files(store: TicketStore) -> None:
    """A hangup before start_call was recorded must not lose the ticket (the call row is made for it)."""
    number = store.file_ticket(draft=draft("orphan", ward_code=None, province_code=None),
                               recording_path="/tmp/x.wav", clips=["/tmp/clip1.wav"])
    detail = store.get_ticket(number)
    assert detail.call is not None and detail.call.has_recording
    assert detail.clips == ["/tmp/clip1.wav"] and detail.ticket.unit_code is None


def test_codes_without_padding_are_normalized_and_named(store: TicketStore) -> None:
    number = store.file_ticket(draft=draft("pad", ward_code="70", province_code=None))
    ticket = store.get_ticket(number).ticket
    assert (ticket.ward_code, ticket.province_code, ticket.province_name) == ("00070", "01", "Thành phố Hà Nội")


@pytest.mark.parametrize(
    ("category", "ward", "expected"),
    [
        (Category.essential_supplies, "00070", "W00070"),
        (Category.social_welfare, "00070", "P01-LABOUR"),  # the default override in the settings
        (Category.emergency, "00070", "P01-EMERGENCY"),
        (Category.other, None, "P01-HOTLINE"),
    ],
)
def test_routing_to_the_responsible_unit(store: TicketStore, category: Category, ward: str | None,
                                         expected: str) -> None:
    number = store.file_ticket(draft=draft(f"route-{category.value}-{ward}", category=category, ward_code=ward))
    assert store.get_ticket(number).ticket.unit_code == expected


def test_units_are_seeded_from_the_official_data(store: TicketStore) -> None:
    with store.session() as session:
        wards = session.exec(select(Unit).where(Unit.kind == "ward")).all()
        hanoi = session.get(Unit, "P01-HOTLINE")
    assert len(wards) == 3321
    assert all("  " not in u.name and u.name.startswith("UBND ") for u in wards)
    assert hanoi is not None and hanoi.province_code == "01"


def test_status_life_cycle_and_audit(store: TicketStore) -> None:
    number = file_call(store, "life")
    updated = store.update_ticket(number, TicketUpdate(assigned_to="minh"), actor="sup1")
    assert updated.status == TicketStatus.assigned  # assigning a new ticket moves it along
    store.update_ticket(number, TicketUpdate(status=TicketStatus.in_progress), actor="sup1")
    with pytest.raises(InvalidChange):
        store.update_ticket(number, TicketUpdate(status=TicketStatus.closed), actor="sup1")
    store.update_ticket(number, TicketUpdate(status=TicketStatus.resolved), actor="sup2")
    closed = store.update_ticket(number, TicketUpdate(status=TicketStatus.closed), actor="sup2")
    assert closed.status == TicketStatus.closed
    with pytest.raises(InvalidChange):
        store.update_ticket(number, TicketUpdate(status=TicketStatus.new), actor="sup2")
    entries = store.audit_log(target_id=number)
    statuses = [(e.actor, e.old_value, e.new_value) for e in reversed(entries) if e.field == "status"]
    assert statuses == [("sup1", "new", "assigned"), ("sup1", "assigned", "in_progress"),
                        ("sup2", "in_progress", "resolved"), ("sup2", "resolved", "closed")]


def test_slot_correction_is_audited_and_reroutes_names(store: TicketStore) -> None:
    number = file_call(store, "fix")
    store.update_ticket(number, TicketUpdate(name="Nguyễn Văn Ân", ward_code="70"), actor="sup1")
    ticket = store.get_ticket(number).ticket
    assert ticket.name == "Nguyễn Văn Ân"
    [entry] = [e for e in store.audit_log(target_id=number) if e.field == "name"]
    assert (entry.actor, entry.old_value, entry.new_value) == ("sup1", "Nguyễn Văn An", "Nguyễn Văn Ân")
    assert not [e for e in store.audit_log(target_id=number) if e.field == "ward_code"]  # unchanged: no entry
    with pytest.raises(InvalidChange):
        store.update_ticket(number, TicketUpdate(unit_code="NOPE"), actor="sup1")
    with pytest.raises(TicketNotFound):
        store.update_ticket("12345678", TicketUpdate(name="x"), actor="sup1")


def test_ticket_list_filters_search_and_pages(store: TicketStore) -> None:
    now = datetime.now(UTC)
    old = file_call(store, "f-old", started_at=now - timedelta(days=3), category=Category.emergency,
                    priority=Priority.high)
    store.update_ticket(old, TicketUpdate(status=TicketStatus.in_progress), actor="s")
    for index in range(5):
        file_call(store, f"f-{index}", need_text=f"cần nước sạch {index}_%")
    special = file_call(store, "f-hcm", ward_code="26506", province_code="79", name="Trần Thị Bình")

    def numbers(**filters: object) -> set[str]:
        return {t.number for t in store.list_tickets(TicketFilter(limit=100, **filters)).items}  # type: ignore[arg-type]

    assert numbers(status=TicketStatus.in_progress) == {old}
    assert numbers(category="emergency") == {old} == numbers(priority="high")
    assert numbers(province_code="79") == {special} == numbers(ward_code="26506")
    assert special in numbers(text="trần thị")
    assert numbers(text="nước sạch 3_%") == {store.list_tickets(TicketFilter(text="sạch 3")).items[0].number}
    assert numbers(text=special[:4] + "-" + special[4:]) == {special}
    assert len(numbers(text="100%_")) == 0
    assert numbers(until=now - timedelta(days=1)) == set()  # created_at is the filing time, not the call's
    page = store.list_tickets(TicketFilter(offset=2, limit=3))
    assert page.total == 7 and len(page.items) == 3
    listed = [t.number for t in store.list_tickets(TicketFilter(limit=100)).items]
    assert listed[0] == special  # newest first


def test_calls_list_and_detail(store: TicketStore) -> None:
    number = file_call(store, "c-list")
    store.start_call(call_id="c-no-ticket", caller_id=None, locale="en", started_at=datetime.now(UTC))
    page = store.list_calls()
    assert page.total == 2
    by_id = {c.call_id: c for c in page.items}
    assert by_id["c-list"].ticket_number == number and by_id["c-no-ticket"].ticket_number is None
    detail = store.get_call(by_id["c-list"].id)
    assert detail.ticket is not None and detail.ticket.number == number and len(detail.turns) == 2


def test_operators(store: TicketStore) -> None:
    assert store.free_operator() is None
    store.set_operator_status(uri="sip:op1@pbx", status="busy")
    store.set_operator_status(uri="sip:op2@pbx", status=OperatorStatus.available, name="Lan")
    free = store.free_operator()
    assert free is not None and free.uri == "sip:op2@pbx" and free.name == "Lan"
    store.set_operator_status(uri="sip:op2@pbx", status="offline")
    assert store.free_operator() is None
    with pytest.raises(ValueError):
        store.set_operator_status(uri="sip:op1@pbx", status="sleeping")


def test_stats(store: TicketStore) -> None:
    now = datetime.now(UTC)
    file_call(store, "s1", started_at=now - timedelta(hours=2), category=Category.emergency)
    file_call(store, "s2", started_at=now)
    stats = store.stats(since=now - timedelta(hours=3), until=now + timedelta(minutes=1))
    assert stats.calls_total == 2 and stats.outcomes == {"complete": 2}
    assert stats.categories == {"emergency": 1, "essential_supplies": 1}
    assert sum(h.calls for h in stats.calls_per_hour) == 2
    assert stats.turn_latency.count == 2 and stats.turn_latency.p50_ms == 350.0


def test_schema_is_at_head_and_reopening_is_harmless(request: pytest.FixtureRequest, tmp_path: Path,
                                                      backend: str) -> None:
    settings = store_settings(request, tmp_path, backend)
    first = TicketStore.open(settings)
    number = first.file_ticket(draft=draft("keep"))
    first.close()
    second = TicketStore.open(settings)
    assert current_revision(second.engine) == head_revision()
    assert second.get_ticket(number).ticket.call_id == "keep"
    with Session(second.engine) as session:
        assert len(session.exec(select(Unit).where(Unit.kind == "hotline")).all()) == 34
    second.close()


def test_operator_uris_from_settings_are_seeded(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    settings = store_settings(request, tmp_path, "sqlite", operator_uris=["sip:101@pbx"])
    seeded = TicketStore.open(settings)
    free = seeded.free_operator()
    assert free is not None and free.uri == "sip:101@pbx"
    seeded.close()


def test_outcome_partial_ticket(store: TicketStore) -> None:
    number = store.file_ticket(draft=draft("partial", outcome=Outcome.partial, name=None, needs_transcription=True))
    ticket = store.get_ticket(number).ticket
    assert ticket.outcome == "partial" and ticket.needs_transcription and ticket.name is None


def test_sqlite_runs_in_wal_mode(store: TicketStore, backend: str) -> None:
    if backend == "sqlite":
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    else:
        assert store.engine.dialect.driver == "psycopg"


def test_migrations_go_down_and_up_again(store: TicketStore) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from callbot.store.database import alembic_config, upgrade_schema

    file_call(store, "before-downgrade")
    command.downgrade(alembic_config(store.engine), "base")
    assert set(inspect(store.engine).get_table_names()) <= {"alembic_version"}
    upgrade_schema(store.engine)
    assert {"calls", "turns", "tickets", "units", "operators", "users", "api_tokens", "web_sessions",
            "audit_log"} <= set(inspect(store.engine).get_table_names())
    assert current_revision(store.engine) == head_revision()
