"""Tickets in the store on real SQLite and real PostgreSQL: filing through the call log, idempotency, routing,
queries, life cycle, audit, the anonymous flag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from callbot.api.schemas import ticket_public
from callbot.store import (
    InvalidChange,
    Store,
    TicketFilter,
    TicketNotFound,
    TicketStatus,
    TicketUpdate,
    tickets,
)
from callbot.store.models import Ticket, Unit
from callbot.ticket_numbers import is_valid_ticket_number
from callbot.store.tickets import TicketView
from callbot.types import Category, Outcome, Priority
from tests.support.stores import (
    audit_entries,
    change_ticket,
    draft,
    file_call,
    read_ticket,
)


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



def test_correcting_the_place_routes_the_ticket_again_and_the_unit_change_is_audited(store: Store) -> None:
    """A record-only ticket is filed with no ward (nobody understood the address): the supervisor's correction
    is what routes it to a ward (issue 16)."""
    number = store.call_log.file_ticket(draft=draft("unrouted", ward_code=None, province_code=None,
                                                    needs_transcription=True))
    assert read_ticket(store, number).ticket.unit_code is None  # no place, no province: unrouted
    update(store, number, "sup1", ward_code="00004")  # the province comes from the ward
    ticket = read_ticket(store, number).ticket
    assert (ticket.province_code, ticket.ward_name, ticket.unit_code) == ("01", "Phường Ba Đình", "W00004")
    [entry] = [e for e in audit_entries(store, target_id=number) if e.field == "unit_code"]
    assert (entry.actor, entry.old_value, entry.new_value) == ("sup1", None, "W00004")
    update(store, number, "sup1", category=Category.emergency)  # a category with its own unit routes again
    assert read_ticket(store, number).ticket.unit_code == "P01-EMERGENCY"
    update(store, number, "sup1", ward_code="00008", unit_code="P01-HOTLINE")  # the supervisor's unit wins
    assert read_ticket(store, number).ticket.unit_code == "P01-HOTLINE"
    update(store, number, "sup1", name="Lê Văn Bình")  # a change of something else leaves the unit alone
    update(store, number, "sup1", ward_code="8", province_code="01")  # the same place, as a form sends it back
    assert read_ticket(store, number).ticket.unit_code == "P01-HOTLINE"


def test_the_queue_filters_the_calls_owed_a_callback_and_those_needing_transcription(store: Store) -> None:
    callback = store.call_log.file_ticket(draft=draft("cb", outcome=Outcome.escalated, escalation="callback"))
    operator = store.call_log.file_ticket(draft=draft("op", outcome=Outcome.escalated, escalation="operator"))
    untranscribed = store.call_log.file_ticket(draft=draft("rec", needs_transcription=True))

    def numbers(**filters: object) -> set[str]:
        with store.session() as session:
            page = tickets.list_tickets(session, filters=TicketFilter(limit=100, **filters))  # type: ignore[arg-type]
        return {view.ticket.number for view in page.items}

    assert numbers(escalation="callback") == {callback}
    assert numbers(needs_transcription=True) == {untranscribed}
    assert numbers(needs_transcription=False) == {callback, operator}
    update(store, untranscribed, "sup1", needs_transcription=False)
    assert numbers(needs_transcription=True) == set()

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












def test_outcome_partial_ticket(store: Store) -> None:
    number = store.call_log.file_ticket(draft=draft("partial", outcome=Outcome.partial, name=None, needs_transcription=True))
    ticket = read_ticket(store, number).ticket
    assert ticket.outcome == "partial" and ticket.needs_transcription and ticket.name is None






