"""Calls in the store (real SQLite and PostgreSQL): the list with its filters, and one call with its turns."""

from __future__ import annotations

from datetime import UTC, datetime

from callbot.store import (
    Store,
    calls,
)
from tests.support.stores import (
    file_call,
)


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
