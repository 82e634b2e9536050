"""SQLite stays the default for one node: every worker of the node writes to the same file (WAL, a busy timeout,
one short transaction per operation) while the API reads it, with no "database is locked" and nothing lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from store_fixtures import listed_calls

from callbot.config import Settings
from callbot.store import open_store

pytestmark = pytest.mark.slow
WRITERS = 6
CALLS_EACH = 30


def test_concurrent_workers_write_one_sqlite_file_without_locking_errors(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    reader = open_store(settings)  # migrates, as `callbot serve` does before starting its workers
    writer_script = Path(__file__).with_name("store_writer.py")
    writers = [subprocess.Popen([sys.executable, str(writer_script), str(settings.data_dir), str(CALLS_EACH)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(WRITERS)]
    reads = 0
    try:
        while any(writer.poll() is None for writer in writers):  # the API keeps reading meanwhile
            listed_calls(reader, limit=50)
            reads += 1
        results = []
        for writer in writers:
            out, err = writer.communicate(timeout=120)
            assert writer.returncode == 0, err[-2000:]
            assert "locked" not in err, err[-2000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
        assert all(result == {"calls": CALLS_EACH, "journaled": 0, "complaints": 0} for result in results), results
        calls = listed_calls(reader, limit=1000)
        assert len(calls) == WRITERS * CALLS_EACH and reads > 0
        assert all(call.ticket_number and call.ended_at for call in calls)
        assert len({call.ticket_number for call in calls}) == WRITERS * CALLS_EACH
        with reader.database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
        reader.close()
