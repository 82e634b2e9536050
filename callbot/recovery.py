"""Recovery: every call that reached a worker leaves a ticket, even when its process was killed.

Run at the start of every worker (``recover_worker_calls``) and by ``callbot tickets recover``:
1. the journal is replayed (malformed lines go to quarantine);
2. ``<data_dir>/unfiled/*.json`` (the call session's last resort when even the journal failed) is filed;
3. every call without an end whose process is gone (see ``callbot.store.workers``) gets its recording's WAV
   header repaired, exactly one partial ticket (outcome ``partial``, reason ``crashed``) made of what was
   written ahead (the draft's slots, the answer clips, the turns), and its end.
Idempotent: filing is idempotent per call id and a recovered call has an end, so a second run files nothing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import Session, select

from callbot.config import Settings
from callbot.recording import clips_dir_of, recording_path_of, repair_wav
from callbot.store import UNREACHABLE, ReplayReport, Store
from callbot.store.journal import DraftRecord
from callbot.store.models import Call, Ticket, Turn, as_utc, utcnow
from callbot.store.operations import CRASHED
from callbot.store.workers import Owner, orphaned_calls
from callbot.types import Category, Escalation, Outcome, Priority, TicketDraft

log = logging.getLogger(__name__)

UNFILED = "unfiled"  # reason of a ticket imported from unfiled/: the caller was never told a number
STALE_AFTER_S = 60.0  # heartbeats (every 5 s) this old: the process is gone (``tickets recover``)
RECOVERED_NOTE = "recovered after the worker process stopped during the call"


@dataclass
class RecoveryReport:
    replayed: ReplayReport = field(default_factory=ReplayReport)
    imported: list[str] = field(default_factory=list)  # tickets filed from unfiled/*.json
    bad_unfiled: list[str] = field(default_factory=list)  # unfiled files set aside (unreadable)
    recovered: list[str] = field(default_factory=list)  # partial tickets filed for crashed calls
    closed: int = 0  # calls given their end
    repaired: int = 0  # recordings and clips whose WAV header was repaired
    left_live: int = 0  # calls without an end that a live process may still be answering
    failed: int = 0  # calls that could not be recovered now (tried again next time)

    def summary(self) -> str:
        return (f"{self.replayed.replayed_calls} journaled call(s) replayed, {len(self.replayed.bad_lines)} bad "
                f"journal line(s) quarantined, {len(self.imported)} unfiled draft(s) imported, "
                f"{len(self.recovered)} crashed call(s) filed as partial tickets, {self.closed} call(s) closed, "
                f"{self.repaired} recording(s) repaired, {self.left_live} live call(s) left alone")


@dataclass(frozen=True)
class _Orphan:
    """What was written ahead for a call whose process is gone (read in one session, filed after)."""

    call_id: str
    caller_id: str | None
    locale: str
    started_at: datetime
    recording_path: str | None
    draft: dict[str, Any] | None
    clips: list[str]
    ticket_outcome: str | None  # the call's ticket was filed before the process died
    last_turn_end: float


class Recovery:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.call_log = store.call_log
        self.settings = settings

    def run(self, owner: Owner) -> RecoveryReport:
        """Raises an UNREACHABLE error when the database is down (nothing is lost: run it again later)."""
        report = RecoveryReport(replayed=self.call_log.replayed)  # with what the store's opening replayed
        if self.call_log.replay_journal().remaining_calls:
            raise ConnectionError("the database went away during the journal replay")
        self._import_unfiled(report)
        with self.store.session() as session:
            orphaned, report.left_live = orphaned_calls(session, owner, utcnow())
            orphans = [self._orphan(session, call) for call in orphaned]
        for orphan in orphans:
            try:
                self._recover(orphan, report)
            except UNREACHABLE:
                raise
            except Exception:  # noqa: BLE001  (one call's trouble must not keep the others unfiled)
                log.exception("call %s: recovery failed; it is tried again at the next recovery", orphan.call_id)
                report.failed += 1
        if report.recovered or report.imported or report.closed or report.replayed.bad_lines:
            log.warning("recovery: %s", report.summary())
        return report

    # --- unfiled drafts ---------------------------------------------------------------------------------
    def _import_unfiled(self, report: RecoveryReport) -> None:
        folder = self.settings.data_dir / "unfiled"
        for path in sorted(folder.glob("*.json")):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                draft = _ticket_draft(DraftRecord.model_validate(record["draft"]).model_dump())
                if not draft.call_id:
                    raise ValueError("no call id")
                clips = [str(c) for c in record.get("clips") or [] if isinstance(c, str)]
                recording = record.get("recording_path")
                recording = recording if isinstance(recording, str) else None
            except (OSError, ValueError, KeyError, TypeError, ValidationError) as exc:
                _set_aside(path, folder / "quarantine")
                report.bad_unfiled.append(path.name)
                log.error("unfiled draft %s is unreadable (%s); kept in %s", path.name, exc.__class__.__name__,
                          folder / "quarantine")
                continue
            try:
                number = self.call_log.file_ticket(draft=draft, recording_path=recording, clips=clips,
                                                   reason=UNFILED)
            except UNREACHABLE:
                raise
            except Exception:  # noqa: BLE001  (kept where it is for the next recovery)
                log.exception("unfiled draft %s could not be filed", path.name)
                report.failed += 1
                continue
            path.unlink()  # the ticket is durable now (committed or journaled)
            report.imported.append(number)

    # --- crashed calls ---------------------------------------------------------------------------------
    def _orphan(self, session: Session, call: Call) -> _Orphan:
        ticket = session.exec(select(Ticket).where(Ticket.call_id == call.call_id)).first()
        last_end = session.exec(select(func.max(Turn.end)).where(Turn.call_id == call.call_id)).one()
        return _Orphan(call_id=call.call_id, caller_id=call.caller_id, locale=call.locale,
                       started_at=as_utc(call.started_at), recording_path=call.recording_path, draft=call.draft,
                       clips=list(call.clips or []), ticket_outcome=ticket.outcome if ticket else None,
                       last_turn_end=float(last_end or 0.0))

    def _recover(self, orphan: _Orphan, report: RecoveryReport) -> None:
        seconds = orphan.last_turn_end
        recording = Path(orphan.recording_path) if orphan.recording_path else recording_path_of(
            self.settings.data_dir / "recordings", orphan.call_id)  # a call started before write-ahead
        repaired = repair_wav(recording) if recording.exists() else None
        if repaired is not None:
            report.repaired += int(repaired.repaired)
            seconds = max(seconds, repaired.seconds)
        on_disk = [str(p) for p in sorted(clips_dir_of(recording).glob("*.wav"))]  # one written just before
        clips = [c for c in dict.fromkeys([*orphan.clips, *on_disk]) if Path(c).exists()]
        for clip in clips:
            fixed = repair_wav(Path(clip))
            report.repaired += int(bool(fixed and fixed.repaired))
        recording_path = str(recording) if repaired is not None else None
        outcome = orphan.ticket_outcome
        if outcome is None:
            draft = _ticket_draft(orphan.draft or {}, orphan, has_clips=bool(clips))
            number = self.call_log.file_ticket(draft=draft, recording_path=recording_path, clips=clips,
                                               reason=CRASHED)
            report.recovered.append(number)
            outcome = Outcome.partial.value
            log.warning("call %s: filed partial ticket %s for a call whose process stopped", orphan.call_id,
                        number)
        self.call_log.finish_call(call_id=orphan.call_id, outcome=outcome,
                                  ended_at=orphan.started_at + timedelta(seconds=seconds),
                                  recording_path=recording_path)
        report.closed += 1


def recover_worker_calls(store: Store, settings: Settings) -> RecoveryReport | None:
    """At a worker's start: claim its worker id, then recover the calls of its earlier incarnations (and any
    call older than the longest call allowed). With the database down this runs as soon as it answers, and
    returns None; a failure is logged, never raised: the worker answers calls whatever happens here."""
    def run() -> RecoveryReport | None:
        try:
            spared = store.call_log.register_worker(stale_after_s=STALE_AFTER_S)
            owner = Owner(worker_id=store.call_log.worker_id, incarnation=store.call_log.incarnation,
                          max_call_duration_s=settings.max_call_duration_s, spared_incarnations=spared)
            return Recovery(store, settings).run(owner)
        except (*UNREACHABLE, ConnectionError) as exc:
            log.warning("recovery waits for the database (%s)", exc.__class__.__name__)
            store.call_log.when_database_answers(run)
        except Exception:  # noqa: BLE001
            log.exception("recovery failed; calls are answered anyway (run `callbot tickets recover`)")
        return None

    return run()


def recover_any_dead_calls(store: Store, settings: Settings,
                           stale_after_s: float = STALE_AFTER_S) -> RecoveryReport:
    """``callbot tickets recover``: calls of any worker that restarted since, stopped heartbeating for
    ``stale_after_s``, or started longer ago than any call may last. Live calls are left alone."""
    owner = Owner(worker_id=None, incarnation=store.call_log.incarnation, max_call_duration_s=settings.max_call_duration_s,
                  stale_after_s=stale_after_s)
    return Recovery(store, settings).run(owner)


def _ticket_draft(fields: dict[str, Any], orphan: _Orphan | None = None, *, has_clips: bool = False) -> TicketDraft:
    """A TicketDraft from stored draft fields; for a crashed call, its partial ticket."""
    values = {k: v for k, v in fields.items() if k in TicketDraft.__dataclass_fields__ and v is not None}
    values["outcome"] = _enum(Outcome, values.get("outcome"), Outcome.partial)
    values["category"] = _enum(Category, values.get("category"), Category.other)
    values["priority"] = _enum(Priority, values.get("priority"), Priority.normal)
    values["escalation"] = _enum(Escalation, values.get("escalation"), None)
    values["notes"] = list(values.get("notes") or [])
    if orphan is not None:
        values.update(call_id=orphan.call_id, outcome=Outcome.partial, notes=[*values["notes"], RECOVERED_NOTE])
        values.setdefault("locale", orphan.locale)
        values.setdefault("caller_id", orphan.caller_id)
        values["needs_transcription"] = has_clips or bool(values.get("needs_transcription"))
    values.setdefault("locale", "vi")
    values.setdefault("call_id", None)
    return TicketDraft(**values)


def _enum(kind: type, value: object, default: Any) -> Any:
    try:
        return kind(value)
    except ValueError:
        return default


def _set_aside(path: Path, folder: Path) -> None:
    folder.mkdir(mode=0o700, exist_ok=True)
    path.replace(folder / path.name)
