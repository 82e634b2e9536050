"""The turn-taker (``callbot.call.turns``), frames in and caller turns out: no threads, a fake clock.

The Listener and its VAD are real and hear real espeak-ng speech; the recognizer is a unit-level double that
returns a fixed text and takes a set decode time on the fake clock. Each frame arrives ``LAG`` after its end.
"""

from __future__ import annotations

import numpy as np
import pytest

from callbot.audio import frames_of
from callbot.call.turns import DTMF_INTER_DIGIT_S, CallerTurn, PromptCut, TurnOutput, TurnTaker
from callbot.config import Settings
from callbot.listener import Listener
from callbot.testing import FakeClock, ScriptedRecognizer
from callbot.types import Ask, DtmfInput, FinalTranscript, NoInput, RecordedAnswer, Speak
from tests.support.speech import build_call, trimmed_speech

RATE = 8000
LAG = 0.005  # each frame reaches the worker this long after its end
DECODE_S = 0.15  # the recognizer's final decode, on the fake clock


class Line:
    """The caller's side of a turn-taker: plays speech and silence frame by frame on the fake clock."""

    def __init__(self, turns: TurnTaker, clock: FakeClock) -> None:
        self.turns = turns
        self.clock = clock
        self.stream_at = 0.0

    def play(self, *pieces: np.ndarray | float) -> list[TurnOutput]:
        """Speech arrays and silences (floats, seconds), in order; returns what the turn-taker said."""
        call = build_call(RATE, list(pieces))
        out: list[TurnOutput] = []
        for frame in frames_of(call.pcm, RATE, start=self.stream_at):
            self.clock.now = max(self.clock.now, frame.end + LAG)
            out.extend(self.turns.feed(frame, arrived_at=frame.end + LAG))
            self.stream_at = frame.end
        return out


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    return trimmed_speech(tmp_path_factory.mktemp("turns"), "tôi tên là Nguyễn Văn An", "vi", RATE)


@pytest.fixture
def turns(clock: FakeClock) -> TurnTaker:
    return TurnTaker(Listener(Settings(), ScriptedRecognizer(always="xin chào", confidence=0.9, clock=clock, final_s=DECODE_S),
                              RATE), clock)


def ask(slot: str = "name", **changes: object) -> Ask:
    return Ask(f"{slot}?", slot, key=f"ask_{slot}", **changes)  # type: ignore[arg-type]


def asked(turns: TurnTaker, question: Ask) -> None:
    """The bot asked ``question`` and has finished speaking."""
    turns.prompt(question)
    turns.speaking(None)


def answers(outputs: list[TurnOutput]) -> list[object]:
    return [out.event for out in outputs if isinstance(out, CallerTurn)]


# --- keypad ---------------------------------------------------------------------------------------------------
def test_keypad_digits_are_collected_up_to_the_question_s_length(turns: TurnTaker, clock: FakeClock) -> None:
    asked(turns, ask("confirm", dtmf_digits=3))
    assert turns.digit("1", 1.0) == [] and turns.digit("2", 1.5) == []
    clock.now = 2.25
    (turn,) = turns.digit("3", 2.0)
    assert isinstance(turn, CallerTurn) and turn.event == DtmfInput("123") and turn.kind == "dtmf"
    assert turn.ended is not None and turn.ended.ended_at == 2.0 and turn.ended.understood_at == 2.25
    assert turns.digit("4", 3.0) == []  # the next answer starts afresh


def test_hash_ends_a_keypad_answer_early_and_alone_is_an_answer(turns: TurnTaker) -> None:
    asked(turns, ask("confirm", dtmf_digits=4))
    turns.digit("4", 1.0)
    assert answers(turns.digit("#", 1.2)) == [DtmfInput("4")]  # '#' sends what was pressed, without itself
    assert answers(turns.digit("#", 2.0)) == [DtmfInput("#")]


def test_an_unfinished_keypad_answer_is_sent_after_the_inter_digit_pause(turns: TurnTaker,
                                                                         clock: FakeClock) -> None:
    asked(turns, ask("confirm", dtmf_digits=3))
    turns.digit("4", 1.0)
    clock.now = 1.0 + DTMF_INTER_DIGIT_S - 0.01
    assert turns.tick() == []
    clock.now = 1.0 + DTMF_INTER_DIGIT_S + 0.01
    (turn,) = turns.tick()
    assert isinstance(turn, CallerTurn) and turn.event == DtmfInput("4")
    assert turn.ended is not None and turn.ended.ended_at == clock.now  # the pause ended the turn
    assert turns.tick() == []


def test_a_new_question_forgets_the_digits_of_an_unfinished_answer(turns: TurnTaker) -> None:
    asked(turns, ask("confirm", dtmf_digits=3))
    turns.digit("9", 1.0)
    asked(turns, ask("ward", dtmf_digits=2))
    turns.digit("1", 2.0)
    assert answers(turns.digit("2", 2.1)) == [DtmfInput("12")]


# --- barge-in -------------------------------------------------------------------------------------------------
def test_a_key_over_a_prompt_that_allows_barge_in_cuts_it_and_is_an_answer(turns: TurnTaker, clock: FakeClock,
                                                                             speech: np.ndarray) -> None:
    line = Line(turns, clock)
    turns.prompt(ask("confirm"))
    line.play(0.5)
    cut, turn = turns.digit("1", clock.now)
    assert cut == PromptCut(0.5, 0.5, "dtmf")
    assert isinstance(turn, CallerTurn) and turn.event == DtmfInput("1")
    assert not turns.bot_speaking


def test_a_key_over_a_prompt_that_forbids_barge_in_does_not_cut_it(turns: TurnTaker) -> None:
    turns.prompt(ask("confirm", barge_in=False))
    assert answers(turns.digit("1", 1.0)) == [DtmfInput("1")]
    assert turns.bot_speaking


def test_speech_over_a_prompt_that_allows_barge_in_cuts_it_then_answers(turns: TurnTaker, clock: FakeClock,
                                                                        speech: np.ndarray) -> None:
    line = Line(turns, clock)
    turns.prompt(Speak("hello", "greeting"))
    turns.prompt(ask("name"))  # listening while it is said
    outputs = line.play(1.0, speech, 1.0)
    cut, turn = outputs
    assert isinstance(cut, PromptCut) and cut.by == "speech"
    assert abs(cut.speech_at - 1.0) <= 0.1 and 0 < cut.cut_at - cut.speech_at <= 0.1
    assert isinstance(turn, CallerTurn) and turn.event == FinalTranscript("xin chào", 0.9, turn.event.transcript)
    assert not turns.bot_speaking


def test_speech_over_a_prompt_that_forbids_barge_in_is_discarded(turns: TurnTaker, clock: FakeClock,
                                                                  speech: np.ndarray) -> None:
    line = Line(turns, clock)
    question = ask("name", barge_in=False)
    turns.prompt(question)
    assert line.play(0.5, speech, 1.0) == []  # no cut, and no answer: the question was not over
    assert turns.bot_speaking and turns.waiting_to_listen
    turns.speaking(None)  # the question played to its end: now the caller's answer counts
    assert not turns.waiting_to_listen
    (turn,) = line.play(0.5, speech, 1.0)
    assert isinstance(turn, CallerTurn) and isinstance(turn.event, FinalTranscript)
    assert turns.current_ask == question


def test_speech_that_began_over_a_prompt_forbidding_barge_in_is_discarded_even_if_it_ends_later(
    turns: TurnTaker, clock: FakeClock, speech: np.ndarray
) -> None:
    line = Line(turns, clock)
    turns.prompt(ask("name", barge_in=False))
    line.play(0.5, speech[: len(speech) // 2])
    turns.speaking(None)  # the bot stops while the caller is still talking
    assert line.play(speech[len(speech) // 2 :], 1.0) == []


# --- no input -------------------------------------------------------------------------------------------------
def test_no_input_counts_only_once_the_bot_has_stopped_speaking(turns: TurnTaker, clock: FakeClock) -> None:
    line = Line(turns, clock)
    turns.prompt(ask("name", no_input_timeout_s=2.0))
    assert line.play(5.0) == []  # the question is still being said: nobody is expected to answer
    turns.speaking(None)
    assert line.play(1.9) == []
    (turn,) = line.play(0.2)
    assert isinstance(turn, CallerTurn) and turn.event == NoInput(2.0) and turn.kind == "no_input"
    assert turn.start == turn.end == pytest.approx(7.0, abs=0.021) and turn.ended is None  # one frame


# --- turn-end times -------------------------------------------------------------------------------------------
def test_turn_end_times_run_from_the_arrival_of_the_last_voiced_frame(turns: TurnTaker, clock: FakeClock,
                                                                      speech: np.ndarray) -> None:
    line = Line(turns, clock)
    asked(turns, ask("name", end_silence_ms=800))
    (turn,) = line.play(1.0, speech, 1.5)
    assert isinstance(turn, CallerTurn) and turn.ended is not None
    true_end = 1.0 + len(speech) / RATE
    assert abs(turn.end - true_end) <= 0.1  # the end of speech, in stream seconds
    ended = turn.ended
    assert ended.ended_at == pytest.approx(turn.end + LAG)  # when its last voiced frame arrived
    assert ended.endpoint_s == pytest.approx(0.8, abs=0.021)  # the question's end-of-speech silence
    assert ended.processing_s == pytest.approx(DECODE_S)
    assert ended.understood_s == pytest.approx(ended.endpoint_s + DECODE_S)
    latency = ended.latency(queued_at=ended.understood_at + 0.1, played_at=ended.understood_at + 0.3)
    assert latency.queued_s == pytest.approx(ended.understood_s + 0.1)
    assert latency.played_s == pytest.approx(ended.understood_s + 0.3)


def test_speech_still_open_when_the_stream_ends_is_an_untimed_answer(turns: TurnTaker, clock: FakeClock,
                                                                   speech: np.ndarray) -> None:
    line = Line(turns, clock)
    asked(turns, ask("name"))
    assert line.play(0.5, speech) == []
    (turn,) = turns.finish()
    assert isinstance(turn, CallerTurn) and isinstance(turn.event, FinalTranscript) and turn.ended is None


# --- record-only ------------------------------------------------------------------------------------------
def test_record_only_answers_are_clips_kept_under_the_question_s_slot(clock: FakeClock,
                                                                      speech: np.ndarray) -> None:
    kept: list[tuple[int, str]] = []

    def keep_clip(pcm: bytes, slot: str) -> str:
        kept.append((len(pcm), slot))
        return f"/clips/{slot}.wav"

    turns = TurnTaker(Listener(Settings(), None, RATE), clock, keep_clip)
    asked(turns, ask("address"))
    (turn,) = Line(turns, clock).play(0.5, speech, 1.0)
    assert isinstance(turn, CallerTurn) and isinstance(turn.event, RecordedAnswer)
    ((clip_bytes, slot),) = kept
    assert slot == "address" and turn.event.clip == "/clips/address.wav"
    assert abs(clip_bytes / 2 / RATE - (len(speech) / RATE + 0.6)) < 0.1  # the speech and 2 x 300 ms padding
    assert turn.event.seconds == pytest.approx(kept[0][0] / 2 / RATE)


# --- a key's own sound ------------------------------------------------------------------------------------------
def key_tone(seconds: float, low: float = 941.0, high: float = 1209.0) -> np.ndarray:
    """The DTMF tone of '*' (941 + 1209 Hz) leaking into the caller's audio: float samples on the PCM16 scale."""
    t = np.arange(int(RATE * seconds)) / RATE
    return 0.3 * 32767 * (np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t)) / 2


def repeat_asked(turns: TurnTaker, clock: FakeClock) -> list[TurnOutput]:
    """The caller pressed '*' (repeat) over the name question; the dialogue asks it again (listening meanwhile)."""
    outputs = turns.digit("*", clock.now)
    assert answers(outputs) == [DtmfInput("*")]
    turns.prompt(ask("name"))
    return outputs


@pytest.mark.parametrize("tone_s", [0.1, 0.2, 0.4])
def test_a_key_s_tone_heard_after_the_key_neither_cuts_the_repeated_question_nor_answers_it(
    turns: TurnTaker, clock: FakeClock, speech: np.ndarray, tone_s: float
) -> None:
    line = Line(turns, clock)
    turns.prompt(ask("name"))
    line.play(0.6)
    repeat_asked(turns, clock)
    assert line.play(key_tone(tone_s), 2.0) == []  # the key's sound: the repeat plays on, nothing answered
    assert turns.bot_speaking
    turns.speaking(None)
    (turn,) = line.play(0.5, speech, 1.0)  # the caller's real answer, after the question was heard
    assert isinstance(turn, CallerTurn) and isinstance(turn.event, FinalTranscript)


def test_a_key_pressed_while_its_tone_is_already_heard_discards_that_sound(turns: TurnTaker, clock: FakeClock,
                                                                          speech: np.ndarray) -> None:
    line = Line(turns, clock)
    turns.prompt(ask("name"))
    tone = key_tone(0.4)
    heard = line.play(0.6, tone[: len(tone) // 2])  # the tone's first half reaches the audio before the key event
    outputs = heard + repeat_asked(turns, clock)
    assert len([out for out in outputs if isinstance(out, PromptCut)]) == 1  # the tone (or the key) cut it once
    assert line.play(tone[len(tone) // 2 :], 2.0) == []
    assert turns.bot_speaking


def test_speech_well_after_a_key_still_cuts_the_repeated_question_and_answers(turns: TurnTaker, clock: FakeClock,
                                                                             speech: np.ndarray) -> None:
    line = Line(turns, clock)
    turns.prompt(ask("name"))
    line.play(0.6)
    repeat_asked(turns, clock)
    outputs = line.play(1.0, speech, 1.0)  # the caller answers over the repeat, a second after the key
    cut, turn = outputs
    assert isinstance(cut, PromptCut) and cut.by == "speech"
    assert isinstance(turn, CallerTurn) and isinstance(turn.event, FinalTranscript)


def test_speech_under_way_long_before_a_key_stays_an_answer(turns: TurnTaker, clock: FakeClock,
                                                           speech: np.ndarray) -> None:
    """A caller who talks and presses a key while still talking (sip/uac_speech_dtmf.xml): the words are kept."""
    line = Line(turns, clock)
    asked(turns, ask("name"))
    half = len(speech) // 2
    assert line.play(0.5, speech[:half]) == []  # more than KEY_SOUND_S of speech before the key
    turns.digit("*", clock.now)
    turns.prompt(ask("name"))
    outputs = line.play(speech[half:], 1.0)
    assert [type(out.event) for out in outputs if isinstance(out, CallerTurn)] == [FinalTranscript]
