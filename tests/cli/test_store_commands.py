"""Store commands through the real CLI: users add, tokens add, replay-journal, db upgrade, retention, serve."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from typer.testing import CliRunner

from callbot.cli import app
from callbot.config import Settings
from callbot.store import Role, Store, open_store
from callbot.store.database import head_revision
from callbot.types import Outcome, TicketDraft
from tests.support.ports import free_port
from tests.support.processes import wait_for_http
from tests.support.stores import audit_entries, read_ticket


def _store() -> Store:
    return open_store(Settings())  # the isolated CALLBOT_DATA_DIR of the test


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


def test_tokens_add_prints_a_working_token_of_the_least_privileged_role() -> None:
    result = CliRunner().invoke(app, ["tokens", "add", "wallboard"])
    assert result.exit_code == 0
    token = result.output.strip()
    principal = _store().accounts.principal_for_token(token)
    assert principal is not None and principal.role == Role.monitor and principal.name == "token:wallboard"
    pbx = CliRunner().invoke(app, ["tokens", "add", "pbx", "--role", "pbx"])
    assert _store().accounts.principal_for_token(pbx.output.strip()).role == Role.pbx  # type: ignore[union-attr]
    assert "monitor, the least privileged" in CliRunner().invoke(app, ["tokens", "add", "--help"]).output


def test_tokens_revoke_by_name_or_id() -> None:
    runner = CliRunner()
    first, second = (runner.invoke(app, ["tokens", "add", "pbx", "--role", "pbx"]).output.strip() for _ in range(2))
    other = runner.invoke(app, ["tokens", "add", "grafana"]).output.strip()
    listed = runner.invoke(app, ["tokens", "list"]).output.splitlines()
    assert [line.split("\t")[1:3] + [line.split("\t")[4]] for line in listed] == [
        ["grafana", "monitor", "active"], ["pbx", "pbx", "active"], ["pbx", "pbx", "active"]]
    assert first not in "\n".join(listed)  # only hashes are kept
    first_id = next(t.id for t in _store().accounts.list_tokens() if t.name == "pbx")
    by_id = runner.invoke(app, ["tokens", "revoke", str(first_id)])
    assert by_id.exit_code == 0 and f"revoked token {first_id} (pbx, pbx)" in by_id.output
    store = _store()
    assert store.accounts.principal_for_token(first) is None and store.accounts.principal_for_token(second)
    by_name = runner.invoke(app, ["tokens", "revoke", "pbx"])
    assert by_name.exit_code == 0 and by_name.output.count("revoked token") == 1  # the live one left
    assert store.accounts.principal_for_token(second) is None and store.accounts.principal_for_token(other)
    nothing = runner.invoke(app, ["tokens", "revoke", "pbx"])
    assert nothing.exit_code == 1 and "no live token" in nothing.output
    assert [e.action for e in audit_entries(store, action="token.revoke")] == ["token.revoke", "token.revoke"]
    assert "revoked" in runner.invoke(app, ["tokens", "list"]).output


def test_users_disable_enable_and_password_end_sessions() -> None:
    runner = CliRunner()
    runner.invoke(app, ["users", "add", "lan", "--password-stdin"], input="first-pass-1\n")
    store = _store()
    user = store.accounts.authenticate(username="lan", password="first-pass-1")
    assert user is not None
    sessions = [store.accounts.create_session(user) for _ in range(2)]
    disabled = runner.invoke(app, ["users", "disable", "lan"])
    assert disabled.exit_code == 0 and "2 session(s) ended" in disabled.output
    assert all(store.accounts.principal_for_session(raw) is None for raw in sessions)
    assert store.accounts.authenticate(username="lan", password="first-pass-1") is None
    assert "lan\tsupervisor\tdisabled" in runner.invoke(app, ["users", "list"]).output
    assert runner.invoke(app, ["users", "enable", "lan"]).exit_code == 0
    user = store.accounts.authenticate(username="lan", password="first-pass-1")
    assert user is not None
    session = store.accounts.create_session(user)
    changed = runner.invoke(app, ["users", "password", "lan", "--password-stdin"], input="second-pass-2\n")
    assert changed.exit_code == 0 and "1 session(s) ended" in changed.output
    assert store.accounts.principal_for_session(session) is None
    assert store.accounts.authenticate(username="lan", password="first-pass-1") is None
    assert store.accounts.authenticate(username="lan", password="second-pass-2") is not None
    assert runner.invoke(app, ["users", "disable", "nobody"]).exit_code == 1
    actions = [e.action for e in audit_entries(store, target_id="lan")]
    assert actions == ["user.password", "user.enable", "user.disable"]


def test_retention_command(tmp_path: Path) -> None:
    store = _store()
    old = tmp_path / "old.wav"
    old.write_bytes(b"RIFF....")
    started = datetime.now(UTC) - timedelta(days=10)
    store.call_log.start_call(call_id="old", caller_id=None, locale="vi", started_at=started)
    store.call_log.add_turn(call_id="old", speaker="caller", text="nguyễn văn an", confidence=0.9, start=0, end=1,
                            kind="speech")
    store.call_log.finish_call(call_id="old", outcome="partial", ended_at=started, recording_path=old)
    kept = CliRunner().invoke(app, ["retention", "--days", "30"])
    assert kept.exit_code == 0 and "deleted 0 recording(s)" in kept.output and old.exists()
    result = CliRunner().invoke(app, ["retention", "--days", "7"])
    assert result.exit_code == 0 and not old.exists()
    assert "deleted 1 recording(s), 0 clip(s) of 0 ticket(s), 0 orphaned file(s)" in result.output
    assert "blanked the transcripts of 1 call(s) (1 turns)" in result.output
    assert audit_entries(store, action="recording.delete")[0].actor == "cli:retention"
    assert CliRunner().invoke(app, ["retention", "--days", "0"]).exit_code == 2


def test_config_masks_every_secret(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    secrets = {"CALLBOT_DATABASE_URL": "postgresql+psycopg://callbot:db-Secret-1@db.example/callbot",
               "CALLBOT_SECRET_KEY": "key-Secret-2", "CALLBOT_SIP_PASSWORD": "sip-Secret-3",
               "CALLBOT_SIP_REGISTRAR": "sip:bot:reg-Secret-4@pbx.example",
               "CALLBOT_OPERATOR_URIS": '["sip:101:op-Secret-5@pbx.example"]'}
    for key, value in secrets.items():
        monkeypatch.setenv(key, value)
    toml = tmp_path / "callbot.toml"
    toml.write_text('fallback_uri = "sips:fallback:toml-Secret-6@pbx.example"\n', encoding="utf-8")
    shown = CliRunner().invoke(app, ["--config", str(toml), "config"])
    assert shown.exit_code == 0, shown.output
    assert "Secret" not in shown.output, shown.output
    assert "postgresql+psycopg://callbot:***@db.example/callbot" in shown.output
    assert '"sip_registrar": "sip:bot:***@pbx.example"' in shown.output and '"secret_key": "***"' in shown.output


def test_replay_journal_command(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    monkeypatch.setenv("CALLBOT_DATABASE_URL", f"sqlite:///{db_dir / 'c.db'}")
    _store().close()
    db_dir.rename(tmp_path / "away")
    down = _store()
    number = down.call_log.file_ticket(draft=TicketDraft(call_id="j1", locale="vi", outcome=Outcome.partial))
    down.close()  # its background check would replay the journal as soon as the database is back
    poisoned = down.call_log.journal.path_of("poison@x")
    poisoned.write_text('{"call_id":"poison@x","op":"add_turn","speaker":"caller"}\n', encoding="utf-8")
    unreachable = CliRunner().invoke(app, ["tickets", "replay-journal"])
    assert unreachable.exit_code == 1 and "unreachable" in unreachable.output
    (tmp_path / "away").rename(db_dir)
    assert len(list((Settings().data_dir / "journal").glob("*.jsonl"))) == 2
    # The command's own open replays: it reports that replay too, and the bad line, and still exits 0.
    result = CliRunner().invoke(app, ["tickets", "replay-journal"])
    assert result.exit_code == 0, result.output
    assert f"replayed ticket {number[:4]}-{number[4:]}" in result.output
    assert "bad journal line kept aside" in result.output and "call poison@x op add_turn: text: missing" in result.output
    assert "1 call(s) replayed, 0 still journaled" in result.output
    assert read_ticket(_store(), number).ticket.call_id == "j1"
    again = CliRunner().invoke(app, ["tickets", "replay-journal"])
    assert again.exit_code == 0 and "0 call(s) replayed, 0 still journaled" in again.output


def test_db_upgrade() -> None:
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0 and f"revision {head_revision()}" in result.output


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
