"""A bot worker's database traffic without SIP, run as its own process by tests/store/test_database.py: N calls,
each started, six turns, a ticket and an end, as fast as it can. Prints JSON: calls written, calls the store had
to journal, and how many times it found the database unusable ("database is locked" would be one)."""

from __future__ import annotations

import json
import logging
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from callbot.config import Settings
from callbot.store import open_store
from callbot.types import Outcome, TicketDraft


class Complaints(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def main(data_dir: str, calls: int) -> None:
    complaints = Complaints()
    logging.getLogger().addHandler(complaints)
    store = open_store(Settings(data_dir=Path(data_dir)), migrate=False)
    call_log = store.call_log
    try:
        for _ in range(calls):
            call_id = f"{uuid.uuid4().hex}@load"
            call_log.start_call(call_id=call_id, caller_id=None, locale="vi", started_at=datetime.now(UTC))
            for turn in range(6):
                call_log.add_turn(call_id=call_id, speaker="caller" if turn % 2 else "bot", text="xin chào",
                                  confidence=0.9, start=turn, end=turn + 1, kind="speech")
            call_log.file_ticket(draft=TicketDraft(call_id=call_id, locale="vi", outcome=Outcome.partial))
            call_log.finish_call(call_id=call_id, outcome="partial", ended_at=datetime.now(UTC))
        print(json.dumps({"calls": calls, "journaled": len(call_log.journal.pending_calls()),
                          "complaints": complaints.count}))
    finally:
        store.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
