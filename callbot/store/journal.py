"""The fsynced local journal that keeps calls and tickets when the database is unreachable.

One append-only JSON-lines file per call under <data_dir>/journal/; each line is one store operation.
A line is on disk (file and directory fsynced) before the operation returns, so a ticket number read to a
caller survives a crash. Replay applies a call's lines in order in one transaction, then deletes the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from callbot.private_files import private_dir, private_opener

JournalOp = dict[str, Any]


class TicketJournal:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        private_dir(self.directory)
        self._lock = threading.Lock()

    def _path(self, call_id: str) -> Path:
        # SIP Call-IDs hold characters unfit for file names; the call id itself is inside every line.
        return self.directory / f"{hashlib.sha256(call_id.encode()).hexdigest()[:32]}.jsonl"

    def append(self, call_id: str, op: JournalOp) -> None:
        line = json.dumps({"call_id": call_id, **op}, ensure_ascii=False, default=str) + "\n"
        path = self._path(call_id)
        with self._lock:
            created = not path.exists()
            with open(path, "a", encoding="utf-8", opener=private_opener) as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            if created:
                self._fsync_directory()

    def has(self, call_id: str) -> bool:
        return self._path(call_id).exists()

    def read(self, call_id: str) -> list[JournalOp]:
        return self._read_path(self._path(call_id))

    def _read_path(self, path: Path) -> list[JournalOp]:
        ops: list[JournalOp] = []
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ops
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                ops.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line torn by a crash mid-write was never acknowledged to anyone
        return ops

    def pending_calls(self) -> list[str]:
        """Call ids with journaled operations, oldest file first."""
        calls: list[str] = []
        for path in sorted(self.directory.glob("*.jsonl"), key=lambda p: p.stat().st_mtime):
            ops = self._read_path(path)
            if ops:
                calls.append(ops[0]["call_id"])
        return calls

    def ticket_number(self, call_id: str) -> str | None:
        for op in self.read(call_id):
            if op.get("op") == "file_ticket":
                return op["number"]
        return None

    def remove(self, call_id: str) -> None:
        with self._lock:
            self._path(call_id).unlink(missing_ok=True)
            self._fsync_directory()

    def _fsync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
