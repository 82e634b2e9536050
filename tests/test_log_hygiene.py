"""Logs carry call ids, never what a citizen said: a realistic flow runs with every logger at DEBUG (SQLAlchemy
then logs each statement) and no log line may hold the caller's name, address, phone number or need, a
supervisor's correction, a typed password, or an SQL parameter.

The flow: a call through the real CallSession (Listener, dialogue, espeak-ng prompts reading the name back,
recorder, SQLite store; the recognizer at the ASR edge returns each clip's known Vietnamese text), a call
filed while the database is away and replayed when it is back, the API (a failed and a good login, a search
by name, a correction, refused nulls, recording ranges, an engineer refused), and the CLI (config, export of
the approved call, replay-journal, retention)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from callbot.api import create_app
from callbot.cli import app as cli
from callbot.config import Settings
from callbot.store import Role, TicketUpdate, open_store
from callbot.testing import ScriptedRecognizer
from callbot.types import Outcome, TicketDraft
from tests.support.api import PASSWORD, login
from tests.support.calls import (  # noqa: F401  (fixtures: real calls on a real store, and the caller's clips)
    answer_every_question,
    clips,
    dataclasses_replace_recognizer,
    korean_resources,
    settings,
    speech_output,
    start_call,
    store,
    ticket_of,
)
from tests.support.stores import change_ticket

pytestmark = pytest.mark.slow
CITIZEN = ["nguyễn văn an", "ngõ ba mươi tư", "ngõ 34", "phố huế", "0912345678", "lương thực", "bị ngập",
           "nguyễn văn ân", "trần thị bình", "0987000111", "wrong-password-typed", PASSWORD.lower()]
CLIENT_SIDE = ("httpx", "httpcore", "hpack")  # the test's own HTTP client logs the URLs it requests


def test_no_citizen_data_in_any_log_line(caplog: pytest.LogCaptureFixture, tmp_path: Path, korean_resources,
                                         start_call, clips, store, settings) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")  # SQLAlchemy keeps its loggers at WARN unless asked
    # 1. a call: the bot asks, hears the name, address and need, reads them back; a ticket is filed
    recognizer = ScriptedRecognizer(sample_rate=settings.asr_sample_rate)
    call = start_call(dataclasses_replace_recognizer(korean_resources, recognizer), call_id="hygiene-1@pbx", speed=2.0)
    answer_every_question(call, {**clips, "yes": ("đúng rồi", clips["name"][1])}, confirm_digit=None,
                          confirm_clip="yes", recognizer=recognizer)
    ticket = ticket_of(store, call.session).ticket
    assert ticket.name == "Nguyễn Văn An" and "lương thực" in (ticket.need_text or "")
    change_ticket(store, ticket.number, TicketUpdate(approved_for_tuning=True), actor="lan")

    # 2. the database goes away while a call is filed, and comes back
    away = tmp_path / "db2"
    away.mkdir()
    second = open_store(Settings(data_dir=settings.data_dir, database_url=f"sqlite:///{away / 'c.db'}"),
                        retry_interval_s=0.0)
    away.rename(tmp_path / "gone")
    second.call_log.file_ticket(draft=TicketDraft(call_id="hygiene-2@pbx", locale="vi", outcome=Outcome.partial,
                                                  name="Trần Thị Bình", caller_id="0987000111", need_text="bị ngập"))
    (tmp_path / "gone").rename(away)
    assert second.call_log.replay_journal().replayed_calls == 1
    second.close()

    # 3. the API and the supervisors' pages
    store.accounts.create_user(username="lan", password=PASSWORD, role=Role.supervisor)
    store.accounts.create_user(username="eng", password=PASSWORD, role=Role.engineer)
    with TestClient(create_app(settings, store)) as client:
        page = client.get("/login").text
        token = page.split('name="form_token" value="')[1].split('"')[0]
        client.post("/login", data={"username": "lan", "password": "wrong-password-typed", "form_token": token})
        csrf = login(client, "lan")
        assert client.get("/api/tickets", params={"q": "Nguyễn Văn An"}).json()["total"] == 1
        url = f"/api/tickets/{ticket.number}"
        headers = {"X-CSRF-Token": csrf}
        assert client.patch(url, json={"name": "Nguyễn Văn Ân"}, headers=headers).status_code == 200
        assert client.patch(url, json={"category": None}, headers=headers).status_code == 422
        call_id = client.get(url).json()["call"]["id"]
        for byte_range in ("bytes=0-", "bytes=-99999999", "Bytes=10-20", "bytes=1-,0-0"):
            client.get(f"/api/calls/{call_id}/recording", headers={"Range": byte_range})
        client.get(f"/tickets/{ticket.number}")
        eng = TestClient(client.app)
        login(eng, "eng")
        assert eng.get(url).status_code == 403
        eng.close()

    # 4. the command line
    runner = CliRunner()
    assert runner.invoke(cli, ["config"]).exit_code == 0
    exported = runner.invoke(cli, ["fixtures", "export", ticket.number, "-o", str(tmp_path / "fixture")])
    assert exported.exit_code == 0, exported.output
    assert runner.invoke(cli, ["tickets", "replay-journal"]).exit_code == 0
    assert runner.invoke(cli, ["retention", "--days", "30"]).exit_code == 0

    records = [r for r in caplog.records if not r.name.startswith(CLIENT_SIDE)]
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in records).lower()
    leaks = [marker for marker in CITIZEN if marker in text]
    assert not leaks, [line for line in text.splitlines() if any(m in line for m in leaks)][:10]
    assert "hygiene-1@pbx" in text  # the logs do say which call
    assert "sql parameters hidden" in text  # SQL was logged, without its parameters
    print(f"log hygiene: {len(records)} log records from {len({r.name for r in records})} loggers, no citizen data")
