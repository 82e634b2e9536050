"""CallSession fixtures without SIP: real shared resources (the packaged Korean Vosk model, or none: record-only),
espeak-ng caller clips, a started call with its ``CallerLine`` and ``FakeCallControl``, and helpers that answer the
bot's questions. Tests import the fixtures they use from here (they are not global: ``store`` and ``settings``
here are one SQLite store for a call, not the store tests' two backends)."""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from callbot.audio import read_wav
from callbot.call.resources import SharedResources
from callbot.call.session import CallSession
from callbot.config import Settings
from callbot.store import CallLog, Store, open_store
from callbot.testing import FRAME_BYTES, RATE, SILENCE, CallerLine, FakeCallControl, ScriptedRecognizer
from callbot.tts import SpeechOutput
from tests.support.speech import espeak_wav
from tests.support.stores import read_ticket


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, bytes]]:
    """Caller answers synthesized with espeak-ng at 8 kHz: label -> (what is said, PCM)."""
    folder = tmp_path_factory.mktemp("caller")
    texts = {
        "name": "Tôi tên là Nguyễn Văn An",
        "address": "Số mười hai ngõ ba mươi tư phố Huế, phường Hai Bà Trưng, Hà Nội",
        "need": "Nhà tôi bị ngập, cần hỗ trợ lương thực và nước uống",
        "long": "Xin chào, tôi muốn hỏi về việc hỗ trợ lương thực cho gia đình tôi ở phường Đống Đa",
    }
    return {
        label: (text, read_wav(espeak_wav(folder / f"{label}.wav", text, "vi", rate=RATE)).pcm)
        for label, text in texts.items()
    }


@pytest.fixture(scope="module")
def speech_output() -> SpeechOutput:
    return SpeechOutput(Settings())


@pytest.fixture
def settings() -> Settings:
    return Settings(call_sample_rate=RATE)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    opened = open_store(settings)
    yield opened
    opened.close()


@pytest.fixture
def korean_resources(settings, speech_output, store, vosk_models, korean_model_path) -> SharedResources:
    """Real recognition with the packaged Korean model standing in for the Vietnamese one."""
    return SharedResources(settings, speech_output, store, vosk_models, {"vi": korean_model_path})


@pytest.fixture
def record_only_resources(settings, speech_output, store, vosk_models) -> SharedResources:
    return SharedResources(settings, speech_output, store, vosk_models, {})


@dataclass
class Call:
    session: CallSession
    line: CallerLine
    control: FakeCallControl


@pytest.fixture
def start_call(settings: Settings) -> Iterator[Callable[..., Call]]:
    calls: list[Call] = []

    def start(resources: SharedResources, *, call_id: str = "call-1@10.0.0.1", speed: float = 1.0,
              control: FakeCallControl | None = None, session_settings: Settings | None = None,
              clock: Callable[[], float] = time.monotonic) -> Call:
        control = control or FakeCallControl()
        session = CallSession(call_id=call_id, caller_id="0912345678", locale="vi", rate=RATE,
                              settings=session_settings or settings, resources=resources, control=control,
                              clock=clock)
        session.start()
        call = Call(session, CallerLine(session, speed=speed).start(), control)
        calls.append(call)
        return call

    yield start
    for call in calls:
        call.session.on_hangup()
        assert call.session.wait(20), "the call session did not finish"
        call.line.stop()


def ticket_of(store: Store, session: CallSession):
    assert session.wait(30), "the call did not end"
    assert session.ticket_number, "no ticket was filed"
    return read_ticket(store, session.ticket_number)


def frames_of_line(heard_or_sent: list[bytes | None], count: int) -> bytes:
    return b"".join(frame or SILENCE for frame in heard_or_sent[:count])


def answer_every_question(call: Call, clips: dict[str, tuple[str, bytes]], *, confirm_digit: str | None = "1",
                          confirm_clip: str | None = None, recognizer: ScriptedRecognizer | None = None,
                          max_turns: int = 12) -> list[str]:
    """The caller answers each question the bot asks (by its slot) once the bot has finished asking it.
    Returns the slots asked, in order."""
    asked: list[str] = []
    since = 0
    for turn in range(max_turns):
        call.line.wait_bot_quiet(since)
        ask = call.session.current_ask
        if call.session.finished or ask is None:
            break
        asked.append(ask.slot)
        if ask.slot == "confirm" and confirm_digit is not None:
            call.session.on_dtmf(confirm_digit)
            since = call.line.tick
            continue
        label = confirm_clip if ask.slot == "confirm" else {"ward": "address"}.get(ask.slot, ask.slot)
        text, pcm = clips[label]
        on_start = None if recognizer is None else functools.partial(recognizer.hear, text)  # what it hears
        call.line.say(pcm, f"{label}-{turn}", on_start)
        since = call.line.tick + len(pcm) // FRAME_BYTES
    return asked


class BrokenCallLog(CallLog):
    def file_ticket(self, **kwargs: object) -> str:  # type: ignore[override]
        raise OSError("disk full")


def broken_store(settings: Settings) -> Store:
    """The real store, except that filing fails outright (the journal too)."""
    opened = open_store(settings)
    opened.call_log.close()
    return dataclasses.replace(opened, call_log=BrokenCallLog(settings=settings, database=opened.database,
                                                              journal=opened.call_log.journal))


def dataclasses_replace_recognizer(resources: SharedResources, recognizer: object) -> SharedResources:
    """The same shared resources, but every call gets ``recognizer`` (a double at the ASR edge)."""
    return dataclasses.replace(resources, recognizer_factory=lambda locale, rate: recognizer)
