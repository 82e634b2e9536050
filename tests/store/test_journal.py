"""Nothing lost: with the database gone mid-filing, tickets go to the fsynced journal, the number read to the
caller is the number stored once the database is back, and the journal replays (on use, at open, by command)."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from callbot.store import Store, open_store
from callbot.ticket_numbers import is_valid_ticket_number
from tests.support.stores import draft, file_call, listed_calls, read_call, read_ticket, store_settings
from tests.support.waiting import let_time_pass, wait_until


def _assert_all_stored(store: Store, filed: dict[str, str]) -> None:
    for call_id, number in filed.items():
        detail = read_ticket(store, number)
        assert detail.ticket.call_id == call_id
        assert [t.speaker for t in detail.turns] == ["bot", "caller"]
        assert detail.call is not None and detail.call.outcome == "complete"


def test_sqlite_file_unreachable_then_back(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    settings = store_settings(request, tmp_path, "sqlite")
    store = open_store(settings, retry_interval_s=0.0)  # try the database again on every use
    before = file_call(store, "before")
    db_dir, hidden = tmp_path / "db", tmp_path / "db-away"
    db_dir.rename(hidden)  # the database file is unreachable (as root, permissions would not stop us)
    try:
        with pytest.raises(OperationalError):
            read_ticket(store, before)
        filed = {f"down-{i}": file_call(store, f"down-{i}") for i in range(3)}
        assert all(is_valid_ticket_number(n) for n in filed.values())
        assert store.call_log.file_ticket(draft=draft("down-0")) == filed["down-0"]  # idempotent while journaled
        journal_files = list((settings.data_dir / "journal").glob("*.jsonl"))
        assert len(journal_files) == 3
        ops = [json.loads(line)["op"] for line in journal_files[0].read_text().splitlines()]
        assert ops == ["start_call", "add_turn", "add_turn", "file_ticket", "finish_call"]
    finally:
        hidden.rename(db_dir)
    assert store.call_log.file_ticket(draft=draft("down-0")) == filed["down-0"]  # first use replays that call...
    after = file_call(store, "after")  # ...and the background check the rest, off the calls' threads
    wait_until(lambda: list((settings.data_dir / "journal").glob("*.jsonl")) == [], 10, "the journal replayed")
    _assert_all_stored(store, {**filed, "before": before, "after": after})
    store.close()


def test_a_callback_owed_while_journaled_reaches_the_ticket(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    settings = store_settings(request, tmp_path, "sqlite")
    store = open_store(settings, retry_interval_s=0.0)
    (tmp_path / "db").rename(tmp_path / "db-away")
    try:
        number = store.call_log.file_ticket(draft=draft("cb", escalation="operator"))
        assert store.call_log.file_ticket(draft=draft("cb", escalation="callback")) == number  # the transfer failed
    finally:
        (tmp_path / "db-away").rename(tmp_path / "db")
    store.call_log.replay_journal()
    assert read_ticket(store, number).ticket.escalation == "callback"
    store.close()


def test_after_a_failure_the_database_is_left_alone_for_a_moment(request: pytest.FixtureRequest,
                                                                  tmp_path: Path) -> None:
    settings = store_settings(request, tmp_path, "sqlite")
    store = open_store(settings, retry_interval_s=0.5)
    journal = settings.data_dir / "journal"
    (tmp_path / "db").rename(tmp_path / "db-away")
    filed = {"first": file_call(store, "first")}
    (tmp_path / "db-away").rename(tmp_path / "db")
    filed["second"] = file_call(store, "second")  # within the retry interval: journaled without trying
    assert len(list(journal.glob("*.jsonl"))) == 2
    assert store.call_log.free_operator() is None  # no database attempt either
    let_time_pass(0.6)  # the retry interval (0.5 s, on the store's own clock) runs out
    filed["third"] = file_call(store, "third")  # the first use after the interval goes to the database...
    wait_until(lambda: list(journal.glob("*.jsonl")) == [], 10, "the journal replayed")  # ...and the journal follows
    _assert_all_stored(store, filed)
    store.close()


def test_journal_is_replayed_at_open(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    settings = store_settings(request, tmp_path, "sqlite")
    open_store(settings).close()
    (tmp_path / "db").rename(tmp_path / "db-away")
    down = open_store(settings)  # opening with the database gone is not fatal
    number = file_call(down, "while-down")
    down.close()
    (tmp_path / "db-away").rename(tmp_path / "db")
    reopened = open_store(settings)
    assert list((settings.data_dir / "journal").glob("*.jsonl")) == []
    _assert_all_stored(reopened, {"while-down": number})
    reopened.close()


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_stopped_mid_filing(request: pytest.FixtureRequest, tmp_path: Path, postgres_server) -> None:
    settings = store_settings(request, tmp_path, "postgres")
    store = open_store(settings)
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
                stop_filing.wait(0.02)  # a call every 20 ms or so, until told to stop
        except BaseException as exc:  # noqa: BLE001  (reported by the main thread)
            errors.append(exc)

    worker = threading.Thread(target=caller_calls)
    worker.start()
    try:
        wait_until(lambda: len(filed) >= 5, 60, "five calls filed")
        postgres_server.stop()  # the database disappears while calls keep filing
        filed_when_stopped = len(filed)
        wait_until(lambda: len(list((settings.data_dir / "journal").glob("*.jsonl"))) >= 5, 60, "five calls journaled")
    finally:
        postgres_server.start()
    wait_until(lambda: len(filed) >= filed_when_stopped + 10, 60, "ten more calls filed")
    stop_filing.set()
    worker.join(30)
    assert not errors, errors
    store.call_log.replay_journal()
    assert list((settings.data_dir / "journal").glob("*.jsonl")) == []
    _assert_all_stored(store, filed)
    store.close()


# --- malformed lines: kept aside, never blocking ----------------------------------------------------------
BAD_LINES = {
    "missing fields": '{"call_id":"poison@x","op":"add_turn","speaker":"caller"}',
    "wrong types": ('{"call_id":"types@x","op":"add_turn","speaker":"caller","text":5,"confidence":"high",'
                    '"start":"soon","end":1,"kind":"speech"}'),
    "unknown op": '{"call_id":"unknown@x","op":"drop_everything","text":"Nguyễn Văn An"}',
    "torn JSON": '{"call_id":"torn@x","op":"start_call","caller_id":"09123',
    "not an object": '["call_id", "list@x"]',
    "no call id": '{"op":"start_call","caller_id":null,"locale":"vi","started_at":"2026-01-01T00:00:00+00:00"}',
    "bad time": '{"call_id":"time@x","op":"start_call","caller_id":null,"locale":"vi","started_at":"yesterday"}',
    "bad turn kind": ('{"call_id":"kind@x","op":"add_turn","speaker":"caller","text":"a","confidence":null,'
                      '"start":0,"end":1,"kind":"shout"}'),
    "bad ticket number": ('{"call_id":"number@x","op":"file_ticket","number":"12","draft":{},'
                          '"filed_at":"2026-01-01T00:00:00+00:00"}'),
    "overlong speaker": ('{"call_id":"long@x","op":"add_turn","speaker":"' + "x" * 300 + '","text":"a",'
                         '"confidence":null,"start":0,"end":1,"kind":"speech"}'),
}


def _poison(journal_dir: Path, call_id: str, line: str) -> None:
    from callbot.store.journal import TicketJournal

    with TicketJournal(journal_dir).path_of(call_id).open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def test_malformed_lines_are_kept_aside_and_block_nothing(request: pytest.FixtureRequest, tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    settings = store_settings(request, tmp_path, "sqlite")
    open_store(settings).close()
    journal_dir = settings.data_dir / "journal"
    for name, line in BAD_LINES.items():
        _poison(journal_dir, f"{name}@x", line)
    # a call journaled while the database was away, with a bad line in its middle: the rest of it still counts
    (tmp_path / "db").rename(tmp_path / "db-away")
    down = open_store(settings)
    down.call_log.start_call(call_id="mixed@x", caller_id=None, locale="vi", started_at=datetime.now(UTC))
    _poison(journal_dir, "mixed@x", BAD_LINES["missing fields"].replace("poison@x", "mixed@x"))
    intruder = ('{"call_id":"intruder@x","op":"finish_call","outcome":"partial",'
                '"ended_at":"2026-01-01T00:00:00+00:00"}')
    _poison(journal_dir, "mixed@x", intruder)  # valid, but another call's line in this call's file
    down.call_log.add_turn(call_id="mixed@x", speaker="caller", text="nguyễn văn an", confidence=0.9, start=0, end=1,
                  kind="speech")
    mixed = down.call_log.file_ticket(draft=draft("mixed@x"))
    down.close()
    (tmp_path / "db-away").rename(tmp_path / "db")

    with caplog.at_level(logging.INFO):
        store = open_store(settings)  # the opening replay meets every bad line
        number = file_call(store, "next@x")  # and later store calls work as ever
    assert read_ticket(store, number).ticket.call_id == "next@x"
    detail = read_ticket(store, mixed)
    assert [t.text for t in detail.turns] == ["nguyễn văn an"]
    assert list(journal_dir.glob("*.jsonl")) == []
    assert store.call_log.journal.quarantined == store.call_log.journal.quarantined_lines() == len(BAD_LINES) + 2
    kept = [json.loads(line) for path in (journal_dir / "quarantine").glob("*.jsonl")
            for line in path.read_text(encoding="utf-8").splitlines()]
    assert sorted(k["line"] for k in kept) == sorted([*BAD_LINES.values(), BAD_LINES["missing fields"].replace(
        "poison@x", "mixed@x"), intruder])  # kept verbatim for a person to look at
    assert len(store.call_log.replayed.bad_lines) == len(BAD_LINES) + 2
    assert "call intruder@x op finish_call: call id differs from the file's call" in store.call_log.replayed.bad_lines
    assert "call poison@x op add_turn: text: missing; confidence: missing" in "|".join(store.call_log.replayed.bad_lines)
    assert "call unknown@x op drop_everything: op: union_tag_invalid" in store.call_log.replayed.bad_lines
    assert "Nguyễn" not in caplog.text and "09123" not in caplog.text  # logged by call id and operation only
    assert oct((journal_dir / "quarantine").stat().st_mode & 0o777) == "0o700"
    store.close()


def test_a_line_the_database_refuses_is_kept_aside_and_the_rest_of_the_call_replays(
        request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> None:
    settings = store_settings(request, tmp_path, backend)
    store = open_store(settings)
    started = datetime.now(UTC).isoformat()
    journal_dir = settings.data_dir / "journal"
    # valid by the journal's schema, refused by the database: PostgreSQL refuses a NUL in text (SQLite stores
    # what it is given, so there the whole call replays)
    _poison(journal_dir, "refused@x", json.dumps({"call_id": "refused@x", "op": "start_call", "caller_id": None,
                                                  "locale": "vi", "started_at": started}))
    _poison(journal_dir, "refused@x", json.dumps({"call_id": "refused@x", "op": "add_turn", "speaker": "caller",
                                                  "text": "a\u0000b" if backend == "postgres" else "ok",
                                                  "confidence": None, "start": 0, "end": 1, "kind": "speech"}))
    _poison(journal_dir, "refused@x", json.dumps({"call_id": "refused@x", "op": "finish_call",
                                                  "outcome": "partial", "ended_at": started}))
    report = store.call_log.replay_journal()
    assert report.replayed_calls == 1 and report.remaining_calls == 0
    [call] = listed_calls(store)
    assert call.call_id == "refused@x" and call.outcome == "partial"
    turns = read_call(store, call.id).turns
    if backend == "postgres":
        assert turns == [] and len(report.bad_lines) == 1 and "refused by the database" in report.bad_lines[0]
    else:
        assert [t.text for t in turns] == ["ok"] and report.bad_lines == []
    store.close()


# --- replayed as soon as the database answers, with no new call to trigger it ---------------------------
def test_journal_is_replayed_in_the_background_when_the_database_returns(request: pytest.FixtureRequest,
                                                                          tmp_path: Path) -> None:
    settings = store_settings(request, tmp_path, "sqlite")
    store = open_store(settings, check_interval_s=0.2)
    (tmp_path / "db").rename(tmp_path / "db-away")
    filed = {f"idle-{i}": file_call(store, f"idle-{i}") for i in range(3)}
    assert len(store.call_log.journal.pending_calls()) == 3
    (tmp_path / "db-away").rename(tmp_path / "db")
    wait_until(lambda: not store.call_log.journal.pending_calls(), 10, "the journal replayed")  # no call touched the store meanwhile
    _assert_all_stored(store, filed)
    assert store.call_log.replayed.replayed_calls == 3
    store.close()
    assert not store.call_log.maintenance._thread.is_alive()  # stopped with the store


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_back_with_no_new_calls_tickets_reach_it_within_10_s(
        request: pytest.FixtureRequest, tmp_path: Path, postgres_server) -> None:
    from fastapi.testclient import TestClient

    from callbot.api import create_app

    settings = store_settings(request, tmp_path, "postgres")
    store = open_store(settings)  # the shipped intervals: check every 2 s
    client = TestClient(create_app(settings, store))
    postgres_server.stop()
    try:
        filed = {f"idle-{i}": file_call(store, f"idle-{i}") for i in range(4)}
        down = client.get("/healthz")
        assert down.status_code == 503 and down.json()["journal_pending"] == 4
    finally:
        postgres_server.start()
    back = time.monotonic()
    wait_until(lambda: client.get("/healthz").json() == {"status": "ok", "database": "ok", "journal_pending": 0},
               10, "the journal replayed")
    print(f"journal replayed {time.monotonic() - back:.2f} s after PostgreSQL answered again")
    _assert_all_stored(store, filed)
    store.close()


def test_lines_appended_by_another_process_during_replays_are_never_lost(request: pytest.FixtureRequest,
                                                                         tmp_path: Path) -> None:
    """The journal directory may be shared by processes: a replay claims a file with an exclusive lock and an
    append made meanwhile lands in the file or in a new one, never in a file already deleted."""
    import subprocess
    import sys

    settings = store_settings(request, tmp_path, "sqlite")
    store = open_store(settings)
    turns = 300
    writer = subprocess.Popen([sys.executable, "-c", (
        "import sys; from pathlib import Path; from callbot.store.journal import TicketJournal\n"
        "journal = TicketJournal(Path(sys.argv[1]))\n"
        "journal.append('race@x', {'op': 'start_call', 'caller_id': None, 'locale': 'vi',"
        " 'started_at': '2026-01-01T00:00:00+00:00'})\n"
        "for i in range(int(sys.argv[2])):\n"
        "    journal.append('race@x', {'op': 'add_turn', 'speaker': 'caller', 'text': str(i), 'confidence': None,"
        " 'start': i, 'end': i + 1, 'kind': 'speech'})\n"
    ), str(settings.data_dir / "journal"), str(turns)])
    try:
        while writer.poll() is None or store.call_log.journal.pending_files():
            store.call_log.replay_journal()
    finally:
        writer.wait(60)
    assert writer.returncode == 0
    [call] = listed_calls(store)
    texts = [t.text for t in read_call(store, call.id).turns]
    assert texts == [str(i) for i in range(turns)]  # every line, once, in order
    store.close()
