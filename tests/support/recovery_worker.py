"""A worker process for the recovery tests (run as a script): opens the store as a worker (CALLBOT_WORKER_ID),
runs calls up to given stages through the store's call-session API the way CallSession does (start, turns,
written-ahead drafts and answer clips, a stereo recording written frame by frame), prints READY, then waits:
the test kills it with -9, or writes ``finish`` on its stdin to end the calls normally.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import numpy as np

from callbot.audio import samples_per_frame, write_wav
from callbot.config import load_settings
from callbot.recording import StereoRecorder, clips_dir_of, recording_path_of
from callbot.recovery import recover_worker_calls
from callbot.store import open_store
from callbot.types import Outcome, TicketDraft

READY = "READY"
RATE = 8000
RECORDED_S = 3.0  # flushed to disk before the kill (the recorder writes once a second)
DRAFT_FIELDS = {"name": "name", "address": "address_text", "need": "need_text"}


def tone(seconds: float, hz: float = 440.0) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * hz * t) * 6000).astype("<i2").tobytes()


def main() -> None:
    settings = load_settings()
    store = open_store(settings)
    log = store.call_log
    recover_worker_calls(store, settings)
    calls = json.loads(sys.argv[1])  # [{"call_id": ..., "answers": {"name": "...", ...}}]
    recorders, drafts = [], {}
    frame = tone(0.02)
    assert len(frame) == 2 * samples_per_frame(RATE)
    for spec in calls:
        call_id = spec["call_id"]
        recording = recording_path_of(settings.data_dir / "recordings", call_id)
        log.start_call(call_id=call_id, caller_id="0912345678", locale="vi", started_at=datetime.now(UTC),
                       recording_path=recording)
        recorder = StereoRecorder(recording, RATE)
        for _ in range(int(RECORDED_S / 0.02)):
            recorder.write_frame(frame, frame)
        recorders.append(recorder)
        log.add_turn(call_id=call_id, speaker="bot", text="Xin cho biết họ tên", confidence=None, start=0.0,
                     end=1.0, kind="bot")
        draft, clips = TicketDraft(call_id=call_id, locale="vi", outcome=Outcome.partial,
                                   caller_id="0912345678"), []
        for index, (slot, text) in enumerate(spec["answers"].items()):
            clips.append(write_wav(clips_dir_of(recording) / f"{slot}.wav", tone(0.8), RATE))
            log.add_turn(call_id=call_id, speaker="caller", text=text, confidence=0.9, start=1.0 + index,
                         end=1.8 + index, kind="speech")
            setattr(draft, DRAFT_FIELDS[slot], text)
            log.save_draft(call_id=call_id, draft=draft, clips=clips)
        drafts[call_id] = (draft, clips, recording)
    print(READY, flush=True)
    for line in sys.stdin:
        if line.strip() == "finish":
            for (draft, clips, recording), recorder in zip(drafts.values(), recorders):
                recorder.close()
                log.file_ticket(draft=draft, recording_path=recording, clips=clips)
                log.finish_call(call_id=draft.call_id, outcome="partial", ended_at=datetime.now(UTC),
                                recording_path=recording)
            print("FINISHED", flush=True)
    store.close()


if __name__ == "__main__":
    main()
