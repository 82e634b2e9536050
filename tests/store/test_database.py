"""The database on real SQLite and real PostgreSQL: the schema at head, migrations down and up (0004 adds the
anonymous flag), SQLite in WAL mode; and SQLite stays the default for one node: every worker of the node writes
to the same file (WAL, a busy timeout, one short transaction per operation) while the API reads it, with no
"database is locked" and nothing lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from callbot.config import Settings
from callbot.store import Store, open_store
from callbot.store.database import alembic_config, current_revision, head_revision, upgrade_schema
from callbot.store.models import Unit
from callbot.types import Outcome, TicketDraft
from tests.support import REPO
from tests.support.stores import draft, file_call, listed_calls, read_ticket, store_settings

WRITERS = 6
CALLS_EACH = 30


@pytest.mark.slow
def test_concurrent_workers_write_one_sqlite_file_without_locking_errors(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    reader = open_store(settings)  # migrates, as `callbot serve` does before starting its workers
    writers = [subprocess.Popen([sys.executable, "-m", "tests.support.store_writer", str(settings.data_dir), str(CALLS_EACH)], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(WRITERS)]
    reads = 0
    try:
        while any(writer.poll() is None for writer in writers):  # the API keeps reading meanwhile
            listed_calls(reader, limit=50)
            reads += 1
        results = []
        for writer in writers:
            out, err = writer.communicate(timeout=120)
            assert writer.returncode == 0, err[-2000:]
            assert "locked" not in err, err[-2000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
        assert all(result == {"calls": CALLS_EACH, "journaled": 0, "complaints": 0} for result in results), results
        calls = listed_calls(reader, limit=1000)
        assert len(calls) == WRITERS * CALLS_EACH and reads > 0
        assert all(call.ticket_number and call.ended_at for call in calls)
        assert len({call.ticket_number for call in calls}) == WRITERS * CALLS_EACH
        with reader.database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
        reader.close()


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


# the anonymous flag (issue 14) reaches the store and survives migration 0004
def test_the_flag_is_stored_and_migration_0004_adds_it(store: Store) -> None:
    named = store.call_log.file_ticket(
        draft=TicketDraft(call_id="named", locale="vi", outcome=Outcome.complete, name="An")
    )
    hidden = store.call_log.file_ticket(
        draft=TicketDraft(call_id="hidden", locale="vi", outcome=Outcome.complete, anonymous=True)
    )
    assert read_ticket(store, hidden).ticket.anonymous is True
    assert read_ticket(store, named).ticket.anonymous is False
    config = alembic_config(store.database.engine)
    from alembic import command
    from sqlalchemy import inspect

    command.downgrade(config, "0001")
    assert "anonymous" not in {c["name"] for c in inspect(store.database.engine).get_columns("tickets")}
    upgrade_schema(store.database.engine)  # tickets filed before the column existed were never anonymous
    assert read_ticket(store, named).ticket.anonymous is False
