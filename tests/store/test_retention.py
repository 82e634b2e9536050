"""Retention on real files and a real store (SQLite and PostgreSQL): recordings, answer clips, orphaned files and
transcripts older than the limit go, everything younger stays, every deletion is audit-logged with counts."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from callbot.store import Store, stats
from callbot.store.models import Ticket, utcnow
from callbot.store.retention import RetentionReport, apply_retention
from tests.support.api import tone_wav
from tests.support.stores import audit_entries, draft, file_call, read_ticket

DAYS = 30


def _age(path: Path, days: float) -> Path:
    moment = (datetime.now(UTC) - timedelta(days=days)).timestamp()
    os.utime(path, (moment, moment))
    return path


def retain(store: Store, actor: str) -> RetentionReport:
    with store.session() as session:
        return apply_retention(session, settings=store.settings, days=DAYS, actor=actor, now=utcnow())


def _recorded_call(store: Store, call_id: str, age_days: float) -> tuple[str, Path, list[Path]]:
    """A call as the service leaves it on disk: a stereo recording, two answer clips in the call's folder,
    turns with text and word timings, and a ticket filed (back then) with the clips."""
    recordings = store.settings.data_dir / "recordings"
    started = datetime.now(UTC) - timedelta(days=age_days)
    recording = _age(tone_wav(recordings / f"{call_id}.wav", seconds=2.0), age_days)
    clips = [_age(tone_wav(recordings / call_id / f"{slot}.wav", seconds=0.5), age_days) for slot in ("name", "need")]
    number = file_call(store, call_id, started_at=started)
    store.call_log.finish_call(call_id=call_id, outcome="complete", ended_at=started, recording_path=recording)
    with store.session() as session:  # filed when the call happened, not now
        ticket = session.exec(select(Ticket).where(Ticket.number == number)).one()
        ticket.clips, ticket.created_at = [str(c) for c in clips], started
        session.add(ticket)
        session.commit()
    return number, recording, clips


def test_retention_removes_what_is_older_than_the_limit(store: Store) -> None:
    old_number, old_recording, old_clips = _recorded_call(store, "old-call", age_days=40)
    new_number, new_recording, new_clips = _recorded_call(store, "new-call", age_days=1)
    recordings = store.settings.data_dir / "recordings"
    ghost = _age(tone_wav(recordings / "ghost.wav", seconds=0.5), 45)  # linked to nothing since a crash
    ghost_clip = _age(tone_wav(recordings / "ghost-call" / "address.wav", seconds=0.5), 45)
    live = tone_wav(recordings / "live-call.wav", seconds=0.5)  # a call in progress: linked to nothing yet
    _age(new_recording, 50)  # an old file still linked to a young call stays

    report = retain(store, actor="cli:retention")

    assert (report.recordings, report.clips, report.clip_tickets, report.transcripts, report.orphans) == (1, 2, 1, 1, 2)
    assert report.turns == 2 and report.missing == 0
    assert not old_recording.exists() and not any(c.exists() for c in old_clips)
    assert not ghost.exists() and not ghost_clip.exists()
    assert not (recordings / "old-call").exists() and not (recordings / "ghost-call").exists()  # emptied folders
    assert live.exists() and new_recording.exists() and all(c.exists() for c in new_clips)

    old, new = read_ticket(store, old_number), read_ticket(store, new_number)
    assert old.clips == [] and old.call is not None and old.call.recording_path is None
    assert [(t.text, t.words) for t in old.turns] == [("", None), ("", None)]
    assert old.ticket.name == "Nguyễn Văn An"  # the ticket itself is the case record: it stays
    assert len(new.clips) == 2 and new.call is not None and new.call.recording_path == str(new_recording)
    assert [t.text for t in new.turns] == ["Xin chào, xin cho biết họ tên", "nguyễn văn an"] and new.turns[1].words
    # turns stay with their kind and latency, so the statistics of those days still add up
    with store.session() as session:
        figures = stats.call_stats(session, since=datetime.now(UTC) - timedelta(days=41), until=datetime.now(UTC))
    assert figures.calls_total == 2 and figures.turn_latency.count == 2

    actions = [(e.action, e.target_id, e.old_value, e.new_value) for e in audit_entries(store, limit=50)
               if e.actor == "cli:retention"]
    assert ("clips.delete", old_number, "2", "0") in actions
    assert ("transcript.delete", "old-call", "2", None) in actions
    assert {a[2] for a in actions if a[0] == "orphan.delete"} == {str(ghost), str(ghost_clip)}
    assert [a for a in actions if a[0] == "recording.delete"] == [
        ("recording.delete", str(old.call.id), str(old_recording), None)]
    [summary] = [a for a in actions if a[0] == "retention"]
    assert summary[3] == ("recordings=1 clips=2 (tickets=1) transcripts=1 (turns=2) orphans=2 "
                          "already_missing=0")

    again = retain(store, actor="cli:retention")  # nothing left to do: nothing counted
    assert (again.recordings, again.clips, again.transcripts, again.orphans) == (0, 0, 0, 0)


def test_retention_survives_files_already_gone(store: Store) -> None:
    number, recording, clips = _recorded_call(store, "gone-call", age_days=40)
    recording.unlink()
    clips[0].unlink()
    report = retain(store, actor="admin")
    assert (report.recordings, report.clips, report.missing) == (1, 2, 2)
    assert read_ticket(store, number).clips == [] and not clips[1].exists()


def test_retention_keeps_everything_younger(store: Store) -> None:
    number, recording, clips = _recorded_call(store, "young", age_days=5)
    store.call_log.file_ticket(draft=draft("no-files"))
    report = retain(store, actor="admin")
    assert (report.recordings, report.clips, report.transcripts, report.orphans) == (0, 0, 0, 0)
    assert recording.exists() and all(c.exists() for c in clips) and len(read_ticket(store, number).clips) == 2
