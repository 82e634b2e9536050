"""The fsynced local journal that keeps calls and tickets when the database is unreachable.

One append-only JSON-lines file per call under <data_dir>/journal/; each line is one store operation.
A line is on disk (file and directory fsynced) before the operation returns, so a ticket number read to a
caller survives a crash. Replay claims a call's file (an exclusive flock, so threads and processes sharing
the directory never lose a line appended meanwhile), applies its lines in order in one transaction, then
deletes the file. Every line is validated first: a malformed one (torn JSON, a missing field, a wrong type,
an unknown operation) is moved to <journal>/quarantine/ (kept, counted, logged by call id and operation
only) and never blocks the rest of its call, other calls or later store calls.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from callbot.private_files import private_dir
from callbot.types import Speaker, TurnKind

log = logging.getLogger(__name__)

JournalOp = dict[str, Any]
FILE_MODE = 0o600  # the journal holds names, addresses and needs


def _iso_time(value: str) -> str:
    datetime.fromisoformat(value)  # raises ValueError: not a time
    return value


IsoTime = Annotated[str, AfterValidator(_iso_time)]
CallId = Annotated[str, Field(min_length=1, max_length=128)]
ShortText = Annotated[str, Field(max_length=255)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="ignore")
    call_id: CallId


class DraftRecord(BaseModel):
    """What the dialogue captured (``TicketDraft`` as stored); every slot may still be empty."""

    model_config = ConfigDict(extra="ignore")
    call_id: CallId | None = None
    locale: Annotated[str, Field(max_length=8)] | None = None
    outcome: Annotated[str, Field(max_length=32)] | None = None
    caller_id: Annotated[str, Field(max_length=128)] | None = None
    name: ShortText | None = None
    anonymous: bool = False
    address_text: str | None = None
    ward_code: Annotated[str, Field(max_length=8)] | None = None
    ward_name: ShortText | None = None
    province_code: Annotated[str, Field(max_length=8)] | None = None
    province_name: ShortText | None = None
    need_text: str | None = None
    category: Annotated[str, Field(max_length=32)] | None = None
    priority: Annotated[str, Field(max_length=16)] | None = None
    escalation: Annotated[str, Field(max_length=32)] | None = None
    needs_transcription: bool = False
    notes: list[str] = []


class StartCall(_Entry):
    op: Literal["start_call"]
    caller_id: Annotated[str, Field(max_length=128)] | None
    locale: Annotated[str, Field(max_length=8)]
    started_at: IsoTime
    worker_id: Annotated[str, Field(max_length=128)] | None = None
    incarnation: Annotated[str, Field(max_length=32)] | None = None
    recording_path: Annotated[str, Field(max_length=1024)] | None = None


class AddTurn(_Entry):
    op: Literal["add_turn"]
    speaker: Speaker
    text: str
    confidence: float | None
    start: float
    end: float
    kind: TurnKind
    words: list[dict[str, Any]] | None = None
    latency_ms: float | None = None
    at: IsoTime | None = None


class SaveDraft(_Entry):
    op: Literal["save_draft"]
    draft: DraftRecord
    clips: list[str] = []
    at: IsoTime


class FinishCall(_Entry):
    op: Literal["finish_call"]
    outcome: Annotated[str, Field(max_length=32)]
    ended_at: IsoTime
    recording_path: Annotated[str, Field(max_length=1024)] | None = None


class FileTicket(_Entry):
    op: Literal["file_ticket"]
    number: Annotated[str, Field(pattern=r"^[0-9]{8}$")]
    draft: DraftRecord
    recording_path: Annotated[str, Field(max_length=1024)] | None = None
    clips: list[str] = []
    filed_at: IsoTime
    reason: Annotated[str, Field(max_length=32)] | None = None


_ENTRY = TypeAdapter(Annotated[StartCall | AddTurn | SaveDraft | FinishCall | FileTicket, Field(discriminator="op")])


def parse_line(line: str) -> JournalOp:
    """One journal line as a validated operation (a plain dict); ValueError says what is wrong, never the
    values (they are citizen data)."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError:
        raise ValueError("not JSON (torn line)") from None
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    try:
        entry = _ENTRY.validate_python(raw)
    except ValidationError as exc:
        problems = [f"{_field(err['loc'])}: {err['type']}"
                    for err in exc.errors(include_input=False, include_url=False)[:5]]
        raise ValueError("; ".join(problems)) from None
    return entry.model_dump(mode="json")


def _field(loc: tuple[int | str, ...]) -> str:
    """The field an error is about, without the operation's tag (``loc`` starts with it)."""
    return ".".join(str(part) for part in loc[1:]) or (str(loc[0]) if loc else "op")


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line moved aside: which call and operation it claimed to be, and why (no values)."""

    call_id: str | None
    op: str | None
    reason: str

    def describe(self) -> str:
        return f"call {self.call_id or '?'} op {self.op or '?'}: {self.reason}"


@dataclass
class JournalBatch:
    """A claimed journal file: its valid operations in order (raw line beside each) and its bad lines."""

    path: Path
    entries: list[tuple[str, JournalOp]] = field(default_factory=list)
    bad: list[tuple[str, BadLine]] = field(default_factory=list)
    finished: bool = False

    @property
    def call_id(self) -> str | None:
        return self.entries[0][1]["call_id"] if self.entries else None

    def reject(self, index: int, reason: str) -> None:
        """An operation the database refused (not for being unreachable): keep it aside, replay the others."""
        raw, op = self.entries.pop(index)
        self.bad.append((raw, BadLine(op.get("call_id"), op.get("op"), reason)))


def _claimed(line: str) -> tuple[str | None, str | None]:
    """The call id and operation a malformed line claims, if it says (for the log and the report)."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError:
        return None, None
    if not isinstance(raw, dict):
        return None, None
    call_id, op = raw.get("call_id"), raw.get("op")
    return (call_id[:128] if isinstance(call_id, str) else None), (op[:32] if isinstance(op, str) else None)


class TicketJournal:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        private_dir(self.directory)
        self.quarantine_dir = directory / "quarantine"
        self.quarantined = 0  # lines moved aside by this process

    def path_of(self, call_id: str) -> Path:
        # SIP Call-IDs hold characters unfit for file names; the call id itself is inside every line.
        return self.directory / f"{hashlib.sha256(call_id.encode()).hexdigest()[:32]}.jsonl"

    def append(self, call_id: str, op: JournalOp) -> None:
        data = (json.dumps({"call_id": call_id, **op}, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        path = self.path_of(call_id)
        while True:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                status = os.fstat(fd)
                if status.st_nlink == 0:
                    continue  # replayed and removed while we waited for the lock: start a new file
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            if status.st_size == 0:
                self._fsync_directory()
            return

    def has(self, call_id: str) -> bool:
        return self.path_of(call_id).exists()

    def read(self, call_id: str) -> list[JournalOp]:
        """The call's valid operations (malformed lines are skipped here and moved aside by replay)."""
        return [op for _, op in self._parse(self._text(self.path_of(call_id))).entries]

    def ticket_number(self, call_id: str) -> str | None:
        for op in self.read(call_id):
            if op["op"] == "file_ticket" and op["call_id"] == call_id:
                return op["number"]
        return None

    def pending_files(self) -> list[Path]:
        """Journal files waiting for the database, oldest first."""
        files = []
        for path in self.directory.glob("*.jsonl"):
            try:
                files.append((path.stat().st_mtime, path))
            except FileNotFoundError:
                continue  # replayed meanwhile
        return [path for _, path in sorted(files)]

    def pending_calls(self) -> list[str]:
        """Call ids with journaled operations, oldest file first (a file whose first line is unreadable is
        named by its file name)."""
        calls = []
        for path in self.pending_files():
            first = self._text(path).partition("\n")[0]
            call_id, _ = _claimed(first)
            calls.append(call_id or path.stem)
        return calls

    @contextmanager
    def claim(self, path: Path) -> Iterator[JournalBatch]:
        """Hold ``path`` exclusively while its operations are applied; ``finish`` it once they are committed
        (bad lines go to quarantine, the file goes away). Not finished: the file stays as it was."""
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            yield JournalBatch(path, finished=True)  # replayed by someone else meanwhile
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_nlink == 0:
                yield JournalBatch(path, finished=True)
                return
            with os.fdopen(os.dup(fd), "rb") as handle:
                batch = self._parse(handle.read().decode("utf-8", errors="replace"))
            batch.path = path
            yield batch
        finally:
            os.close(fd)

    def finish(self, batch: JournalBatch) -> None:
        """Called inside ``claim`` after the batch's operations are committed."""
        if batch.finished:
            return
        self._quarantine(batch.bad)
        batch.path.unlink(missing_ok=True)
        self._fsync_directory()
        batch.finished = True

    def quarantined_lines(self) -> int:
        """Lines kept in quarantine so far (by every process sharing this journal)."""
        return sum(len(self._text(path).splitlines()) for path in self.quarantine_dir.glob("*.jsonl"))

    def _parse(self, text: str) -> JournalBatch:
        batch = JournalBatch(Path())
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                batch.entries.append((line, parse_line(line)))
            except ValueError as exc:
                call_id, op = _claimed(line)
                batch.bad.append((line, BadLine(call_id, op, str(exc))))
        first_call = batch.call_id
        for index in reversed(range(len(batch.entries))):  # a line of another call in this file: not ours
            if batch.entries[index][1]["call_id"] != first_call:
                batch.reject(index, "call id differs from the file's call")
        return batch

    def _quarantine(self, bad: list[tuple[str, BadLine]]) -> None:
        if not bad:
            return
        private_dir(self.quarantine_dir)
        now = datetime.now(UTC)
        path = self.quarantine_dir / f"{now:%Y%m%d}.jsonl"
        records = "".join(
            json.dumps({"quarantined_at": now.isoformat(), "call_id": line.call_id, "op": line.op,
                        "reason": line.reason, "line": raw}, ensure_ascii=False) + "\n"
            for raw, line in bad
        ).encode("utf-8")
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            _write_all(fd, records)
            os.fsync(fd)
        finally:
            os.close(fd)
        for _, line in bad:
            log.error("journal: malformed line kept aside in %s (%s)", path.name, line.describe())
        self.quarantined += len(bad)

    @staticmethod
    def _text(path: Path) -> str:
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def _fsync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
