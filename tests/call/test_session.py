"""CallSession without SIP, two ways.

On its threads: a caller line (``callbot.testing.CallerLine``) pushes 20 ms frames (espeak-ng speech) and pulls
the bot's frames on a thread paced at real time, as pjmedia's clock would; real Listener + Vosk (the packaged
Korean model), real Conversation, real SpeechOutput (espeak-ng), the real store on SQLite. The only doubles sit
at the edges: the SIP call control, (in some tests) a recognizer that returns each fixture WAV's known
transcript, and (in one) a clock the test moves forward. The tests wait on the caller line's ticks, never for a
fixed time.

Stepped by the test, frames in and effects out: no worker thread, no speech thread, a fake clock that moves
20 ms per tick of the media clock. The session's effects (speech, the ticket, the transfer with its ticket
header, the hang-up) are carried out by the real decision interpreter on the real dialogue, real espeak-ng
prompts and a real SQLite store; the Listener runs record-only (no model); the SIP side is a unit-level fake
that notes what it was asked and when.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import soundfile
from sqlmodel import Session, select

from callbot.asr import VoskModels
from callbot.audio import read_wav, rms_dbfs, samples_per_frame, to_pcm16
from callbot.call import session as session_module
from callbot.call.playback import DRAIN_STALL_S
from callbot.call.resources import SharedResources
from callbot.call.session import CallSession
from callbot.dialogue import Conversation
from callbot.recording import safe_file_stem
from callbot.recovery import recover_any_dead_calls
from callbot.store import Store, open_store
from callbot.store.models import Call as CallRow
from callbot.telephony.contracts import TICKET_HEADER
from callbot.testing import (
    FRAME_BYTES,
    RATE,
    SILENCE,
    TICK_S,
    FakeCallControl,
    FakeClock,
    ScriptedRecognizer,
    speech_onset,
)
from callbot.tts import SpeechOutput
from callbot.types import CUT_MARK, Ask, Speak
from tests.support.calls import (  # noqa: F401  (fixtures: real calls on a real store, and the caller's clips)
    answer_every_question,
    broken_store,
    clips,
    dataclasses_replace_recognizer,
    frames_of_line,
    korean_resources,
    record_only_resources,
    settings,
    speech_output,
    start_call,
    store,
    ticket_of,
)
from tests.support.stores import listed_calls, read_call, read_ticket


# --- media side (no worker running) --------------------------------------------------------------------------
def test_media_side_never_blocks_and_drops_the_oldest_frames_when_the_worker_stalls(record_only_resources, settings):
    session = CallSession(call_id="stalled", caller_id=None, locale="vi", rate=RATE, settings=settings,
                          resources=record_only_resources, control=FakeCallControl())
    # the worker was never started: the clock thread keeps pushing and must neither block nor grow without bound
    for index in range(600):
        session.push_inbound(index.to_bytes(2, "little") * (FRAME_BYTES // 2))
    assert session.stats.inbound_dropped == 100
    assert len(session._inbound) == 500
    assert session._inbound[0][0] == 100  # the oldest hundred went
    assert session.pull_outbound() is None  # nothing to say yet: silence


# --- real Listener + Korean Vosk model + real dialogue, espeak prompts, SQLite ---------------------------------
@pytest.mark.slow
def test_full_call_bot_speaks_listens_reads_back_and_dtmf_1_files_a_complete_ticket(
    korean_resources, start_call, clips, store
):
    call = start_call(korean_resources)
    asked = answer_every_question(call, clips, confirm_digit="1")
    detail = ticket_of(store, call.session)

    # the bot spoke: its greeting is real, loud audio on the line
    first_word = call.line.bot_voice_ticks()[0]
    greeting = frames_of_line(call.line.heard[first_word:], 150)
    assert rms_dbfs(greeting) > -30
    # speech ended each turn and the dialogue moved on, question after question, to the read-back
    assert asked[0] == "name" and asked[-1] == "confirm" and "need" in asked, asked
    assert detail.ticket.outcome == "complete"
    assert detail.ticket.name and detail.ticket.address_text and detail.ticket.need_text
    kinds = [(turn.speaker, turn.kind.value) for turn in detail.turns]
    assert ("caller", "dtmf") in kinds
    speech_turns = [t for t in detail.turns if t.kind.value == "speech"]
    assert len(speech_turns) >= 3 and all(t.confidence is not None and t.end > t.start for t in speech_turns)
    # every spoken answer got its reply, with the turn latency measured end of speech -> first bot frame
    for turn in speech_turns:
        reply = next(t for t in detail.turns if t.seq > turn.seq and t.speaker == "bot")
        assert reply.latency_ms is not None and 0 < reply.latency_ms < 5000
    assert call.session.stats.turn_latencies
    # the number read back is the filed one; then the bot said goodbye and hung up
    assert any(t.speaker == "bot" and "Mã số phiếu" in t.text for t in detail.turns)
    assert call.control.hangups == 1
    assert detail.call is not None and detail.call.outcome == "complete" and detail.call.recording_path


@pytest.mark.slow
def test_recording_has_the_caller_left_and_the_bot_right_aligned_frame_by_frame(korean_resources, start_call, clips,
                                                                                  store):
    call = start_call(korean_resources, call_id="rec/1@host")
    since = call.line.wait_bot_quiet(0)
    call.line.say(clips["name"][1], "name")
    call.line.wait_bot_quiet(since + len(clips["name"][1]) // FRAME_BYTES)
    call.session.on_hangup()
    detail = ticket_of(store, call.session)
    call.line.stop()

    path = call.session.recording_path
    assert path.name == f"{safe_file_stem('rec/1@host')}.wav" and path.parent == store.settings.data_dir / "recordings"
    data, rate = soundfile.read(str(path), dtype="int16", always_2d=True)
    assert rate == RATE and data.shape[1] == 2
    ticks = min(len(call.line.sent), len(call.line.heard), data.shape[0] // samples_per_frame(RATE))
    assert ticks > 400
    samples = ticks * samples_per_frame(RATE)
    caller = np.frombuffer(frames_of_line(call.line.sent, ticks), dtype="<i2")
    bot = np.frombuffer(frames_of_line(call.line.heard, ticks), dtype="<i2")
    # exactly what the caller sent is on the left, exactly what the bot played is on the right, tick for tick
    assert np.array_equal(data[:samples, 0], caller)
    assert np.array_equal(data[:samples, 1], bot)
    assert np.abs(caller).max() > 1000 and np.abs(bot).max() > 1000
    assert detail.call is not None and detail.call.recording_path


@pytest.mark.slow
def test_barge_in_cuts_the_prompt_within_200_ms_of_speech_start(korean_resources, start_call, clips, store):
    call = start_call(korean_resources)
    began = call.line.wait_bot_speaking(0)
    call.line.wait_for(lambda: call.line.tick > began + 50, 5, "a second of the greeting")
    assert call.session.bot_speaking
    _, pcm = clips["long"]
    call.line.say(pcm, "barge")
    call.line.wait_for(lambda: "barge" in call.line.started_at_tick, 5, "the caller to start talking")
    onset = call.line.started_at_tick["barge"] + speech_onset(pcm)
    call.line.wait_for(lambda: call.session.stats.barge_ins, 5, "the barge-in")
    # in stream time, as the caller hears it: the first tick from which the bot stays silent
    call.line.wait_for(lambda: call.line.tick > onset + 60, 5, "a second more of the call")
    heard = call.line.heard
    cut = next(t for t in range(onset, len(heard)) if all(f is None for f in heard[t : t + 25]))
    cut_ms = (cut - onset) * TICK_S * 1000
    assert cut_ms <= 200, f"the bot kept talking {cut_ms:.0f} ms over the caller"
    assert any(f is not None for f in heard[onset - 10 : onset])  # it was talking right up to the caller
    measured = call.session.stats.barge_ins[0]
    assert measured.cut_at - measured.speech_at <= 0.2
    # the caller's speech then ends a turn and the dialogue answers it
    end_of_clip = call.line.started_at_tick["barge"] + len(pcm) // FRAME_BYTES
    call.line.wait_bot_speaking(end_of_clip, timeout=20)
    call.session.on_hangup()
    detail = ticket_of(store, call.session)
    kinds = [t.kind.value for t in detail.turns]
    assert "barge_in" in kinds and "speech" in kinds
    assert any(t.speaker == "bot" and t.text.endswith(CUT_MARK) for t in detail.turns)


def conversation_with(**changes: object) -> type[Conversation]:
    """The real dialogue, with ``changes`` applied to every prompt it makes (e.g. ``barge_in=False``)."""

    def rewrite(decisions: list) -> list:
        return [dataclasses.replace(d, **{k: v for k, v in changes.items() if hasattr(d, k)})
                if isinstance(d, (Speak, Ask)) else d for d in decisions]

    class Rewritten(Conversation):
        def start(self) -> list:
            return rewrite(super().start())

        def handle(self, event: object) -> list:
            return rewrite(super().handle(event))  # type: ignore[arg-type]

    return Rewritten


def test_a_prompt_without_barge_in_plays_on_and_ignores_speech_over_it(record_only_resources, start_call, clips,
                                                                       store, monkeypatch):
    monkeypatch.setattr(session_module, "Conversation", conversation_with(barge_in=False))
    call = start_call(record_only_resources, speed=4.0)
    began = call.line.wait_bot_speaking(0)
    call.line.wait_for(lambda: call.line.tick > began + 50, 10, "a second of the greeting")
    _, pcm = clips["name"]
    call.line.say(pcm, "over the prompt")
    end_of_speech = call.line.tick + len(pcm) // FRAME_BYTES
    call.line.wait_for(lambda: call.line.tick > end_of_speech + 50, 20, "the caller to finish")
    assert all(call.line.heard[began : end_of_speech])  # the bot never stopped
    assert not call.session.stats.barge_ins
    # the question, once asked to the end, takes the next answer: the words spoken over it were not one
    since = call.line.wait_bot_quiet(end_of_speech)
    assert call.session.current_ask is not None and call.session.current_ask.slot == "name"
    call.line.say(pcm, "answer")
    call.line.wait_bot_speaking(since + len(pcm) // FRAME_BYTES)
    call.session.on_hangup()
    detail = ticket_of(store, call.session)
    assert [Path(c).name for c in detail.clips] == ["name.wav"]
    assert "barge_in" not in [t.kind.value for t in detail.turns]


@pytest.mark.slow
def test_hangup_mid_prompt_files_a_partial_ticket(korean_resources, start_call, store):
    call = start_call(korean_resources)
    began = call.line.wait_bot_speaking(0)
    call.line.wait_for(lambda: call.line.tick > began + 15, 5, "the greeting to be under way")
    call.session.on_hangup()
    detail = ticket_of(store, call.session)
    assert detail.ticket.outcome == "partial"
    assert call.control.hangups == 0  # the caller already hung up: nothing to hang up
    assert detail.call is not None and detail.call.ended_at is not None and detail.call.recording_path
    assert detail.turns[0].speaker == "bot" and detail.turns[0].text.endswith(CUT_MARK)


def test_hangup_mid_answer_keeps_what_the_caller_said(record_only_resources, start_call, clips, store):
    call = start_call(record_only_resources, speed=4.0)
    since = call.line.wait_bot_quiet(0)
    _, pcm = clips["need"]
    call.line.say(pcm, "need")
    half = since + len(pcm) // FRAME_BYTES // 2
    call.line.wait_for(lambda: call.line.tick > half, 10, "half of the answer")
    call.session.on_hangup()
    detail = ticket_of(store, call.session)
    assert detail.ticket.outcome == "partial"
    assert [Path(c).name for c in detail.clips] == ["name.wav"]  # the answer cut by the hang-up is kept
    assert read_wav(detail.clips[0]).duration > 0.5


def test_keypad_digits_are_collected_up_to_the_question_s_length_or_hash(record_only_resources, start_call, store,
                                                                        monkeypatch):
    monkeypatch.setattr(session_module, "Conversation", conversation_with(dtmf_digits=3))
    call = start_call(record_only_resources, speed=4.0)
    since = call.line.wait_bot_quiet(0)
    for digit in "123":
        call.session.on_dtmf(digit)
    since = call.line.wait_bot_quiet(since)
    for digit in "4#":
        call.session.on_dtmf(digit)
    call.line.wait_bot_quiet(since)
    call.session.on_hangup()
    detail = ticket_of(store, call.session)
    assert [t.text for t in detail.turns if t.kind.value == "dtmf"] == ["123", "4"]


def test_silence_after_a_question_is_a_no_input_turn_and_the_bot_asks_again(record_only_resources, start_call,
                                                                             store, settings):
    call = start_call(record_only_resources, speed=4.0)
    asked_at = call.line.wait_bot_quiet(0)
    assert call.session.current_ask is not None and call.session.current_ask.slot == "name"
    # the no-input timer runs from the end of the question, in stream time
    again = call.line.wait_bot_speaking(asked_at, timeout=20)
    assert (again - asked_at) * TICK_S >= settings.no_input_timeout_s - 1
    call.line.wait_bot_quiet(again)
    assert call.session.current_ask is not None and call.session.current_ask.slot == "name"
    call.session.on_hangup()
    detail = ticket_of(store, call.session)
    kinds = [(t.speaker, t.kind.value) for t in detail.turns]
    assert ("caller", "no_input") in kinds
    reprompt = detail.turns[kinds.index(("caller", "no_input")) + 1]
    assert reprompt.speaker == "bot" and reprompt.text != detail.turns[1].text


def test_hangup_before_the_worker_even_starts_still_files_a_ticket(record_only_resources, settings, store):
    session = CallSession(call_id="early", caller_id=None, locale="vi", rate=RATE, settings=settings,
                          resources=record_only_resources, control=FakeCallControl())
    session.on_hangup()
    session.start()
    detail = ticket_of(store, session)
    assert detail.ticket.outcome == "partial"


@pytest.mark.slow
def test_slot_capture_with_known_transcripts(korean_resources, start_call, clips, store, settings):
    recognizer = ScriptedRecognizer(sample_rate=settings.asr_sample_rate)
    resources = dataclasses_replace_recognizer(korean_resources, recognizer)
    call = start_call(resources, speed=2.0)
    clips = {**clips, "yes": ("đúng rồi", clips["name"][1])}
    asked = answer_every_question(call, clips, confirm_digit=None, confirm_clip="yes", recognizer=recognizer)
    detail = ticket_of(store, call.session)
    assert asked[:3] == ["name", "address", "need"], asked
    ticket = detail.ticket
    assert ticket.outcome == "complete"
    assert ticket.name == "Nguyễn Văn An"
    assert "Hai Bà Trưng" in f"{ticket.ward_name} {ticket.address_text}"
    assert ticket.need_text and "lương thực" in ticket.need_text
    assert [t.text for t in detail.turns if t.kind.value == "speech"][:3] == [
        clips["name"][0], clips["address"][0], clips["need"][0]
    ]


def test_captured_answers_are_written_ahead_while_the_call_goes_on(korean_resources, start_call, clips, store,
                                                                   settings):
    """A slot value reaches the store as soon as the dialogue captures it, long before the ticket: a process
    killed at that moment leaves it for recovery (tests/test_recovery.py)."""
    recognizer = ScriptedRecognizer(sample_rate=settings.asr_sample_rate)
    call = start_call(dataclasses_replace_recognizer(korean_resources, recognizer), speed=2.0)
    call.line.wait_bot_quiet(0)
    assert call.session.current_ask is not None and call.session.current_ask.slot == "name"
    recognizer.hear(clips["name"][0])
    call.line.say(clips["name"][1], "name")

    def written_ahead() -> dict | None:
        with Session(store.database.engine) as session:
            row = session.exec(select(CallRow).where(CallRow.call_id == call.session.call_id)).first()
            return row.draft if row is not None else None

    call.line.wait_for(lambda: (written_ahead() or {}).get("name") == "Nguyễn Văn An", 15, "the name written ahead")
    assert not call.session.finished and call.session.ticket_number is None
    row = next(c for c in listed_calls(store) if c.call_id == call.session.call_id)
    assert [t.text for t in read_call(store, row.id).turns if t.speaker == "caller"] == [clips["name"][0]]
    call.session.on_hangup()
    assert ticket_of(store, call.session).ticket.name == "Nguyễn Văn An"


# --- record-only mode (no ASR model for the locale) ----------------------------------------------------------
@pytest.mark.slow
def test_record_only_mode_asks_every_question_and_files_clips_needing_transcription(
    record_only_resources, start_call, clips, store
):
    call = start_call(record_only_resources, speed=2.0)
    asked = answer_every_question(call, clips)
    detail = ticket_of(store, call.session)
    assert asked == ["name", "address", "need"]
    assert detail.ticket.needs_transcription
    assert [Path(c).name for c in detail.clips] == ["name.wav", "address.wav", "need.wav"]
    for clip, label in zip(detail.clips, asked):
        audio = read_wav(clip)
        assert audio.rate == RATE and rms_dbfs(audio.pcm) > -35
        assert audio.duration >= len(clips[label][1]) / 2 / RATE - 0.2  # the whole answer, with padding
    assert call.control.hangups == 1


# --- robustness --------------------------------------------------------------------------------------------
def test_store_failure_keeps_the_draft_in_a_last_resort_file(record_only_resources, settings, start_call):
    broken = broken_store(settings)
    resources = SharedResources(settings, record_only_resources.speech, broken, record_only_resources.vosk_models,
                                {}, record_only_resources.dialogue)
    call = start_call(resources, call_id="lost/1", speed=4.0)
    call.line.wait_bot_speaking(0)
    call.session.on_hangup()
    assert call.session.wait(20)
    assert call.session.ticket_number is None
    stem = safe_file_stem("lost/1")
    assert stem.startswith("lost_1-") and stem != safe_file_stem("lost_1")
    saved = json.loads((settings.data_dir / "unfiled" / f"{stem}.json").read_text(encoding="utf-8"))
    assert saved["draft"]["call_id"] == "lost/1" and saved["draft"]["outcome"] == "partial"
    assert saved["recording_path"].endswith(f"{stem}.wav")
    broken.close()
    # recovery files it (the caller was never told a number: reason "unfiled"), once
    store = open_store(settings)
    [number] = recover_any_dead_calls(store, settings).imported
    ticket = read_ticket(store, number).ticket
    assert ticket.call_id == "lost/1" and ticket.outcome == "partial" and ticket.reason == "unfiled"
    assert recover_any_dead_calls(store, settings).imported == []
    assert not (settings.data_dir / "unfiled" / f"{stem}.json").exists()
    store.close()


def test_a_crash_in_the_worker_files_a_partial_ticket_and_hangs_up(korean_resources, start_call, clips, store,
                                                                    settings):
    resources = dataclasses_replace_recognizer(korean_resources, ScriptedRecognizer(sample_rate=settings.asr_sample_rate,
                                                                            fail=RuntimeError("decoder crashed")))
    call = start_call(resources, speed=4.0)
    call.line.wait_bot_speaking(0)
    call.line.say(clips["name"][1], "name")
    detail = ticket_of(store, call.session)
    assert detail.ticket.outcome == "partial"
    assert call.control.hangups == 1


class SkippingClock:
    """The call's clock: monotonic time plus whatever the test skips forward."""

    def __init__(self) -> None:
        self.skipped = 0.0
        self.began = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() + self.skipped

    def skip_to(self, seconds: float) -> None:
        """Make it ``seconds`` since the clock was made."""
        self.skipped = self.began + seconds - time.monotonic()


def test_max_call_duration_files_partial_and_hangs_up(record_only_resources, start_call, store, settings, caplog):
    caplog.set_level(logging.INFO, logger="callbot.call.session")
    limited = settings.model_copy(update={"max_call_duration_s": 10})
    clock = SkippingClock()
    call = start_call(record_only_resources, session_settings=limited, clock=clock, speed=4.0)
    call.line.wait_bot_speaking(0)
    clock.skip_to(9.5)  # just short of the limit: the call goes on
    call.line.wait_ticks(25)
    assert not call.session.finished and call.control.hangups == 0
    clock.skip_to(10.2)
    detail = ticket_of(store, call.session)
    assert detail.ticket.outcome == "partial"
    assert call.control.hangups == 1
    assert "maximum call duration of 10 s reached" in caplog.text


def test_shutdown_files_the_ticket_and_hangs_up(record_only_resources, start_call, store):
    call = start_call(record_only_resources, speed=4.0)
    call.line.wait_bot_speaking(0)
    call.session.shutdown()
    detail = ticket_of(store, call.session)
    assert detail.ticket.outcome == "partial"
    assert call.control.hangups == 1


@pytest.mark.parametrize("operator", ["sip:op1@127.0.0.1", None])
def test_key_0_transfers_to_a_free_operator_with_the_ticket_number(record_only_resources, start_call, store,
                                                                   operator):
    call = start_call(record_only_resources, speed=4.0, control=FakeCallControl(operator_uri=operator))
    call.line.wait_bot_speaking(0)
    call.session.on_dtmf("0")
    detail = ticket_of(store, call.session)
    assert detail.ticket.outcome == "escalated"
    if operator:
        assert call.control.transfers == [(operator, {"X-Callbot-Ticket": detail.ticket.number})]
    else:
        assert call.control.transfers == []  # nobody free: the caller is told they will be called back
    assert call.control.hangups == 1


# --- stepped by the test ------------------------------------------------------------------------------------
OPERATOR = "sip:op1@127.0.0.1"


@dataclass
class NotingControl:
    """The SIP side: notes each request, and whether the bot was still talking when it came."""

    session: CallSession | None = None
    transfers: list[tuple[str, dict[str, str], bool]] = field(default_factory=list)
    hangups: int = 0
    free_operator: str | None = OPERATOR

    def transfer(self, target_uri: str, headers: dict[str, str]) -> bool:
        assert self.session is not None
        self.transfers.append((target_uri, dict(headers), self.session.bot_speaking))
        return True

    def hangup(self) -> None:
        self.hangups += 1

    def operator_uri_free(self) -> str | None:
        return self.free_operator


class SteppedCall:
    """Plays the media clock and the worker in turn: each tick pulls the bot's frame, pushes the caller's,
    steps the session and synthesizes whatever it queued."""

    def __init__(self, session: CallSession, clock: FakeClock) -> None:
        self.session = session
        self.clock = clock
        self.heard: list[bytes | None] = []
        session.open()
        self._produce()

    def _produce(self) -> None:
        while self.session.playback.produce_one(block=False):
            pass

    def tick(self, *, pull: bool = True) -> None:
        self.clock.now += 0.02
        if pull:
            self.heard.append(self.session.pull_outbound())
        self.session.push_inbound(SILENCE)
        self.session.step()
        self._produce()

    def until(self, condition: Callable[[], bool], *, max_ticks: int = 3000, pull: bool = True) -> int:
        """Tick until ``condition`` holds; returns how many ticks it took."""
        for ticks in range(max_ticks):
            if condition():
                return ticks
            self.tick(pull=pull)
        raise AssertionError(f"not reached in {max_ticks} ticks")

    def close(self) -> None:
        assert self.session.ended
        self.session.close()


@pytest.fixture
def start(store: Store) -> Callable[..., tuple[SteppedCall, NotingControl]]:
    settings = store.settings
    resources = SharedResources(settings, SpeechOutput(settings), store, VoskModels())  # record-only: no model

    def started(**changes: object) -> tuple[SteppedCall, NotingControl]:
        control, clock = NotingControl(), FakeClock(1000.0)
        session = CallSession(call_id="stepped-1", caller_id="0912345678", locale="vi", rate=RATE,
                              settings=settings.model_copy(update=changes), resources=resources,
                              control=control, clock=clock)
        control.session = session
        return SteppedCall(session, clock), control

    return started


def test_key_0_cuts_the_greeting_files_and_transfers_once_the_announcement_has_played(start, store) -> None:
    call, control = start()
    call.until(lambda: bool(call.heard) and call.heard[-1] is not None)  # the greeting is playing
    call.session.on_dtmf("0")
    call.tick()
    number = call.session.ticket_number
    assert number is not None and call.session.bot_speaking and control.transfers == []  # the announcement first
    call.until(lambda: bool(control.transfers))
    assert control.transfers == [(OPERATOR, {TICKET_HEADER: number}, False)]
    call.until(lambda: call.session.ended)
    call.close()
    assert control.hangups == 1
    detail = read_ticket(store, number)
    assert detail.ticket.outcome == "escalated"
    bot = [t.text for t in detail.turns if t.speaker == "bot"]
    assert bot[0].endswith(CUT_MARK) and not bot[-1].endswith(CUT_MARK)  # the greeting cut, the announcement not
    assert [t.text for t in detail.turns if t.kind.value == "dtmf"] == ["0"]


def test_key_0_with_no_operator_free_promises_a_callback_and_the_ticket_owes_one(start, store) -> None:
    call, control = start()
    control.free_operator = None  # every operator busy (the PBX pushed their status)
    call.until(lambda: bool(call.heard) and call.heard[-1] is not None)
    call.session.on_dtmf("0")
    call.until(lambda: call.session.ended)
    call.close()
    assert control.transfers == [] and control.hangups == 1
    detail = read_ticket(store, call.session.ticket_number)
    assert (detail.ticket.outcome, detail.ticket.escalation) == ("escalated", "callback")
    bot = [t.text for t in detail.turns if t.speaker == "bot"]
    assert bot[-2].startswith("Hiện chưa có tổng đài viên nào rảnh")  # the call-back promised, then goodbye
    assert not any("giữ máy" in text for text in bot)  # never "please hold the line"



def test_star_over_the_name_question_repeats_it_and_waits_for_the_name(start, store) -> None:
    """'*' (repeat) with the key's tone leaking into the audio, as a phone's keypad does: the tone is the key, not
    an answer, so the repeated question plays to its end and the bot waits for the name (issue 16: it skipped)."""
    call, control = start()
    for _ in range(500):  # ten seconds in: the greeting is over and the name question is being said
        call.tick()
    assert call.session.bot_speaking and call.session.current_ask is not None
    assert call.session.current_ask.slot == "name"
    seconds = np.arange(RATE * 200 // 1000) / RATE  # 200 ms of 941 + 1209 Hz
    tone = to_pcm16(0.3 * (np.sin(2 * np.pi * 941 * seconds) + np.sin(2 * np.pi * 1209 * seconds)) / 2)
    call.session.on_dtmf("*")
    for start_byte in range(0, len(tone), FRAME_BYTES):
        call.clock.now += TICK_S
        call.heard.append(call.session.pull_outbound())
        call.session.push_inbound(tone[start_byte : start_byte + FRAME_BYTES])
        call.session.step()
        call.session.playback.produce_one(block=False)
    call.until(lambda: not call.session.bot_speaking)  # the repeat played to its end, not cut by the tone
    for _ in range(100):  # two seconds of silence: still waiting for the name
        call.tick()
    assert call.session.current_ask is not None and call.session.current_ask.slot == "name"
    call.session.on_hangup()
    call.until(lambda: call.session.ended)
    call.close()
    turns = read_ticket(store, call.session.ticket_number).turns
    asked_name = [t for t in turns if t.speaker == "bot" and "họ và tên" in t.text]
    assert len(asked_name) == 2 and not asked_name[-1].text.endswith(CUT_MARK)
    assert [t.kind.value for t in turns if t.speaker == "caller"] == ["dtmf"]  # the '*', and no answer

def test_a_transfer_waits_for_playback_only_until_it_stalls(start, caplog) -> None:
    call, control = start()
    call.until(lambda: bool(call.heard) and call.heard[-1] is not None)
    call.session.on_dtmf("0")
    call.tick()
    stalled = call.until(lambda: bool(control.transfers), pull=False)  # the media clock stopped pulling
    assert DRAIN_STALL_S <= stalled * 0.02 <= DRAIN_STALL_S + 0.1
    assert "bot audio stopped playing out" in caplog.text


def test_the_maximum_call_duration_is_kept_on_the_call_s_clock(start, store, caplog) -> None:
    caplog.set_level(logging.INFO, logger="callbot.call.session")
    call, control = start(max_call_duration_s=10)
    call.clock.now += 9.95
    call.tick()  # 9.97 s on the call's clock
    assert not call.session.ended and control.hangups == 0
    call.tick()
    call.tick()  # 10.01 s
    assert call.session.ended and control.hangups == 1
    call.close()
    assert read_ticket(store, call.session.ticket_number or "").ticket.outcome == "partial"
    assert "maximum call duration of 10 s reached" in caplog.text


def test_a_hang_up_mid_prompt_cuts_it_and_files_a_partial_ticket(start, store) -> None:
    call, control = start()
    call.until(lambda: sum(frame is not None for frame in call.heard) >= 10)
    call.session.on_hangup()
    call.tick()
    assert call.session.ended
    call.close()
    assert control.hangups == 0 and control.transfers == []  # the caller is gone: nothing to hang up
    detail = read_ticket(store, call.session.ticket_number or "")
    assert detail.ticket.outcome == "partial" and detail.turns[0].text.endswith(CUT_MARK)
    assert detail.call is not None and detail.call.ended_at is not None and detail.call.recording_path


@pytest.mark.slow
def test_a_second_call_reuses_the_first_call_s_warm_recognizer(korean_resources, start_call, clips, store):
    """Each call borrows the process's recognizer and gives it back at its end, cleared: the next call gets
    the same, warm one (the pool's own tests check it then hears what a fresh one would)."""
    pool = korean_resources.recognizers
    assert pool is not None  # CALLBOT_ASR_WARM_RECOGNIZERS is on by default
    _, pcm = clips["name"]
    for number in (1, 2):
        call = start_call(korean_resources, call_id=f"warm-{number}@10.0.0.1", speed=4.0)
        since = call.line.wait_bot_quiet(0)
        call.line.say(pcm, "name")
        call.line.wait_bot_speaking(since + len(pcm) // FRAME_BYTES)  # heard and answered
        call.session.on_hangup()
        assert any(t.speaker == "caller" and t.kind.value == "speech" for t in ticket_of(store, call.session).turns)
    assert pool.stats.as_dict() == {"created": 1, "reused": 1, "dropped": 0, "idle": 1}
