"""Nothing lost: with the database gone mid-filing, tickets go to the fsynced journal, the number read to the
caller is the number stored once the database is back, and the journal replays (on use, at open, by command)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from store_fixtures import draft, file_call, store_settings

from callbot.store import TicketStore
from callbot.store.numbers import is_valid_ticket_number


def _assert_all_stored(store: TicketStore, filed: dict[str, str]) -> None:
    for call_id, number in filed.items():
        detail = store.get_ticket(number)
        assert detail.ticket.call_id == call_id
        assert [t.speaker for t in detail.turns] == ["bot", "caller"]
        assert detail.call is not None and detail.call.outcome == "complete"


def test_sqlite_file_unreachable_then_back(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    settings = store_settings(request, tmp_path, "sqlite")
    store = TicketStore.open(settings, retry_interval_s=0.0)  # try the database again on every use
    before = file_call(store, "before")
    db_dir, hidden = tmp_path / "db", tmp_path / "db-away"
    db_dir.rename(hidden)  # the database file is unreachable (as root, permissions would not stop us)
    try:
        with pytest.raises(OperationalError):
            store.get_ticket(before)
        filed = {f"down-{i}": file_call(store, f"down-{i}") for i in range(3)}
        assert all(is_valid_ticket_number(n) for n in filed.values())
        assert store.file_ticket(draft=draft("down-0")) == filed["down-0"]  # idempotent while journaled
        journal_files = list((settings.data_dir / "journal").glob("*.jsonl"))
        assert len(journal_files) == 3
        ops = [json.loads(line)["op"] for line in journal_files[0].read_text().splitlines()]
        assert ops == ["start_call", "add_turn", "add_turn", "file_ticket", "finish_call"]
    finally:
        hidden.rename(db_dir)
    assert store.file_ticket(draft=draft("down-0")) == filed["down-0"]  # first use replays that call...
    after = file_call(store, "after")  # ...and a successful write replays the rest
    assert list((settings.data_dir / "journal").glob("*.jsonl")) == []
    _assert_all_stored(store, {**filed, "before": before, "after": after})
    store.close()


def test_after_a_failure_the_database_is_left_alone_for_a_moment(request: pytest.FixtureRequest,
                                                                  tmp_path: Path) -> None:
    settings = store_settings(request, tmp_path, "sqlite")
    store = TicketStore.open(settings, retry_interval_s=0.5)
    journal = settings.data_dir / "journal"
    (tmp_path / "db").rename(tmp_path / "db-away")
    filed = {"first": file_call(store, "first")}
    (tmp_path / "db-away").rename(tmp_path / "db")
    filed["second"] = file_call(store, "second")  # within the retry interval: journaled without trying
    assert len(list(journal.glob("*.jsonl"))) == 2
    assert store.free_operator() is None  # no database attempt either
    time.sleep(0.6)
    filed["third"] = file_call(store, "third")  # the first use after the interval replays everything
    assert list(journal.glob("*.jsonl")) == []
    _assert_all_stored(store, filed)
    store.close()


def test_journal_is_replayed_at_open(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    settings = store_settings(request, tmp_path, "sqlite")
    TicketStore.open(settings).close()
    (tmp_path / "db").rename(tmp_path / "db-away")
    down = TicketStore.open(settings)  # opening with the database gone is not fatal
    number = file_call(down, "while-down")
    down.close()
    (tmp_path / "db-away").rename(tmp_path / "db")
    reopened = TicketStore.open(settings)
    assert list((settings.data_dir / "journal").glob("*.jsonl")) == []
    _assert_all_stored(reopened, {"while-down": number})
    reopened.close()


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_stopped_mid_filing(request: pytest.FixtureRequest, tmp_path: Path, postgres_server) -> None:
    settings = store_settings(request, tmp_path, "postgres")
    store = TicketStore.open(settings)
    filed: dict[str, str] = {}
    errors: list[BaseException] = []
    stop_filing = threading.Event()

    def caller_calls() -> None:
        index = 0
        try:
            while not stop_filing.is_set():
                call_id = f"pg-{index}"
                filed[call_id] = file_call(store, call_id)
                index += 1
                time.sleep(0.02)
        except BaseException as exc:  # noqa: BLE001  (reported by the main thread)
            errors.append(exc)

    worker = threading.Thread(target=caller_calls)
    worker.start()
    try:
        _wait_for(lambda: len(filed) >= 5)
        postgres_server.stop()  # the database disappears while calls keep filing
        filed_when_stopped = len(filed)
        _wait_for(lambda: len(list((settings.data_dir / "journal").glob("*.jsonl"))) >= 5)
    finally:
        postgres_server.start()
    _wait_for(lambda: len(filed) >= filed_when_stopped + 10)
    stop_filing.set()
    worker.join(30)
    assert not errors, errors
    store.replay_journal()
    assert list((settings.data_dir / "journal").glob("*.jsonl")) == []
    _assert_all_stored(store, filed)
    store.close()


def _wait_for(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
