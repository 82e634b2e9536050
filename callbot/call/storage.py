"""What one call writes: its start, every turn, the answers captured so far (written ahead), the answer clips,
the ticket (or, when even the store's journal fails, a last-resort file that recovery imports), and its end.

The store journals when the database is unreachable; what still escapes is ``WRITE_FAILURES``. A turn or a
write-ahead that fails is logged and the call goes on; the ticket never fails silently.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from callbot.audio import write_wav
from callbot.call.playback import SpeechJob
from callbot.call.turns import CallerTurn, PromptCut
from callbot.config import Settings
from callbot.dialogue import Conversation
from callbot.private_files import private_dir, private_opener
from callbot.recording import clips_dir_of, recording_path_of, safe_file_stem
from callbot.store import CallLog
from callbot.types import CallerEvent, Decision, DtmfInput, FinalTranscript, Outcome, Speaker, TicketDraft
from callbot.types import Transcript, TurnKind

log = logging.getLogger(__name__)

# a journal that cannot be written (OSError), a database refusing the write rather than unreachable
WRITE_FAILURES = (OSError, SQLAlchemyError)
CRASH_NOTE = "the call session ended unexpectedly"


@dataclass(eq=False, kw_only=True)
class CallStorage:
    """One call's writes (through the store's ``CallLog``), and where its recording and clips go."""

    call_id: str
    caller_id: str | None
    locale: str
    rate: int
    record_only: bool  # answers are clips, and the ticket needs transcription
    settings: Settings
    call_log: CallLog
    clips: list[Path] = field(default_factory=list, init=False)
    ticket_number: str | None = field(default=None, init=False)
    filed_outcome: Outcome | None = field(default=None, init=False)
    unfiled_path: Path | None = field(default=None, init=False)  # the draft, when even the journal failed
    _written_ahead: tuple[TicketDraft, int] | None = field(default=None, init=False)  # the last stored

    def __post_init__(self) -> None:
        self.recording_path = recording_path_of(self.settings.data_dir / "recordings", self.call_id)
        self.clips_dir = clips_dir_of(self.recording_path)

    @property
    def settled(self) -> bool:
        """A ticket was filed, or its draft kept in a last-resort file: nothing more to file."""
        return self.ticket_number is not None or self.unfiled_path is not None

    def start(self) -> None:
        try:
            self.call_log.start_call(call_id=self.call_id, caller_id=self.caller_id, locale=self.locale,
                                     started_at=_utcnow(), recording_path=self.recording_path)
        except WRITE_FAILURES:  # the caller is still answered: the ticket has its own fallbacks
            log.exception("call %s: could not record the start of the call", self.call_id)

    def add_turn(self, *, speaker: Speaker, kind: TurnKind, text: str, confidence: float | None, start: float,
                 end: float, latency_s: float | None = None, transcript: Transcript | None = None) -> None:
        words = transcript.as_dict()["words"] if transcript is not None else None
        try:
            self.call_log.add_turn(
                call_id=self.call_id, speaker=speaker, text=text, confidence=confidence, start=start, end=end,
                kind=kind, words=words, latency_ms=None if latency_s is None else round(latency_s * 1000, 1),
            )
        except WRITE_FAILURES:
            log.exception("call %s: could not store a %s turn", self.call_id, kind)

    def caller_turn(self, turn: CallerTurn) -> None:
        event = turn.event
        text, confidence = "", None  # a recorded answer or a no-input: no text
        if isinstance(event, FinalTranscript):
            text, confidence = event.text, event.confidence
        elif isinstance(event, DtmfInput):
            text, confidence = event.digits, 1.0
        transcript = event.transcript if isinstance(event, FinalTranscript) else None
        self.add_turn(speaker=Speaker.caller, kind=turn.kind, text=text, confidence=confidence,
                      start=turn.start, end=turn.end, transcript=transcript)

    def barge_in(self, cut: PromptCut) -> None:
        self.add_turn(speaker=Speaker.caller, kind=TurnKind.barge_in, text="", confidence=None,
                      start=cut.speech_at, end=cut.cut_at)

    def bot_turn(self, job: SpeechJob, end: float) -> None:
        """A prompt played to its end, or cut (``[cut]``), at stream time ``end``; with the latency of the
        answer it begins (from the end of the caller's turn to its first frame queued)."""
        start = job.playing_since if job.playing_since is not None else end
        latency = None
        if job.answers is not None and job.first_frame_queued_at is not None:
            latency = job.first_frame_queued_at - job.answers.ended_at
        text = job.decision.text + (" [cut]" if job.cut else "")
        self.add_turn(speaker=Speaker.bot, kind=TurnKind.bot, text=text, confidence=None, start=start,
                      end=end, latency_s=latency)

    def keep_clip(self, pcm: bytes, slot: str) -> str:
        """Save a record-only answer as ``<slot>.wav`` (``<slot>-2.wav`` ... when asked again); its path."""
        path = self.clips_dir / f"{slot}.wav"
        attempt = 1
        while path in self.clips or path.exists():
            attempt += 1
            path = self.clips_dir / f"{slot}-{attempt}.wav"
        write_wav(path, pcm, self.rate)
        self.clips.append(path)
        return str(path)

    def write_ahead(self, draft: TicketDraft) -> None:
        """What the call has captured reaches the store as soon as it changes: a process killed at any
        moment leaves enough for recovery to file the partial ticket (a write per changed answer, not per
        frame)."""
        captured = (self._as_filed(draft), len(self.clips))
        if captured == self._written_ahead:
            return
        self._written_ahead = captured
        try:
            self.call_log.save_draft(call_id=self.call_id, draft=captured[0], clips=tuple(self.clips))
        except WRITE_FAILURES:
            log.exception("call %s: could not write the captured answers ahead", self.call_id)

    def file_ticket(self, draft: TicketDraft, *, ending: str | None = None) -> str | None:
        """The ticket's number; None when even the journal failed (the draft is then in a last-resort
        file)."""
        draft = self._as_filed(draft)
        if ending is not None:
            draft = dataclasses.replace(draft, notes=[*draft.notes, ending])
        try:
            number = self.call_log.file_ticket(draft=draft, recording_path=self.recording_path,
                                               clips=tuple(self.clips))
        except Exception:  # broad on purpose: whatever failed, the draft must still be kept for a ticket
            log.critical("call %s: the ticket store failed even to journal; keeping the draft on disk",
                         self.call_id, exc_info=True)
            self.unfiled_path = self._last_resort(draft)
            return None
        self.ticket_number = number
        self.filed_outcome = draft.outcome
        return number

    def partial_draft(self, captured: TicketDraft | None) -> TicketDraft:
        """The draft filed when the call session ended without its ticket: what was captured, or the bare
        call."""
        draft = captured or TicketDraft(call_id=self.call_id, locale=self.locale, outcome=Outcome.partial,
                                        caller_id=self.caller_id)
        draft = dataclasses.replace(draft, outcome=Outcome.partial)
        return dataclasses.replace(draft, notes=[*draft.notes, CRASH_NOTE])

    def finish(self, recording: Path | None) -> None:
        try:
            outcome = (self.filed_outcome or Outcome.partial).value
            self.call_log.finish_call(call_id=self.call_id, outcome=outcome, ended_at=_utcnow(),
                                      recording_path=recording)
        except WRITE_FAILURES:
            log.exception("call %s: could not record the end of the call", self.call_id)

    def _as_filed(self, draft: TicketDraft) -> TicketDraft:
        return dataclasses.replace(draft, needs_transcription=True) if self.record_only else draft

    def _last_resort(self, draft: TicketDraft) -> Path | None:
        path = self.settings.data_dir / "unfiled" / f"{safe_file_stem(self.call_id)}.json"
        fields = {name: _jsonable(value) for name, value in dataclasses.asdict(draft).items()}
        record = {
            "draft": fields,
            "recording_path": str(self.recording_path),
            "clips": [str(p) for p in self.clips],
            "saved_at": _utcnow().isoformat(),
        }
        try:
            private_dir(path.parent)
            with open(path, "w", encoding="utf-8", opener=private_opener) as handle:
                handle.write(json.dumps(record, ensure_ascii=False, indent=2))
        except OSError:  # the slots' values stay out of the log (citizen data): only which were captured
            log.critical("call %s: could not even write %s; lost a draft with %s", self.call_id, path,
                         [name for name, value in fields.items() if value] or "nothing")
            return None
        log.critical("call %s: unfiled ticket saved to %s", self.call_id, path)
        return path


class WrittenAhead:
    """A conversation as the decision interpreter sees it, what it captured written ahead after every step."""

    def __init__(self, conversation: Conversation, storage: CallStorage) -> None:
        self.conversation = conversation
        self.storage = storage

    @property
    def ended(self) -> bool:
        return self.conversation.ended

    def start(self) -> list[Decision]:
        decisions = self.conversation.start()
        self.storage.write_ahead(self.conversation.draft)  # the bare call is recoverable from the first word
        return decisions

    def handle(self, event: CallerEvent) -> list[Decision]:
        decisions = self.conversation.handle(event)
        self.storage.write_ahead(self.conversation.draft)
        return decisions


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "value"):  # enums
        return value.value
    return value
