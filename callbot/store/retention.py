"""Retention (`callbot retention --days N`): what a call leaves behind is deleted once it is older than N days.

- recordings of calls that started before the limit (files removed, the call's path cleared);
- answer clips of tickets filed before the limit (files removed, the ticket's clip list emptied);
- transcripts of calls that started before the limit (every turn's text and word timings blanked; the turns
  stay, with their kind, times and latency, so the statistics still add up);
- orphaned audio: files under <data_dir>/recordings that no call or ticket links to and that were last
  written before the limit (a live call's files are written every second, so they are never taken).

The database is changed first and committed, then the files are removed: a file that cannot be removed is
linked to nothing afterwards and goes with the next run's orphans. Every deletion is audit-logged, and one
`retention` entry records the counts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, null, or_, update
from sqlmodel import Session, col, select

from callbot.config import Settings
from callbot.store.models import AuditEntry, Call, Ticket, Turn


@dataclass(slots=True)
class RetentionReport:
    days: int
    cutoff: datetime
    recordings: int = 0  # recording files of calls
    clips: int = 0  # answer clip files ...
    clip_tickets: int = 0  # ... of this many tickets
    transcripts: int = 0  # calls whose transcript was blanked ...
    turns: int = 0  # ... this many turns
    orphans: int = 0  # files linked to nothing
    missing: int = 0  # files the database named that were gone already

    def summary(self) -> str:
        return (f"recordings={self.recordings} clips={self.clips} (tickets={self.clip_tickets}) "
                f"transcripts={self.transcripts} (turns={self.turns}) orphans={self.orphans} "
                f"already_missing={self.missing}")


def apply_retention(session: Session, *, settings: Settings, days: int, actor: str, now: datetime) -> RetentionReport:
    report = RetentionReport(days=days, cutoff=now - timedelta(days=days))
    doomed: list[Path] = []

    def audit(action: str, target_type: str, target_id: str, field: str, old: str | None, new: str | None) -> None:
        session.add(AuditEntry(at=now, actor=actor, action=action, target_type=target_type, target_id=target_id,
                               field=field, old_value=old, new_value=new))

    calls = session.exec(select(Call).where(Call.started_at < report.cutoff,
                                            col(Call.recording_path).is_not(None))).all()
    for call in calls:
        audit("recording.delete", "call", str(call.id), "recording_path", call.recording_path, None)
        doomed.append(Path(call.recording_path or ""))
        call.recording_path = None
        session.add(call)
        report.recordings += 1

    tickets = session.exec(select(Ticket).where(Ticket.created_at < report.cutoff,
                                                col(Ticket.clips).is_not(None))).all()
    for ticket in tickets:
        if not ticket.clips:
            continue
        audit("clips.delete", "ticket", ticket.number, "clips", str(len(ticket.clips)), "0")
        doomed.extend(Path(clip) for clip in ticket.clips)
        report.clips += len(ticket.clips)
        report.clip_tickets += 1
        ticket.clips = None
        session.add(ticket)

    old_calls = select(Call.call_id).where(Call.started_at < report.cutoff)
    has_text = or_(Turn.text != "", col(Turn.words).is_not(None))
    per_call = session.exec(select(Turn.call_id, func.count()).where(col(Turn.call_id).in_(old_calls), has_text)
                            .group_by(Turn.call_id)).all()
    for call_id, count in per_call:
        audit("transcript.delete", "call", call_id, "turns", str(count), None)
        report.transcripts += 1
        report.turns += count
    if per_call:
        session.exec(update(Turn).where(col(Turn.call_id).in_(old_calls), has_text)  # type: ignore[call-overload]
                     .values(text="", words=null()))

    doomed_set = {_resolved(path) for path in doomed}
    orphans = _orphans(session, settings.data_dir / "recordings", report.cutoff, exclude=doomed_set)
    for path in orphans:
        audit("orphan.delete", "file", path.name[:128], "path", str(path), None)
    report.orphans = len(orphans)
    audit("retention", "data", f"{days} days", "counts", None, report.summary())
    session.commit()

    for path in [*doomed, *orphans]:
        try:
            path.unlink()
        except FileNotFoundError:
            report.missing += 1
    _remove_empty_directories(settings.data_dir / "recordings")
    return report


def _resolved(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _orphans(session: Session, directory: Path, cutoff: datetime, exclude: set[Path]) -> list[Path]:
    """Files under ``directory`` last written before ``cutoff`` that no call or ticket links to."""
    if not directory.is_dir():
        return []
    linked = {_resolved(Path(p)) for p in session.exec(select(Call.recording_path)).all() if p}
    for clips in session.exec(select(Ticket.clips).where(col(Ticket.clips).is_not(None))).all():
        linked.update(_resolved(Path(clip)) for clip in clips or [])
    limit = cutoff.timestamp()
    found = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        resolved = _resolved(path)
        if resolved in linked or resolved in exclude:
            continue
        if path.stat().st_mtime < limit:
            found.append(path)
    return found


def _remove_empty_directories(directory: Path) -> None:
    """The per-call clip folders a retention run emptied (deepest first; the top folder stays)."""
    if not directory.is_dir():
        return
    for folder in sorted((p for p in directory.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        try:
            folder.rmdir()
        except OSError:
            continue  # not empty
