"""The store on real SQLite and real PostgreSQL: filing through the call log, idempotency, routing, queries,
life cycle, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select
from store_fixtures import (
    audit_entries,
    change_ticket,
    draft,
    file_call,
    read_ticket,
    set_operator,
    store_settings,
)

from callbot.api.schemas import ticket_public
from callbot.store import (
    InvalidChange,
    Store,
    TicketFilter,
    TicketNotFound,
    TicketStatus,
    TicketUpdate,
    calls,
    open_store,
    stats,
    tickets,
)
from callbot.store.database import current_revision, head_revision
from callbot.store.models import Ticket, Unit
from callbot.store.numbers import is_valid_ticket_number
from callbot.store.tickets import TicketView
from callbot.types import Category, OperatorStatus, Outcome, Priority


def test_filing_returns_a_valid_number_that_is_stored(store: Store) -> None:
    number = file_call(store, "call-1")
    assert is_valid_ticket_number(number)
    detail = read_ticket(store, number)
    assert ticket_public(TicketView(detail.ticket)).display_number == f"{number[:4]}-{number[4:]}"
    assert detail.ticket.name == "Nguyễn Văn An"
    assert detail.ticket.ward_name == "Phường Hoàn Kiếm"
    assert detail.ticket.province_name == "Thành phố Hà Nội"
    assert detail.ticket.status == TicketStatus.new
    assert detail.ticket.unit_code == "W00070"
    assert detail.unit_name == "UBND Phường Hoàn Kiếm"
    assert detail.call is not None and detail.call.outcome == "complete"
    assert [t.speaker for t in detail.turns] == ["bot", "caller"]
    assert detail.turns[0].latency_ms == 350.0
    assert detail.turns[1].words[0] == {"word": "nguyễn", "start": 2.5, "end": 2.9, "confidence": 0.4}


def test_filing_is_idempotent_per_call(store: Store) -> None:
    first = store.call_log.file_ticket(draft=draft("call-dup"))
    again = store.call_log.file_ticket(draft=draft("call-dup", name="someone else"))
    assert first == again
    with store.session() as session:
        rows = session.exec(select(Ticket).where(Ticket.call_id == "call-dup")).all()
    assert len(rows) == 1 and rows[0].name == "Nguyễn Văn An"


def test_filing_again_as_a_callback_moves_the_escalation_and_the_history_shows_it(store: Store) -> None:
    """A transfer that found nobody: the call's own session files it again, owing a call-back (issue 16)."""
    first = store.call_log.file_ticket(draft=draft("call-cb", outcome=Outcome.escalated, escalation="operator"))
    again = store.call_log.file_ticket(draft=draft("call-cb", outcome=Outcome.escalated, escalation="callback",
                                                   notes=["caller pressed 0", "no operator free: callback"]))
    ticket = read_ticket(store, first).ticket
    assert again == first and ticket.escalation == "callback" and ticket.notes[-1] == "no operator free: callback"
    [entry] = [e for e in audit_entries(store, target_id=first) if e.field == "escalation"]
    assert (entry.actor, entry.action, entry.old_value, entry.new_value) == ("callbot", "ticket.update", "operator",
                                                                             "callback")
    store.call_log.file_ticket(draft=draft("call-cb", escalation="operator"))  # never back to a promised transfer
    assert read_ticket(store, first).ticket.escalation == "callback"


def test_ticket_without_a_started_call_still_files(store: Store) -> None:
    """A hangup before start_call was recorded must not lose the ticket (the call row is made for it)."""
    number = store.call_log.file_ticket(draft=draft("orphan", ward_code=None, province_code=None),
                                        recording_path="/tmp/x.wav", clips=["/tmp/clip1.wav"])
    detail = read_ticket(store, number)
    assert detail.call is not None and detail.call.recording_path == "/tmp/x.wav"
    assert detail.clips == ["/tmp/clip1.wav"] and detail.ticket.unit_code is None


def test_codes_without_padding_are_normalized_and_named(store: Store) -> None:
    number = store.call_log.file_ticket(draft=draft("pad", ward_code="70", province_code=None))
    ticket = read_ticket(store, number).ticket
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
def test_routing_to_the_responsible_unit(store: Store, category: Category, ward: str | None,
                                         expected: str) -> None:
    number = store.call_log.file_ticket(draft=draft(f"route-{category.value}-{ward}", category=category, ward_code=ward))
    assert read_ticket(store, number).ticket.unit_code == expected


def test_units_are_seeded_from_the_official_data(store: Store) -> None:
    with store.session() as session:
        wards = session.exec(select(Unit).where(Unit.kind == "ward")).all()
        hanoi = session.get(Unit, "P01-HOTLINE")
    assert len(wards) == 3321
    assert all("  " not in u.name and u.name.startswith("UBND ") for u in wards)
    assert hanoi is not None and hanoi.province_code == "01"


def update(store: Store, number: str, actor: str, **changes: object) -> Ticket:
    return change_ticket(store, number, TicketUpdate(**changes), actor=actor)  # type: ignore[arg-type]


def test_status_life_cycle_and_audit(store: Store) -> None:
    number = file_call(store, "life")
    updated = update(store, number, "sup1", assigned_to="minh")
    assert updated.status == TicketStatus.assigned  # assigning a new ticket moves it along
    update(store, number, "sup1", status=TicketStatus.in_progress)
    with pytest.raises(InvalidChange):
        update(store, number, "sup1", status=TicketStatus.closed)
    update(store, number, "sup2", status=TicketStatus.resolved)
    closed = update(store, number, "sup2", status=TicketStatus.closed)
    assert closed.status == TicketStatus.closed
    with pytest.raises(InvalidChange):
        update(store, number, "sup2", status=TicketStatus.new)
    entries = audit_entries(store, target_id=number)
    statuses = [(e.actor, e.old_value, e.new_value) for e in reversed(entries) if e.field == "status"]
    assert statuses == [("sup1", "new", "assigned"), ("sup1", "assigned", "in_progress"),
                        ("sup2", "in_progress", "resolved"), ("sup2", "resolved", "closed")]


def test_slot_correction_is_audited_and_reroutes_names(store: Store) -> None:
    number = file_call(store, "fix")
    update(store, number, "sup1", name="Nguyễn Văn Ân", ward_code="70")
    ticket = read_ticket(store, number).ticket
    assert ticket.name == "Nguyễn Văn Ân"
    [entry] = [e for e in audit_entries(store, target_id=number) if e.field == "name"]
    assert (entry.actor, entry.old_value, entry.new_value) == ("sup1", "Nguyễn Văn An", "Nguyễn Văn Ân")
    assert not [e for e in audit_entries(store, target_id=number) if e.field == "ward_code"]  # unchanged: no entry
    with pytest.raises(InvalidChange):
        update(store, number, "sup1", unit_code="NOPE")
    with pytest.raises(TicketNotFound):
        update(store, "12345678", "sup1", name="x")


def test_ticket_list_filters_search_and_pages(store: Store) -> None:
    now = datetime.now(UTC)
    old = file_call(store, "f-old", started_at=now - timedelta(days=3), category=Category.emergency,
                    priority=Priority.high)
    update(store, old, "s", status=TicketStatus.in_progress)
    for index in range(5):
        file_call(store, f"f-{index}", need_text=f"cần nước sạch {index}_%")
    special = file_call(store, "f-hcm", ward_code="26506", province_code="79", name="Trần Thị Bình")

    def listed(filters: TicketFilter) -> tickets.Rows[TicketView]:
        with store.session() as session:
            return tickets.list_tickets(session, filters=filters)

    def numbers(**filters: object) -> set[str]:
        return {v.ticket.number for v in listed(TicketFilter(limit=100, **filters)).items}  # type: ignore[arg-type]

    assert numbers(status=TicketStatus.in_progress) == {old}
    assert numbers(category="emergency") == {old} == numbers(priority="high")
    assert numbers(province_code="79") == {special} == numbers(ward_code="26506")
    assert special in numbers(text="trần thị")
    assert numbers(text="nước sạch 3_%") == {listed(TicketFilter(text="sạch 3")).items[0].ticket.number}
    assert numbers(text=special[:4] + "-" + special[4:]) == {special}
    assert len(numbers(text="100%_")) == 0
    assert numbers(until=now - timedelta(days=1)) == set()  # created_at is the filing time, not the call's
    page = listed(TicketFilter(offset=2, limit=3))
    assert page.total == 7 and len(page.items) == 3
    newest = [v.ticket.number for v in listed(TicketFilter(limit=100)).items]
    assert newest[0] == special  # newest first


def test_calls_list_and_detail(store: Store) -> None:
    number = file_call(store, "c-list")
    store.call_log.start_call(call_id="c-no-ticket", caller_id=None, locale="en", started_at=datetime.now(UTC))
    with store.session() as session:
        page = calls.list_calls(session)
        assert page.total == 2
        by_id = {view.call.call_id: view for view in page.items}
        assert by_id["c-list"].ticket_number == number and by_id["c-no-ticket"].ticket_number is None
        detail = calls.get_call(session, call_pk=by_id["c-list"].call.id)
    assert detail.ticket is not None and detail.ticket.ticket.number == number and len(detail.turns) == 2


def test_operators(store: Store) -> None:
    assert store.call_log.free_operator() is None
    set_operator(store, uri="sip:op1@pbx", status="busy")
    set_operator(store, uri="sip:op2@pbx", status=OperatorStatus.available, name="Lan")
    free = store.call_log.free_operator()
    assert free is not None and free.uri == "sip:op2@pbx" and free.name == "Lan"
    set_operator(store, uri="sip:op2@pbx", status="offline")
    assert store.call_log.free_operator() is None
    with pytest.raises(ValueError):
        set_operator(store, uri="sip:op1@pbx", status="sleeping")


def test_stats(store: Store) -> None:
    now = datetime.now(UTC)
    file_call(store, "s1", started_at=now - timedelta(hours=2), category=Category.emergency)
    file_call(store, "s2", started_at=now)
    with store.session() as session:
        figures = stats.call_stats(session, since=now - timedelta(hours=3), until=now + timedelta(minutes=1))
    assert figures.calls_total == 2 and figures.outcomes == {"complete": 2}
    assert figures.categories == {"emergency": 1, "essential_supplies": 1}
    assert sum(h.calls for h in figures.calls_per_hour) == 2
    assert figures.turn_latency.count == 2 and figures.turn_latency.p50_ms == 350.0


def test_schema_is_at_head_and_reopening_is_harmless(request: pytest.FixtureRequest, tmp_path: Path,
                                                      backend: str) -> None:
    settings = store_settings(request, tmp_path, backend)
    first = open_store(settings)
    number = first.call_log.file_ticket(draft=draft("keep"))
    first.close()
    second = open_store(settings)
    assert current_revision(second.database.engine) == head_revision()
    assert read_ticket(second, number).ticket.call_id == "keep"
    with Session(second.database.engine) as session:
        assert len(session.exec(select(Unit).where(Unit.kind == "hotline")).all()) == 34
    second.close()


def test_operator_uris_from_settings_are_seeded(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    settings = store_settings(request, tmp_path, "sqlite", operator_uris=["sip:101@pbx"])
    seeded = open_store(settings)
    free = seeded.call_log.free_operator()
    assert free is not None and free.uri == "sip:101@pbx"
    seeded.close()


def test_outcome_partial_ticket(store: Store) -> None:
    number = store.call_log.file_ticket(draft=draft("partial", outcome=Outcome.partial, name=None, needs_transcription=True))
    ticket = read_ticket(store, number).ticket
    assert ticket.outcome == "partial" and ticket.needs_transcription and ticket.name is None


def test_sqlite_runs_in_wal_mode(store: Store, backend: str) -> None:
    if backend == "sqlite":
        with store.database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    else:
        assert store.database.engine.dialect.driver == "psycopg"


def test_migrations_go_down_and_up_again(store: Store) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from callbot.store.database import alembic_config, upgrade_schema

    file_call(store, "before-downgrade")
    command.downgrade(alembic_config(store.database.engine), "base")
    assert set(inspect(store.database.engine).get_table_names()) <= {"alembic_version"}
    upgrade_schema(store.database.engine)
    assert {"calls", "turns", "tickets", "units", "operators", "users", "api_tokens", "web_sessions",
            "audit_log"} <= set(inspect(store.database.engine).get_table_names())
    assert current_revision(store.database.engine) == head_revision()
