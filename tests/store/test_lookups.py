"""Ticket status by phone in the real store (SQLite and PostgreSQL): what a caller hears, the per-caller rate
limit on an injected clock, and the audit entry of every lookup (the caller kept as a keyed hash only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from callbot.store import Store
from callbot.store.lookups import LOOKUP_ACTION, caller_key, phone_lookup
from tests.support.stores import audit_entries, file_call

NOW = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)  # 03:00 on 1 December in Hà Nội


def lookup(store: Store, number: str, caller: str | None, at: datetime = NOW, limit: int = 3):
    with store.session() as session:
        return phone_lookup(session, number=number, caller=caller_key(caller, "k"), limit=limit, window_s=3600,
                            zone="Asia/Ho_Chi_Minh", actor="phone:call-x", now=at)


def test_a_found_ticket_gives_status_unit_and_local_day_only(store: Store) -> None:
    number = file_call(store, "call-lookup")
    found = lookup(store, number, "+84912345678")
    assert found.result == "found" and found.status == "new"
    assert found.unit == "UBND Phường Hoàn Kiếm"
    assert found.updated is not None
    assert lookup(store, "12345671", "+84912345678").result == "not_found"


def test_lookups_are_limited_per_caller_and_audited_without_the_number(store: Store) -> None:
    number = file_call(store, "call-limit")
    results = [lookup(store, number, "+84912345678", NOW + timedelta(minutes=i)).result for i in range(4)]
    assert results == ["found", "found", "found", "limited"]
    assert lookup(store, number, "+84987654321", NOW).result == "found"  # another caller has their own limit
    assert lookup(store, number, "+84912345678", NOW + timedelta(hours=2)).result == "found"  # the window passed
    entries = audit_entries(store, action=LOOKUP_ACTION)
    assert len(entries) == 6
    assert all(entry.target_id == number and "912345678" not in (entry.field or "") for entry in entries)
    assert [entry.new_value for entry in entries].count("limited") == 1
