"""Everything under the data directory is private: files 0600, directories 0700. Checked three ways: the helpers;
the product's file-creating code run in this process under a lax umask (022), so it must ask for the private
mode itself (database with its WAL and SHM, secret.key, recordings, answer clips, journal, unfiled drafts);
and the real entry points (`callbot`, `python -m callbot.service` answering a real SIP call) started under
umask 022, which must set their own umask (then even the prompt cache is private)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from callbot.api.security import load_secret_key
from callbot.call.resources import SharedResources
from callbot.private_files import create_private_file, private_dir, private_opener, restrict_umask, tighten
from callbot.store.journal import TicketJournal
from tests.support.calls import (  # noqa: F401  (fixtures: real calls on a real store, and the caller's clips)
    answer_every_question,
    broken_store,
    clips,
    record_only_resources,
    settings,
    speech_output,
    start_call,
    store,
    ticket_of,
)
from tests.support.sip import run_peer, start_service
from tests.support.sip import ticket_of as sip_ticket_of
from tests.support.speech import espeak_wav

LAX = 0o022


@pytest.fixture
def lax_umask() -> Iterator[None]:
    previous = os.umask(LAX)
    try:
        yield
    finally:
        os.umask(previous)


def modes_under(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Every file and directory below ``root`` (relative path -> octal mode)."""
    found = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if not relative.startswith(skip):
            found[relative] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


def not_private(modes: dict[str, str], root: Path) -> dict[str, str]:
    return {name: mode for name, mode in modes.items()
            if mode != ("0o700" if (root / name).is_dir() else "0o600")}


def test_helpers_under_a_lax_umask(tmp_path: Path, lax_umask: None) -> None:
    nested = private_dir(tmp_path / "a" / "b" / "c")
    assert [oct(stat.S_IMODE((tmp_path / p).stat().st_mode)) for p in ("a", "a/b", "a/b/c")] == ["0o700"] * 3
    made = create_private_file(nested / "d" / "x.wav")
    assert oct(stat.S_IMODE(made.stat().st_mode)) == "0o600"
    with open(nested / "y.json", "w", opener=private_opener) as handle:
        handle.write("{}")
    assert oct(stat.S_IMODE((nested / "y.json").stat().st_mode)) == "0o600"
    loose = tmp_path / "loose.db"
    loose.write_text("x")
    assert stat.S_IMODE(loose.stat().st_mode) == 0o644
    tighten(loose)
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600
    before = os.umask(LAX)
    try:
        assert restrict_umask() == LAX and os.umask(LAX) == 0o077
    finally:
        os.umask(before)


@pytest.mark.slow
def test_the_product_creates_private_files_whatever_the_umask(lax_umask: None, record_only_resources, start_call,
                                                              clips, store, settings) -> None:
    data = settings.data_dir
    # a record-only call: the recording, one clip per answer, the ticket in SQLite
    call = start_call(record_only_resources, call_id="modes-1", speed=2.0)
    answer_every_question(call, clips)
    detail = ticket_of(store, call.session)
    assert len(detail.clips) == 3 and detail.call is not None and detail.call.recording_path
    # a call whose store fails even to journal: the draft goes to unfiled/
    broken = broken_store(settings)
    resources = SharedResources(settings, record_only_resources.speech, broken, record_only_resources.vosk_models,
                                {}, record_only_resources.dialogue)
    lost = start_call(resources, call_id="modes-2", speed=4.0)
    lost.line.wait_bot_speaking(0)
    lost.session.on_hangup()
    assert lost.session.wait(20) and list((data / "unfiled").glob("*.json"))
    broken.close()
    TicketJournal(data / "journal").append("modes-3", {"op": "start_call", "caller_id": None, "locale": "vi",
                                                       "started_at": "2026-01-01T00:00:00+00:00"})
    load_secret_key(settings)
    with store.database.engine.connect() as connection:  # WAL and SHM exist while a connection is open
        connection.exec_driver_sql("SELECT count(*) FROM tickets").scalar()
        modes = modes_under(data, skip=("prompt-cache",))  # the prompt cache holds no personal data
    for expected in ("callbot.db", "callbot.db-wal", "callbot.db-shm", "secret.key", "recordings/modes-1.wav",
                     "recordings/modes-1/name.wav", "unfiled", "journal"):
        assert expected in modes, (expected, sorted(modes))
    assert not_private(modes, data) == {}, modes


def test_the_cli_entry_point_sets_a_private_umask(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "CALLBOT_DATA_DIR": str(data)}
    added = subprocess.run(["sh", "-c", f"umask 022 && exec {sys.executable} -m callbot users add admin --role admin "
                                        "--password-stdin"], input="admin-password-1\n", text=True, env=env,
                           capture_output=True, timeout=120)
    assert added.returncode == 0, added.stderr
    modes = modes_under(data)
    assert "callbot.db" in modes and not_private(modes, data) == {}, modes
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


@pytest.mark.slow
@pytest.mark.sip
def test_a_real_sip_call_leaves_only_private_files(tmp_path: Path) -> None:
    answer = espeak_wav(tmp_path / "answer.wav", "tôi tên là nguyễn văn an", "vi", rate=8000)
    data = tmp_path / "bot" / "data"
    service = start_service(data, {"CALLBOT_MAX_CALLS": "1"},
                            command=["sh", "-c", f"umask 022 && exec {sys.executable} -m callbot.service"])
    try:
        report = run_peer(tmp_path / "r.json", "--target", service.uri, "--step", "until_speech:15",
                          "--step", "until_quiet:0.8", "--step", f"play:{answer}", "--step", "hold:3",
                          "--step", "hangup")
        assert report["connected"], report
        ticket = sip_ticket_of(service, report["call_id"])
        assert ticket is not None and ticket.clips, service.log()[-3000:]
    finally:
        assert service.stop() == 0, service.log()[-3000:]
    modes = modes_under(data, skip=("service.log",))  # the test harness's own log file
    assert any(name.startswith("recordings/") and name.endswith(".wav") for name in modes), modes
    assert any(name.startswith("prompt-cache/") for name in modes), modes  # the umask covers it too
    assert not_private(modes, data) == {}, modes
