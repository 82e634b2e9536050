"""Store commands through the real CLI: users add, tokens add, replay-journal, db upgrade, retention, serve."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from postgres import free_port
from processes import wait_for_http
from typer.testing import CliRunner

from callbot.cli import app
from callbot.config import Settings
from callbot.store import Role, TicketStore
from callbot.types import Outcome, TicketDraft


def _store() -> TicketStore:
    return TicketStore.open(Settings())  # the isolated CALLBOT_DATA_DIR of the test


def test_users_add_creates_the_first_admin() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["users", "add", "admin", "--role", "admin", "--password-stdin"],
                           input="s3cret-pass\n")
    assert result.exit_code == 0, result.output
    user = _store().accounts.authenticate(username="admin", password="s3cret-pass")
    assert user is not None and user.role == Role.admin
    prompted = runner.invoke(app, ["users", "add", "lan"], input="another-pass\nanother-pass\n")
    assert prompted.exit_code == 0 and _store().accounts.authenticate(username="lan", password="another-pass")
    duplicate = runner.invoke(app, ["users", "add", "admin", "--password-stdin"], input="s3cret-pass\n")
    assert duplicate.exit_code == 1 and "exists already" in duplicate.output
    short = runner.invoke(app, ["users", "add", "x", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 8" in short.output
    bad_role = runner.invoke(app, ["users", "add", "y", "--role", "king", "--password-stdin"], input="longenough\n")
    assert bad_role.exit_code == 2
    listed = runner.invoke(app, ["users", "list"])
    assert "admin\tadmin\tactive" in listed.output and "lan\tsupervisor" in listed.output


def test_tokens_add_prints_a_working_token() -> None:
    result = CliRunner().invoke(app, ["tokens", "add", "pbx"])
    assert result.exit_code == 0
    token = result.output.strip()
    principal = _store().accounts.principal_for_token(token)
    assert principal is not None and principal.role == Role.engineer and principal.name == "token:pbx"


def test_retention_deletes_old_recordings(tmp_path: Path) -> None:
    store = _store()
    old = tmp_path / "old.wav"
    old.write_bytes(b"RIFF....")
    started = datetime.now(UTC) - timedelta(days=10)
    store.start_call(call_id="old", caller_id=None, locale="vi", started_at=started)
    store.finish_call(call_id="old", outcome="partial", ended_at=started, recording_path=old)
    kept = CliRunner().invoke(app, ["retention", "--days", "30"])
    assert kept.exit_code == 0 and "deleted 0" in kept.output and old.exists()
    result = CliRunner().invoke(app, ["retention", "--days", "7"])
    assert result.exit_code == 0 and "deleted 1" in result.output and not old.exists()
    assert store.audit_log(action="recording.delete")[0].actor == "cli:retention"
    assert CliRunner().invoke(app, ["retention", "--days", "0"]).exit_code == 2


def test_replay_journal_command(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    monkeypatch.setenv("CALLBOT_DATABASE_URL", f"sqlite:///{db_dir / 'c.db'}")
    _store().close()
    db_dir.rename(tmp_path / "away")
    number = _store().file_ticket(draft=TicketDraft(call_id="j1", locale="vi", outcome=Outcome.partial))
    unreachable = CliRunner().invoke(app, ["tickets", "replay-journal"])
    assert unreachable.exit_code == 1 and "unreachable" in unreachable.output
    (tmp_path / "away").rename(db_dir)
    # The command's own open already replays; what it prints is the state after that.
    settings = Settings()
    assert len(list((settings.data_dir / "journal").glob("*.jsonl"))) == 1
    result = CliRunner().invoke(app, ["tickets", "replay-journal"])
    assert result.exit_code == 0 and "0 still journaled" in result.output
    assert _store().get_ticket(number).ticket.call_id == "j1"


def test_db_upgrade() -> None:
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0 and "revision 0001" in result.output


def test_serve_answers_health_and_login() -> None:
    port = free_port()
    env = {**os.environ, "CALLBOT_HTTP_PORT": str(port)}
    server = subprocess.Popen([sys.executable, "-m", "callbot", "serve", "--no-sip"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        health = wait_for_http(f"http://127.0.0.1:{port}/healthz", server, timeout=60,
                               output=lambda: server.stdout.read().decode())  # type: ignore[union-attr]
        assert health.json()["database"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/login", timeout=5).status_code == 200
        assert (Path(os.environ["CALLBOT_DATA_DIR"]) / "callbot.db").exists()  # SQLite by default
    finally:
        server.terminate()
        server.wait(30)
        server.stdout.close()  # type: ignore[union-attr]
