"""The bot's voice (``callbot.call.playback``), stepped by the test: real espeak-ng speech synthesized with
``produce_one`` on the test's thread, frames pulled as the media clock would, marks handed back; a fake clock."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from callbot.audio import samples_per_frame
from callbot.call.playback import DRAIN_STALL_S, Framer, Playback, PlaybackMark
from callbot.call.stats import CallStats, TurnLatency
from callbot.call.turns import TurnEnd
from callbot.config import Settings
from callbot.testing import FakeClock
from callbot.tts import SpeechOutput
from callbot.tts.engine import TtsError
from callbot.types import Ask, Speak

RATE = 8000
FRAME_BYTES = 2 * samples_per_frame(RATE)


class Wire:
    """What the media clock thread sees: it pulls frames; the marks it passes are kept for the worker."""

    def __init__(self, speech: SpeechOutput | object, clock: FakeClock) -> None:
        self.clock = clock
        self.marks: list[tuple[PlaybackMark, float]] = []
        self.woken = 0
        self.playback = Playback(
            speech=speech, call_id="c1", locale="vi", rate=RATE, clock=clock, stats=CallStats(),  # type: ignore[arg-type]
            notify=lambda mark, at: self.marks.append((mark, at)), wake=self.wake,
        )

    def wake(self) -> None:
        self.woken += 1

    def pull(self, frames: int) -> list[bytes | None]:
        pulled = []
        for _ in range(frames):
            self.clock.now += 0.02
            pulled.append(self.playback.pull())
        return pulled

    def pull_all(self) -> list[bytes]:
        frames = []
        while (frame := self.pull(1)[0]) is not None:
            frames.append(frame)
        return frames


@pytest.fixture(scope="module")
def speech() -> SpeechOutput:
    return SpeechOutput(Settings())


def test_framer_cuts_chunks_of_any_size_into_20_ms_frames() -> None:
    framer = Framer(FRAME_BYTES)
    assert framer.frames(b"\x01" * 100) == []
    frames = framer.frames(b"\x02" * 700)
    assert [len(f) for f in frames] == [FRAME_BYTES, FRAME_BYTES] and frames[0][:100] == b"\x01" * 100
    assert framer.flush() == [b"\x02" * 160 + b"\x00" * 160] and framer.flush() == []


def test_a_prompt_plays_between_two_marks_and_times_the_answer_it_begins(speech: SpeechOutput,
                                                                         clock: FakeClock) -> None:
    wire = Wire(speech, clock)
    prompt = Speak("Xin chào, tôi là trợ lý tự động.")
    clock.now = 10.0
    job = wire.playback.say(prompt, answers=TurnEnd(ended_at=9.0, declared_at=9.6, understood_at=9.75))
    assert wire.playback.front == prompt
    assert wire.playback.produce_one(block=False) and not wire.playback.produce_one(block=False)
    assert job.first_frame_queued_at == 10.0 and wire.woken == 1
    frames = wire.pull_all()
    expected = speech.synthesize(prompt.text, locale="vi", rate=RATE)
    assert b"".join(frames) == expected + b"\x00" * (-len(expected) % FRAME_BYTES)
    (start, started_at), (end, _ended_at) = wire.marks
    assert start == PlaybackMark(job, started=True) and started_at == pytest.approx(10.02)
    assert end == PlaybackMark(job, started=False)
    assert wire.playback.mark_reached(start, started_at, stream_time=3.0) is None
    assert job.playing_since == 3.0
    assert wire.playback.stats.turn_latencies == [TurnLatency(pytest.approx(0.75), pytest.approx(1.0),
                                                              pytest.approx(1.02))]
    assert wire.playback.drain() == "playing"  # until the worker learns that the last frame went out
    assert wire.playback.mark_reached(end, _ended_at, stream_time=5.0) is job
    assert wire.playback.front is None and wire.playback.drain() == "drained"


def test_stop_cancels_every_prompt_and_drops_what_was_not_played(speech: SpeechOutput, clock: FakeClock) -> None:
    wire = Wire(speech, clock)
    first = wire.playback.say(Speak("Xin chào."), answers=None)
    second = wire.playback.say(Ask("Anh chị tên gì?", "name"), answers=None)
    assert wire.playback.produce_one(block=False) and wire.playback.produce_one(block=False)
    assert all(wire.pull(5))
    assert wire.playback.stop() == [first, second] and first.cut and second.cut
    assert wire.pull(3) == [None, None, None] and wire.playback.front is None
    late = PlaybackMark(first, started=False)  # taken off the wire just before the cut
    assert wire.playback.mark_reached(late, clock.now, stream_time=1.0) is None
    third = wire.playback.say(Speak("Cảm ơn."), answers=None)
    wire.playback.close()
    assert wire.playback.produce_one(block=False)  # closed: its prompt is skipped...
    assert not wire.playback.produce_one(block=False)  # ...and the speech thread ends
    assert third.cut and wire.pull(1) == [None]


def test_playback_that_stops_moving_is_stalled_after_a_while(speech: SpeechOutput, clock: FakeClock) -> None:
    wire = Wire(speech, clock)
    wire.playback.say(Speak("Xin chào, tôi là trợ lý tự động."), answers=None)
    wire.playback.produce_one(block=False)
    assert wire.playback.drain() == "playing"
    wire.pull(10)
    assert wire.playback.drain() == "playing"  # it moved
    clock.now += DRAIN_STALL_S - 0.1  # the media clock stopped pulling
    assert wire.playback.drain() == "playing"
    clock.now += 0.2
    assert wire.playback.drain() == "stalled"


class FailingSpeech:
    def stream(self, text: str, **kwargs: object) -> Iterator[bytes]:
        yield b"\x01" * FRAME_BYTES
        raise TtsError("the voice broke")


def test_a_prompt_the_voice_cannot_say_still_ends(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    wire = Wire(FailingSpeech(), clock)
    job = wire.playback.say(Ask("Địa chỉ của anh chị là gì?", "address", key="ask_address"), answers=None)
    with caplog.at_level(logging.ERROR):
        assert wire.playback.produce_one(block=False)
    assert "speech output failed for prompt ask_address" in caplog.text and "Địa chỉ" not in caplog.text
    assert wire.pull_all() == [b"\x01" * FRAME_BYTES]
    assert [mark.started for mark, _ in wire.marks] == [True, False]  # the worker learns it ended
    assert wire.playback.mark_reached(wire.marks[-1][0], clock.now, stream_time=1.0) is job
